"""The s3 transport as fleets run it (issue 22 item 3): virtual-hosted addressing,
credentials from the environment and the AWS shared files (re-read when rotated), storage
class, server-side encryption, Content-Type and x-amz-meta-*, one connection kept across
the requests of a run — against a real SeaweedFS, and moto where SeaweedFS lacks a feature
(SSE-KMS)."""

import contextlib
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import time
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from pycstbox.export import __version__, transports
from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.transports import s3object, sigv4
from pycstbox.export.transports.s3address import Address
from tests.peers.seaweedfs import BUCKET, REGION, SeaweedPeer, seaweedfs_usable
from tests.peers.sshd import free_port
from tests.peers.tcpcount import CountingRelay
from tests.transports.conftest import s3_options
from tests.transports.harness import Target, write

MiB = 1024 * 1024
START = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)
END = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)
NAME = 'lyon-b12_daily_20261130T230000Z_20261201T230000Z.csv.gz'
META = {'start': START, 'end': END, 'events': 1234}


def s3(request, options, tz=None):
    """An s3 transport with ``options`` under a prefix of its own (the test's name)."""
    options.setdefault('prefix', 'fleet-%s/' % request.node.name.replace('[', '-').strip(']'))
    return transports.create(Target('lake', 's3', options), site='lyon-b12', tz=tz)


def head(peer, key, bucket=BUCKET):
    status, headers, _ = peer.request('HEAD', '/%s/%s' % (bucket, key))
    assert status == 200, key
    return {k.lower(): v for k, v in headers.items()}


# -- keep-alive ------------------------------------------------------------------------

@pytest.fixture
def relay(seaweed):
    """A counting TCP relay between the transport and SeaweedFS."""
    with CountingRelay('127.0.0.1', seaweed.ports[6]) as r:
        yield r


def test_one_connection_for_every_request_of_a_run(seaweed, relay, request, tmp_path):
    """The requests of a run (three single PUTs, a multipart upload of three parts, a stat,
    a listing) go over one kept connection, closed by close()."""
    t = s3(request, s3_options(seaweed, endpoint=relay.endpoint, multipart_threshold=5 * MiB,
                               part_size=5 * MiB))
    keys = [t.send(write(tmp_path / ('f%d' % i), os.urandom(1000 + i)), 'w%d.csv' % i,
                   job='daily', start=START).key for i in range(3)]
    big = t.send(write(tmp_path / 'big', os.urandom(11 * MiB)), 'big.csv', job='daily',
                 start=START)
    assert t.stat(keys[0]).size == 1000
    assert len(list(t.listing(t.prefix))) == 4
    assert big.checksum.endswith('-3')
    assert relay.connections == 1 and t.kept.connections == 1
    t.close()
    t.send(write(tmp_path / 'again', b'x'), 'again.csv', job='daily', start=START)
    assert relay.connections == 2


def test_connection_closed_by_the_store_is_replaced(seaweed, relay, request, tmp_path):
    """A kept connection the store closed while idle costs nothing: the next request goes
    once more on a new connection and the window is delivered."""
    t = s3(request, s3_options(seaweed, endpoint=relay.endpoint))
    t.send(write(tmp_path / 'a', b'a' * 100), 'a.csv', job='daily', start=START)
    relay.drop()
    time.sleep(0.2)
    d = t.send(write(tmp_path / 'b', b'b' * 100), 'b.csv', job='daily', start=START)
    assert t.stat(d.key).size == 100
    assert relay.connections == 2


def test_request_cut_on_a_kept_connection_goes_once_more(seaweed, relay, request, tmp_path):
    """A kept connection closed by the store as a request arrives on it (before any
    answer): the request goes once more, on a new connection, and the window is delivered;
    a failure on a new connection is not repeated."""
    t = s3(request, s3_options(seaweed, endpoint=relay.endpoint))
    t.send(write(tmp_path / 'a', b'a' * 100), 'a.csv', job='daily', start=START)
    relay.cut_next = True
    d = t.send(write(tmp_path / 'b', b'b' * 100), 'b.csv', job='daily', start=START)
    assert t.stat(d.key).size == 100
    assert relay.connections == 2
    t.close()
    relay.cut_next = True
    with pytest.raises(TemporaryError):
        t.send(write(tmp_path / 'c', b'c'), 'c.csv', job='daily', start=START)
    assert relay.connections == 3


def test_idle_connection_is_not_reused(seaweed, relay, request, tmp_path, monkeypatch):
    """A connection idle longer than KeptSession.idle is closed before the next request."""
    t = s3(request, s3_options(seaweed, endpoint=relay.endpoint))
    monkeypatch.setattr(t.kept, 'idle', 0.2)
    t.send(write(tmp_path / 'a', b'a'), 'a.csv', job='daily', start=START)
    time.sleep(0.4)
    t.send(write(tmp_path / 'b', b'b'), 'b.csv', job='daily', start=START)
    assert relay.connections == 2


def test_deadline_covers_a_kept_connection(seaweed, relay, request, tmp_path):
    """A store that drips its answer on a reused connection cannot hold the run: the
    request's overall deadline shuts the kept connection down (temporary failure)."""
    t = s3(request, s3_options(seaweed, endpoint=relay.endpoint, timeout=1, connect_timeout=1))
    t.send(write(tmp_path / 'a', b'a'), 'a.csv', job='daily', start=START)
    relay.drip = 0.4
    began = time.monotonic()
    with pytest.raises(TemporaryError):
        t.send(write(tmp_path / 'b', b'b'), 'b.csv', job='daily', start=START)
    assert time.monotonic() - began < 10
    assert relay.connections == 1
    relay.drip = 0
    t.send(write(tmp_path / 'c', b'c'), 'c.csv', job='daily', start=START)


# -- what an object carries ------------------------------------------------------------

@pytest.mark.parametrize('multipart', [False, True])
def test_object_type_class_encryption_metadata(seaweed, request, tmp_path, multipart):
    """HEAD of a delivered window shows its Content-Type, storage class, SSE-S3 and the
    x-amz-meta-* window start/end, events, SHA-256 of the content and exporter version
    (for a multipart upload they are given to CreateMultipartUpload)."""
    o = s3_options(seaweed, storage_class='STANDARD_IA', sse='AES256')
    if multipart:
        o.update(multipart_threshold=5 * MiB, part_size=5 * MiB)
    t = s3(request, o)
    data = os.urandom(6 * MiB if multipart else 5000)
    d = t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START, meta=META)
    assert d.checksum.endswith('-2') == multipart
    h = head(seaweed, d.key)
    assert h['content-type'] == 'application/gzip'
    assert h['x-amz-storage-class'] == 'STANDARD_IA'
    assert h['x-amz-server-side-encryption'] == 'AES256'
    assert (h['x-amz-meta-window-start'], h['x-amz-meta-window-end']) == \
        ('2026-11-30T23:00:00Z', '2026-12-01T23:00:00Z')
    assert h['x-amz-meta-events'] == '1234'
    assert h['x-amz-meta-sha256'] == hashlib.sha256(data).hexdigest()
    assert h['x-amz-meta-exporter'] == 'cstbox-export/%s' % __version__
    assert 'content-encoding' not in h
    t.check()                                 # the probe carries the same SSE and class
    status, _, body = seaweed.request('GET', '/%s/%s' % (BUCKET, d.key))
    assert status == 200 and body == data


def test_outbox_file_gets_its_own_sha256(seaweed, request, tmp_path):
    """Without a window (outbox files) the object still carries the SHA-256 of its
    content and the exporter version, and no window fields."""
    t = s3(request, s3_options(seaweed))
    d = t.send(write(tmp_path / 'f', b'{"a": 1}\n'), 'notes.jsonl', job='outbox')
    h = head(seaweed, d.key)
    assert h['content-type'] == 'application/x-ndjson'
    assert h['x-amz-meta-sha256'] == hashlib.sha256(b'{"a": 1}\n').hexdigest()
    assert 'x-amz-meta-window-start' not in h and 'x-amz-meta-events' not in h


@pytest.mark.parametrize('name,ctype', [
    ('w.csv', 'text/csv'), ('w.csv.gz', 'application/gzip'),
    ('w.tsv', 'text/tab-separated-values'), ('w.jsonl', 'application/x-ndjson'),
    ('w.jsonl.gz', 'application/gzip'), ('w.zip', 'application/zip'),
    ('w.parquet', 'application/vnd.apache.parquet'), ('w.csv.zst', 'application/zstd'),
    ('w.JSONL', 'application/x-ndjson'), ('odd', 'application/octet-stream'),
    ('dir.d/odd', 'application/octet-stream')])
def test_content_type_per_format(name, ctype):
    """Content-Type follows the file's extension; a compressed file is of its compression's
    type (never Content-Encoding: clients would decompress it behind the checksum)."""
    assert s3object.content_type(name) == ctype


def test_format_extensions_all_have_a_type():
    """Every format the exporter writes, with every compression, has a type of its own."""
    from pycstbox.export import formats
    for fmt in formats.names():
        for comp in formats.COMPRESS_NAMES:
            if comp != 'none' and not formats.get(fmt).compressible:
                continue
            name = 'w.' + formats.extension(fmt, comp)
            assert s3object.content_type(name) != s3object.DEFAULT_TYPE, name


# -- addressing ------------------------------------------------------------------------

@pytest.mark.parametrize('endpoint,bucket,mode,host,path', [
    ('https://s3.eu-west-3.amazonaws.com', 'fleet', 'virtual',
     'fleet.s3.eu-west-3.amazonaws.com', '/k'),
    ('https://s3.amazonaws.com/', 'fleet', 'virtual', 'fleet.s3.amazonaws.com', '/k'),
    ('https://s3.eu-west-3.amazonaws.com', 'my.fleet', 'path',
     's3.eu-west-3.amazonaws.com', '/my.fleet/k'),
    ('http://s3.eu-west-3.amazonaws.com', 'my.fleet', 'virtual',
     'my.fleet.s3.eu-west-3.amazonaws.com', '/k'),
    ('https://minio.example:9000', 'fleet', 'path', 'minio.example:9000', '/fleet/k'),
    ('https://gw.example/s3', 'fleet', 'path', 'gw.example', '/s3/fleet/k'),
])
def test_default_addressing(endpoint, bucket, mode, host, path):
    """Virtual-hosted by default on AWS endpoints (path for a dotted bucket on https),
    path-style elsewhere; the bucket is in the host or the path accordingly."""
    a = Address(endpoint, bucket)
    assert (a.mode, a.host, a.path('k')) == (mode, host, path)
    assert a.path() == ('/' if mode == 'virtual' else path[:-2])


@pytest.fixture(scope='module')
def virtual_seaweed(tmp_path_factory):
    """A SeaweedFS of its own that also serves virtual-hosted requests {bucket}.s3.test."""
    why = seaweedfs_usable()
    if why:
        pytest.skip(why)
    with SeaweedPeer(tmp_path_factory.mktemp('vweed'), domain='s3.test') as peer:
        yield peer


@pytest.fixture
def test_names(monkeypatch):
    """*.s3.test resolves to 127.0.0.1 in this test process (the host's resolver and
    /etc/hosts untouched): the client's own resolution of the virtual host name."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kw):
        if isinstance(host, str) and (host == 's3.test' or host.endswith('.s3.test')):
            host = '127.0.0.1'
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)


def test_virtual_hosted_requests_on_a_real_store(virtual_seaweed, test_names, request,
                                                 tmp_path):
    """addressing = "virtual": the bucket is in the Host (signed as such) and every kind of
    request works against SeaweedFS: single PUT, multipart, HEAD, listing, the check."""
    peer = virtual_seaweed
    o = s3_options(peer, endpoint='http://s3.test:%d' % peer.ports[6], addressing='virtual',
                   multipart_threshold=5 * MiB, part_size=5 * MiB)
    t = s3(request, o)
    assert t.host == '%s.s3.test:%d' % (BUCKET, peer.ports[6])
    small = os.urandom(3000)
    d1 = t.send(write(tmp_path / 'a', small), 'é a.csv', job='daily', start=START, meta=META)
    d2 = t.send(write(tmp_path / 'b', os.urandom(6 * MiB)), 'b.csv', job='daily', start=START)
    assert peer.request('GET', '/%s/%s' % (BUCKET, d1.key))[2] == small
    assert t.stat(d2.key).size == 6 * MiB
    assert sorted(f.key for f in t.listing(t.prefix)) == sorted([d1.key, d2.key])
    t.check()
    wrong = s3(request, dict(o, secret_access_key='not-the-secret'))
    with pytest.raises(PermanentError, match='SignatureDoesNotMatch'):
        wrong.send(write(tmp_path / 'c', b'c'), 'c.csv', job='daily', start=START)


# -- credentials -----------------------------------------------------------------------

@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """No AWS_* variable, HOME in tmp_path: the chain sees only what the test sets."""
    for k in list(os.environ):
        if k.startswith('AWS_'):
            monkeypatch.delenv(k)
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'


def no_keys(peer, **kw):
    o = s3_options(peer, **kw)
    del o['access_key_id'], o['secret_access_key']
    return o


def test_credentials_from_the_environment(seaweed, aws_env, request, tmp_path, monkeypatch,
                                          caplog):
    """Without keys in the target, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY sign; a wrong
    secret from the environment is in no message."""
    ak, sk = seaweed.identities['gw']
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', ak)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', sk)
    t = s3(request, no_keys(seaweed))
    t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'wrong-secret-from-env-0000')
    with pytest.raises(PermanentError) as err:
        t.send(write(tmp_path / 'g', b'y'), 'g.csv', job='daily', start=START)
    assert 'wrong-secret-from-env' not in str(err.value) + caplog.text + repr(t)


def test_shared_file_profile_rotated_without_restart(seaweed, aws_env, request, tmp_path,
                                                     monkeypatch):
    """Keys from the AWS shared credentials file (profile from AWS_PROFILE); when the file
    is rewritten with new keys, the same transport signs with them at its next request."""
    creds = tmp_path / 'credentials'
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(creds))
    monkeypatch.setenv('AWS_PROFILE', 'fleet')
    ak, sk = seaweed.identities['gw']
    creds.write_text('[default]\naws_access_key_id = NOPE\naws_secret_access_key = nope\n'
                     '[fleet]\naws_access_key_id = %s\naws_secret_access_key = old-%s\n'
                     % (ak, sk))
    t = s3(request, no_keys(seaweed))
    with pytest.raises(PermanentError, match='SignatureDoesNotMatch') as err:
        t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    assert sk not in str(err.value)
    new = tmp_path / 'credentials.new'
    new.write_text('[fleet]\naws_access_key_id = %s\naws_secret_access_key = %s\n' % (ak, sk))
    os.replace(new, creds)                          # as rotation tools do
    t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)


def test_config_secret_file_rotated_without_restart(seaweed, request, tmp_path):
    """secret_access_key_file of the target is read again when it changes: the same
    transport signs with the new secret at its next request."""
    ak, sk = seaweed.identities['gw']
    secret = tmp_path / 'lake.secret'
    secret.write_text('old-secret\n')
    o = s3_options(seaweed, secret_access_key='old-secret',
                   secret_access_key_file=str(secret))
    t = s3(request, o)
    with pytest.raises(PermanentError, match='SignatureDoesNotMatch'):
        t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    secret.write_text(sk + '\n')
    t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    secret.write_text('')
    with pytest.raises(TemporaryError, match='lake.secret is empty'):
        t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)


def test_config_file_profile_and_explicit_profile(seaweed, aws_env, request, tmp_path,
                                                  monkeypatch):
    """profile = "..." in the target reads that profile ([profile NAME] of ~/.aws/config)
    even when the environment holds other keys."""
    ak, sk = seaweed.identities['gw']
    (aws_env / '.aws').mkdir(parents=True)
    (aws_env / '.aws' / 'config').write_text(
        '[profile lake]\nregion = eu-west-3\naws_access_key_id = %s\n'
        'aws_secret_access_key = %s\n' % (ak, sk))
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'ENVKEY')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'env-secret')
    t = s3(request, no_keys(seaweed, profile='lake'))
    t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    assert t.credentials.last.source.endswith('config [profile lake]')


def test_no_credentials_anywhere_names_where_it_looked(seaweed, aws_env, request, tmp_path):
    """Nothing found: a temporary failure (nothing is given up while a technician adds
    the keys) naming the configuration keys, the environment and the files looked at."""
    t = s3(request, no_keys(seaweed))
    with pytest.raises(TemporaryError) as err:
        t.send(write(tmp_path / 'f', b'x'), 'f.csv', job='daily', start=START)
    msg = str(err.value)
    for where in ('access_key_id', 'AWS_ACCESS_KEY_ID', str(aws_env / '.aws' / 'credentials'),
                  str(aws_env / '.aws' / 'config'), 'profile default'):
        assert where in msg


def test_credential_chain_order_and_messages(tmp_path):
    """Config beats environment beats shared files; an incomplete set anywhere is named
    with what is missing; a file that does not parse is named without its content."""
    from pycstbox.export.transports.s3credentials import CredentialChain, MissingCredentials
    cfile, kfile = tmp_path / 'credentials', tmp_path / 'config'
    env = {'AWS_SHARED_CREDENTIALS_FILE': str(cfile), 'AWS_CONFIG_FILE': str(kfile),
           'HOME': str(tmp_path)}
    cfile.write_text('[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = fs\n')
    full = dict(env, AWS_ACCESS_KEY_ID='ENVKEY', AWS_SECRET_ACCESS_KEY='env-secret-x',
                AWS_SESSION_TOKEN='et')
    assert CredentialChain('CFGKEY', 'cs', environ=full).get()[:3] == ('CFGKEY', 'cs', '')
    assert CredentialChain(environ=full).get()[:3] == ('ENVKEY', 'env-secret-x', 'et')
    assert CredentialChain(environ=env).get()[:3] == ('FILEKEY', 'fs', '')
    with pytest.raises(MissingCredentials, match='not AWS_SECRET_ACCESS_KEY'):
        CredentialChain(environ=dict(env, AWS_ACCESS_KEY_ID='K')).get()
    cfile.write_text('[default]\naws_access_key_id = FILEKEY\n')
    with pytest.raises(MissingCredentials, match=r'\[default\] has aws_access_key_id but not'):
        CredentialChain(environ=env).get()
    cfile.write_text('aws_secret_access_key = leaked-if-shown\n')
    with pytest.raises(MissingCredentials) as err:
        CredentialChain(environ=env).get()
    assert str(cfile) in str(err.value) and 'leaked-if-shown' not in str(err.value)
    chain = CredentialChain(profile='nope', environ=full)
    cfile.write_text('[default]\naws_access_key_id = A\naws_secret_access_key = s\n')
    with pytest.raises(MissingCredentials, match='profile nope is in none of'):
        chain.get()
    assert 'env-secret-x' not in repr(CredentialChain(environ=full).get())


# -- moto: what SeaweedFS lacks (SSE-KMS) ------------------------------------------------

MOTO = os.environ.get('CBX_MOTO', '/opt/cstbox-test/moto/bin/moto_server')


class _Moto:
    """A minimal moto server (tests/peers/moto.py of the proof branch has the full one)."""

    access_key, secret_key = 'AKIAMOTO0000000000001', 'moto-secret-000000000000000000000'

    def __init__(self, port):
        self.port = port
        self.endpoint = 'http://127.0.0.1:%d' % port

    def request(self, method, path, body=b'', headers=None, query=()):
        signed = sigv4.sign_headers(method, path, list(query), dict(headers or {}),
                                    hashlib.sha256(body).hexdigest(),
                                    host='127.0.0.1:%d' % self.port, access_key=self.access_key,
                                    secret_key=self.secret_key, region=REGION)
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            conn.request(method, sigv4.canonical_uri(path) + sigv4.query_string(list(query)),
                         body=body, headers=signed)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def make_bucket(self, name):
        status, _, body = self.request('PUT', '/' + name)
        assert status == 200, body


def moto_bin():
    return MOTO if os.access(MOTO, os.X_OK) else ''


@contextlib.contextmanager
def _moto_server(workdir):
    port = free_port()
    log = open(os.path.join(workdir, 'moto.log'), 'wb')
    proc = subprocess.Popen([moto_bin(), '-H', '127.0.0.1', '-p', str(port)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        peer = _Moto(port)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('moto_server did not start (see %s)' % log.name)
                time.sleep(0.1)
        yield peer
    finally:
        proc.kill()
        proc.wait(10)
        log.close()


try:
    from tests.peers.moto import moto_server  # noqa: F401  (the proof branch's peer)
except ImportError:
    moto_server = _moto_server


@pytest.fixture(scope='module')
def moto(tmp_path_factory):
    if not moto_bin() and not shutil.which('moto_server'):
        pytest.skip('moto not installed (%s): run .ci/install-deps' % MOTO)
    with moto_server(str(tmp_path_factory.mktemp('moto'))) as peer:
        peer.make_bucket(BUCKET)
        yield peer


@pytest.mark.parametrize('multipart', [False, True])
def test_sse_kms_and_metadata_on_moto(moto, request, tmp_path, multipart):
    """sse = "aws:kms" with sse_kms_key_id: the stored object reports KMS encryption with
    that key, its storage class, type and metadata (moto: SeaweedFS has no KMS here)."""
    o = dict(endpoint=moto.endpoint, region=REGION, bucket=BUCKET,
             access_key_id=moto.access_key, secret_access_key=moto.secret_key, timeout=10,
             connect_timeout=2, sse='aws:kms', sse_kms_key_id='alias/cstbox-fleet',
             storage_class='STANDARD_IA')
    if multipart:
        o.update(multipart_threshold=5 * MiB, part_size=5 * MiB)
    t = s3(request, o)
    data = os.urandom(6 * MiB if multipart else 2000)
    d = t.send(write(tmp_path / 'f', data), NAME, job='daily', start=START, meta=META)
    status, h, _ = moto.request('HEAD', '/%s/%s' % (BUCKET, d.key))
    h = {k.lower(): v for k, v in h.items()}
    assert status == 200
    assert h['x-amz-server-side-encryption'] == 'aws:kms'
    assert h['x-amz-server-side-encryption-aws-kms-key-id'].endswith('alias/cstbox-fleet')
    assert h['x-amz-storage-class'] == 'STANDARD_IA'
    assert h['content-type'] == 'application/gzip'
    assert h['x-amz-meta-sha256'] == hashlib.sha256(data).hexdigest()
    assert h['x-amz-meta-events'] == '1234'


# -- addressing: the configuration check and the transport agree -----------------------


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(['http', 'https', 'HTTPS']),
       host=st.sampled_from(['s3.eu-west-3.amazonaws.com', 's3.amazonaws.com',
                             'S3.Amazonaws.COM', 'minio.lan', 'evil-amazonaws.com.example',
                             '10.0.0.5', 'localhost']),
       port=st.sampled_from(['', ':9000']), path=st.sampled_from(['', '/', '/s3']),
       bucket=st.sampled_from(['fleet', 'my.fleet', 'a-b.c.d']),
       mode=st.sampled_from(['', 'virtual', 'path']))
def test_config_check_and_transport_agree_on_addressing(scheme, host, port, path, bucket,
                                                        mode):
    """Whatever the endpoint, bucket and addressing: what the configuration accepts, the
    transport addresses so that it can work (virtual: never a dotted bucket on https, an
    IP address or an endpoint path; the bucket in the host exactly once), and the
    configuration's default is the transport's."""
    from pycstbox.export.config.s3check import _addressing

    class Refused(Exception):
        pass

    def fail(key, problem):
        raise Refused(key)

    endpoint = '%s://%s%s%s' % (scheme, host, port, path)
    try:
        _addressing({'endpoint': endpoint, 'bucket': bucket, 'addressing': mode}, fail)
    except Refused:
        assert mode == 'virtual' or 'amazonaws.com' in host.lower()
        return
    a = Address(endpoint, bucket, mode)
    if a.mode == 'virtual':
        assert not ('.' in bucket and scheme.lower() == 'https')
        assert a.host == '%s.%s%s' % (bucket, host, port) and a.path('k') == '/k'
    else:
        assert a.host == host + port and a.path('k') == '%s/%s/k' % (path.rstrip('/'), bucket)
    if not mode:
        aws = host.lower().endswith('.amazonaws.com')
        assert a.mode == ('virtual' if aws and not ('.' in bucket and scheme.lower() == 'https')
                          else 'path')
