"""The s3 transport against real stores (DESIGN.md section 11): SeaweedFS, and moto where the
rule does not depend on credentials or permissions (moto checks neither)."""

import base64
import hashlib
import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from pycstbox.export import transports
from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.transports import Delivery, s3checksum, s3multipart, sigv4
from tests.peers.seaweedfs import BUCKET, SeaweedPeer, seaweedfs_usable
from tests.transports.conftest import s3_options
from tests.transports.harness import Target, write

MiB = 1024 * 1024
NAME = 'lyon-b12_daily_20261130T230000Z_20261201T230000Z.csv'
START = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)    # 2026-12-01 in Paris


def s3(peer, request, identity='gw', tz=None, **kw):
    """An s3 transport on ``peer`` under a prefix of its own (the test's name)."""
    kw.setdefault('prefix', 't-%s/' % request.node.name.replace('[', '-').strip(']'))
    return transports.create(Target('lake', 's3', s3_options(peer, identity, **kw)),
                             site='lyon-b12', tz=tz)


def get(peer, key):
    status, headers, body = peer.request('GET', '/%s/%s' % (BUCKET, key))
    return body if status == 200 else None


def sha_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def uploads(peer, key):
    """Unfinished multipart uploads of ``key``."""
    _, _, body = peer.request('GET', '/%s' % BUCKET, query=[('uploads', ''), ('prefix', key)])
    return body.count(b'<UploadId>')


# -- delivery -----------------------------------------------------------------------

def test_single_put_key_layout_and_checksum(s3peer, request, tmp_path):
    """A small file lands byte-identical under the Hive-style key, {date} being the window
    start's date in the configured timezone; the store holds its SHA-256."""
    t = s3(s3peer, request, tz=ZoneInfo('Europe/Paris'))
    data = os.urandom(100001)
    d = t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START)
    key = t.prefix + 'site=lyon-b12/job=daily/date=2026-12-01/' + NAME
    assert d == Delivery(key, sha_b64(data)) and t.remote_key(NAME, job='daily', start=START) == key
    assert get(s3peer, key) == data
    assert t.stat(key).checksum == sha_b64(data)
    assert [f.key for f in t.listing(t.prefix)] == [key]


def test_outbox_file_dated_today(s3peer, request, tmp_path):
    """Without a window start (outbox files) {date} is today's date in the timezone."""
    t = s3(s3peer, request)
    d = t.send(write(tmp_path / 'f', b'x'), 'odd name =é.csv', job='outbox')
    today = datetime.now(timezone.utc).strftime('%Y-%m-%d')
    assert d.key == '%ssite=lyon-b12/job=outbox/date=%s/odd name =é.csv' % (t.prefix, today)
    assert get(s3peer, d.key) == b'x'


def test_multipart_small_parts_composite_checksum(s3peer, request, tmp_path):
    """Above multipart_threshold the file goes in parts (each with its checksum); the object
    is byte-identical with a composite checksum "-N"; no unfinished upload remains."""
    t = s3(s3peer, request, multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = os.urandom(11 * MiB + 7)
    d = t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START)
    assert d.checksum.endswith('-3')
    assert get(s3peer, d.key) == data
    assert s3checksum.same(d.checksum, t.stat(d.key).checksum) is True   # moto: no "-3"
    assert uploads(s3peer, d.key) == 0


def test_failed_part_aborts_the_upload(s3peer, request, tmp_path, monkeypatch):
    """A part whose checksum is not its bytes' never makes a delivery: SeaweedFS rejects it
    (BadDigest), the upload is aborted (no orphan parts, no object); moto, which verifies
    no part, completes it with a composite checksum other than ours: temporary too."""
    t = s3(s3peer, request, multipart_threshold=5 * MiB, part_size=5 * MiB)
    real = s3multipart._hash
    calls = []

    def corrupt_second(fd, off, length):
        calls.append(off)
        digest = real(fd, off, length)
        return digest if len(calls) != 2 else hashlib.sha256(b'other').digest()
    monkeypatch.setattr(s3multipart, '_hash', corrupt_second)
    words = 'BadDigest' if s3peer.kind == 'seaweedfs' else 'has not stored the bytes sent'
    with pytest.raises(TemporaryError, match=words):
        t.send(write(tmp_path / 'f', os.urandom(11 * MiB)), NAME, job='daily', start=START)
    key = t.remote_key(NAME, job='daily', start=START)
    assert uploads(s3peer, key) == 0
    if s3peer.kind == 'seaweedfs':
        assert get(s3peer, key) is None


def test_upload_left_unfinished_is_aborted(s3peer, request, tmp_path):
    """An unfinished multipart upload of the key (an earlier attempt that could not abort:
    power loss, store down) is aborted once a new upload of the key completes."""
    t = s3(s3peer, request, multipart_threshold=5 * MiB, part_size=5 * MiB)
    key = t.remote_key(NAME, job='daily', start=START)
    status, _, _ = s3peer.request('POST', '/%s/%s' % (BUCKET, key), query=[('uploads', '')])
    assert status == 200 and uploads(s3peer, key) == 1
    data = os.urandom(6 * MiB)
    t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START)
    assert get(s3peer, key) == data and uploads(s3peer, key) == 0


def test_wrong_checksum_rejected(seaweed, request, tmp_path, monkeypatch):
    """A body whose x-amz-checksum-sha256 does not match is refused (BadDigest, temporary)
    and nothing is stored.  (SeaweedFS only: moto 5.2 stores the value sent without
    verifying it.)"""
    from pycstbox.export.transports import s3 as s3mod
    t = s3(seaweed, request)
    monkeypatch.setattr(s3mod, 'hash_range', lambda fd, o, n: hashlib.sha256(b'no').digest())
    with pytest.raises(TemporaryError, match='BadDigest'):
        t.send(write(tmp_path / 'f', b'payload'), NAME, job='daily', start=START)
    assert get(seaweed, t.remote_key(NAME, job='daily', start=START)) is None


def test_single_put_sends_the_sdk_checksum_algorithm(s3peer, request, tmp_path):
    """A single PUT sends x-amz-sdk-checksum-algorithm beside its checksum, so the store
    keeps it (HEAD with checksum mode gives it back); the Delivery carries ours."""
    t = s3(s3peer, request)
    data = os.urandom(3000)
    d = t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START)
    assert d.checksum == sha_b64(data)
    _, h, _ = s3peer.request('HEAD', '/%s/%s' % (BUCKET, d.key),
                             headers={'x-amz-checksum-mode': 'ENABLED'})
    assert {k.lower(): v for k, v in h.items()}.get('x-amz-checksum-sha256') == sha_b64(data)


@pytest.mark.parametrize('multipart', [False, True])
def test_store_answering_another_checksum_is_not_a_delivery(s3peer, request, tmp_path,
                                                            monkeypatch, multipart):
    """A store answering 200 with a checksum other than ours (single PUT or multipart
    completion) has not stored our bytes: temporary failure, and ours is never replaced
    by its value."""
    kw = dict(multipart_threshold=5 * MiB, part_size=5 * MiB) if multipart else {}
    t = s3(s3peer, request, **kw)
    real = t.request

    def lying(*args, **kwargs):
        status, h, body = real(*args, **kwargs)
        what = kwargs.get('what', '')
        if what.endswith('(completion)'):
            body = body.replace(b'<ChecksumSHA256>', b'<ChecksumSHA256>Zm9v')
            if b'<ChecksumSHA256>' not in body:
                body = body.replace(b'</CompleteMultipartUploadResult>',
                                    b'<ChecksumSHA256>Zm9vYmFy-2</ChecksumSHA256>'
                                    b'</CompleteMultipartUploadResult>')
        elif args[0] == 'PUT' and not kwargs.get('params'):
            h = dict(h, **{'x-amz-checksum-sha256': sha_b64(b'other')})
        return status, h, body
    monkeypatch.setattr(t, 'request', lying)
    data = os.urandom(6 * MiB if multipart else 4000)
    with pytest.raises(TemporaryError, match='has not stored the bytes sent'):
        t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START)


def test_invalid_part_at_completion_is_temporary(s3peer, request, tmp_path, monkeypatch):
    """A part the store does not know at completion (400 InvalidPart: it lost it) is a
    temporary failure: the upload is aborted and the next attempt sends every part again."""
    t = s3(s3peer, request, multipart_threshold=5 * MiB, part_size=5 * MiB)
    real = t.request

    def lose_etags(*args, **kwargs):
        status, h, body = real(*args, **kwargs)
        if '(part 1 of' in kwargs.get('what', ''):
            h = dict(h, ETag='"00000000000000000000000000000000"')
        return status, h, body
    monkeypatch.setattr(t, 'request', lose_etags)
    path = write(tmp_path / 'f', os.urandom(6 * MiB))
    with pytest.raises(TemporaryError, match='InvalidPart'):
        t.send(path, NAME, job='daily', start=START)
    key = t.remote_key(NAME, job='daily', start=START)
    assert uploads(s3peer, key) == 0
    monkeypatch.setattr(t, 'request', real)
    t.send(path, NAME, job='daily', start=START)
    assert get(s3peer, key) == open(path, 'rb').read()


@pytest.mark.parametrize('multipart', [False, True])
def test_no_overwrite_same_then_different(s3peer, request, tmp_path, multipart):
    """overwrite = false: a resend of the same bytes is delivered (412 + equal checksum);
    other bytes under the key are a permanent conflict and the stored object is kept."""
    kw = dict(multipart_threshold=5 * MiB, part_size=5 * MiB) if multipart else {}
    t = s3(s3peer, request, overwrite=False, **kw)
    size = 6 * MiB if multipart else 5000
    data = os.urandom(size)
    first = t.send(write(tmp_path / 'a', data), NAME, job='daily', start=START)
    assert t.send(write(tmp_path / 'a', data), NAME, job='daily', start=START) == first
    with pytest.raises(PermanentError, match='different content already exists'):
        t.send(write(tmp_path / 'b', os.urandom(size)), NAME, job='daily', start=START)
    assert get(s3peer, first.key) == data
    assert uploads(s3peer, first.key) == 0


# -- classification (section 11), each against the real server ------------------------

@pytest.mark.parametrize('identity,kw,code', [
    ('gw', {'secret_access_key': 'wrong secret'}, 'SignatureDoesNotMatch'),
    ('gw', {'access_key_id': 'NOSUCHKEY'}, 'InvalidAccessKeyId'),
    ('ro', {}, 'AccessDenied'),
    ('scoped', {'prefix': 'site2/'}, 'AccessDenied'),
    ('gw', {'bucket': 'no-such-bucket'}, 'NoSuchBucket'),
])
def test_refusals_are_permanent(seaweed, request, tmp_path, identity, kw, code):
    """Wrong secret, unknown key, read-only identity, prefix-scoped identity outside its
    prefix, missing bucket: permanent, the S3 code named; check() says cannot write."""
    t = s3(seaweed, request, identity, **kw)
    with pytest.raises(PermanentError, match=code) as info:
        t.send(write(tmp_path / 'f', b'data'), NAME, job='daily', start=START)
    assert info.value.target == 'lake'
    assert info.value.scope == 'target'          # the target is held, not the file dead
    with pytest.raises(PermanentError, match='cannot write under'):
        t.check()


def test_scoped_identity_inside_its_prefix(seaweed, request, tmp_path):
    """A prefix-scoped identity delivers and checks under its own prefix."""
    t = s3(seaweed, request, 'scoped', prefix='site1/')
    t.check()
    d = t.send(write(tmp_path / 'f', b'mine'), NAME, job='daily', start=START)
    assert get(seaweed, d.key) == b'mine'


def test_clock_off_is_temporary_and_names_the_clock(seaweed, request, tmp_path, monkeypatch):
    """A box clock 20 minutes off: RequestTimeTooSkewed is temporary, the message names the
    clock and says to set the time."""
    monkeypatch.setattr(sigv4, 'clock', lambda: time.time() + 1200)
    t = s3(seaweed, request)
    with pytest.raises(TemporaryError, match='RequestTimeTooSkewed') as info:
        t.send(write(tmp_path / 'f', b'data'), NAME, job='daily', start=START)
    assert 'clock' in str(info.value) and 'NTP' in str(info.value)


def test_check_probe_is_deleted(s3peer, request):
    """check() writes a zero-byte probe under the prefix and deletes it."""
    t = s3(s3peer, request)
    t.check()
    assert list(t.listing(t.prefix)) == []


def test_listing_reads_whole_pages(s3peer, request, tmp_path):
    """A listing page far past 64 KiB (300 long keys, one page) is read whole: every object
    is listed (204 of 400 were, when only 64 KiB of a page was read)."""
    from concurrent.futures import ThreadPoolExecutor
    t = s3(s3peer, request)
    keys = ['%s%s-%03d.csv' % (t.prefix, 'long-name-' * 20, i) for i in range(300)]
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda k: s3peer.request('PUT', '/%s/%s' % (BUCKET, k),
                                                     b'x')[0], keys)) == {200}
    got = list(t.listing(t.prefix))
    assert sorted(f.key for f in got) == sorted(keys)


def test_listing_pages(s3peer, request, tmp_path, monkeypatch):
    """listing() follows ListObjectsV2 continuation tokens (pages of 2 here)."""
    t = s3(s3peer, request)
    for i in range(5):
        t.send(write(tmp_path / 'f', b'%d' % i), 'n%d.csv' % i, job='j', start=START)
    t.page_size = 2
    got = list(t.listing(t.prefix))
    assert [f.key.rsplit('/', 1)[1] for f in got] == ['n%d.csv' % i for i in range(5)]
    assert [f.size for f in got] == [1] * 5


def test_secrets_nowhere(s3peer, request, tmp_path, caplog):
    """The secret key and session token never show in errors, repr or DEBUG logs."""
    caplog.set_level(logging.DEBUG)
    t = s3(s3peer, request, secret_access_key='S3cr3t-Value', session_token='T0ken-Value',
           **({'bucket': 'no-such-bucket'} if s3peer.kind == 'moto' else {}))
    with pytest.raises(PermanentError) as info:
        t.send(write(tmp_path / 'f', b'data'), NAME, job='daily', start=START)
    texts = [str(info.value), repr(info.value.__cause__), repr(t), caplog.text]
    assert not [x for x in texts if 'S3cr3t-Value' in x or 'T0ken-Value' in x]


# -- a receiver that is down, dies, never answers or drips ---------------------------

def test_server_down_is_temporary(seaweed, request, tmp_path):
    """Nobody listening: temporary."""
    from tests.peers.sshd import free_port
    t = s3(seaweed, request, endpoint='http://127.0.0.1:%d' % free_port())
    with pytest.raises(TemporaryError):
        t.send(write(tmp_path / 'f', b'data'), NAME, job='daily', start=START)


def _silent_server(drip):
    """A TCP server that reads the request and never answers (or drips a byte every 0.2 s)."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(4)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.2)
                sent = b'HTTP/1.1 200 OK\r\nX-Slow: '
                for i in range(200):              # at most ~40 s, stops with the test
                    if stop.is_set():
                        break
                    try:
                        conn.recv(65536)
                    except OSError:
                        pass
                    if drip:
                        try:
                            conn.send(sent[i:i + 1] or b'a')
                        except OSError:
                            break
                    time.sleep(0.2)
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return srv, stop, th


@pytest.mark.parametrize('drip', [False, True], ids=['never-answers', 'drips'])
def test_receiver_that_never_answers_cannot_hang(seaweed, request, tmp_path, drip):
    """A receiver that never answers, or drips a byte every 0.2 s, fails the send as
    temporary within the request's deadline (timeout 1 s: about 3 s)."""
    srv, stop, th = _silent_server(drip)
    try:
        t = s3(seaweed, request, endpoint='http://127.0.0.1:%d' % srv.getsockname()[1],
               timeout=1, connect_timeout=1)
        began = time.monotonic()
        with pytest.raises(TemporaryError):
            t.send(write(tmp_path / 'f', b'data'), NAME, job='daily', start=START)
        assert time.monotonic() - began < 8
    finally:
        stop.set()
        th.join(5)
        srv.close()


@pytest.fixture
def own_seaweed(tmp_path):
    why = seaweedfs_usable()
    if why:
        pytest.skip(why)
    with SeaweedPeer(tmp_path / 'weed') as peer:
        yield peer


def test_server_killed_mid_upload(own_seaweed, request, tmp_path, monkeypatch):
    """The store killed during a multipart upload: temporary; once it is back, a resend
    delivers the file byte-identical and no unfinished upload remains."""
    t = s3(own_seaweed, request, multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = os.urandom(11 * MiB)
    path = write(tmp_path / 'f', data)
    real = t.request

    def kill_before_second_part(*args, **kw):
        if '(part 2 of' in kw.get('what', ''):
            own_seaweed.kill()                # part 1 was acknowledged: the upload exists
        return real(*args, **kw)
    monkeypatch.setattr(t, 'request', kill_before_second_part)
    with pytest.raises(TemporaryError):
        t.send(path, NAME, job='daily', start=START)
    monkeypatch.setattr(t, 'request', real)
    own_seaweed.start()
    key = t.remote_key(NAME, job='daily', start=START)
    d = t.send(path, NAME, job='daily', start=START)
    assert get(own_seaweed, d.key) == data
    assert uploads(own_seaweed, key) == 0
