"""HTTP(S) transport against a real threaded HTTP server (tests/peers/http.py)."""

import email.utils
import logging
import os
import time

import pytest

from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.transports.http import parse_retry_after
from tests.peers.sshd import free_port
from tests.transports.harness import USER_PASSWORD, make


def http(peer, **kw):
    opts = dict(url=peer.url + '/api/sites/{site}/{job}/{name}', username='gw',
                password=USER_PASSWORD, timeout=3, connect_timeout=2)
    if peer.tls:
        opts['verify'] = peer.tls.ca
    opts.update(kw)
    return make('http', name='warehouse', **opts)


@pytest.mark.parametrize('status', [400, 401, 403, 404, 405, 410, 413, 415, 418, 301])
def test_client_errors_are_permanent(http_peer, data_file, status):
    """4xx answers (and unfollowed redirects) are permanent, with status, excerpt, target."""
    http_peer.behave('status', status=status, body='detail-%d from the server' % status)
    with pytest.raises(PermanentError) as info:
        http(http_peer).send(data_file[0], 'a.csv', job='daily')
    msg = str(info.value)
    assert info.value.target == 'warehouse'
    assert 'target warehouse' in msg and 'HTTP %d' % status in msg
    assert 'detail-%d from the server' % status in msg
    assert 'a.csv' not in [u.name for u in http_peer.uploads]
    # credentials, rights, url, method: the target refuses itself (held); else this file
    assert info.value.scope == ('target' if status in (401, 403, 404, 405, 410, 301)
                                else 'file')


def test_401_tells_what_to_check(http_peer, data_file):
    """A 401 message tells the technician to check username and password_file."""
    with pytest.raises(PermanentError, match='check username and password_file'):
        http(http_peer, password='not-it').send(data_file[0], 'a.csv')


@pytest.mark.parametrize('status', [408, 429, 500, 502, 503, 504])
def test_server_errors_are_temporary(http_peer, data_file, status):
    """408, 429 and 5xx are temporary."""
    http_peer.behave('status', status=status)
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    assert 'HTTP %d' % status in str(info.value)
    assert info.value.retry_after is None


@pytest.mark.parametrize('status', [429, 503])
def test_retry_after_seconds_is_honoured(http_peer, data_file, status):
    """Retry-After (seconds) of a 429/503 is returned in the error's retry_after."""
    http_peer.behave('status', status=status, retry_after='120')
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    assert info.value.retry_after == 120


def test_retry_after_http_date_is_honoured(http_peer, data_file):
    """Retry-After given as an HTTP date becomes seconds from now."""
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    http_peer.behave('status', status=503, retry_after=when)
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    assert 290 <= info.value.retry_after <= 301


def test_parse_retry_after_rejects_garbage():
    """An unusable Retry-After gives no retry_after rather than an error."""
    assert parse_retry_after('soon') is None and parse_retry_after('') is None
    assert parse_retry_after('7') == 7.0


def test_server_that_never_answers_times_out(http_peer, data_file):
    """A server that takes the body and never answers fails within the read timeout."""
    http_peer.behave('hang')
    started = time.monotonic()
    with pytest.raises(TemporaryError, match='did not answer within 1 s'):
        http(http_peer, timeout=1).send(data_file[0], 'a.csv')
    assert time.monotonic() - started < 5


def test_slow_answer_within_timeout_is_delivered(http_peer, data_file):
    """A server answering slower than usual but within the timeout delivers the file."""
    http_peer.behave('slow', delay=1.0)
    http(http_peer, timeout=4).send(data_file[0], 'a.csv')
    assert http_peer.read('a.csv') == data_file[1]


@pytest.mark.parametrize('tls', [False, True])
def test_reset_in_the_middle_of_the_body_is_temporary(http_peer, https_peer, data_file, tls):
    """A connection reset in the middle of the body is temporary and stores nothing."""
    peer = https_peer if tls else http_peer
    peer.behave('reset', after=10000)
    with pytest.raises(TemporaryError):
        http(peer).send(data_file[0], 'a.csv')
    assert peer.read('a.csv') is None


def test_connection_refused_is_temporary(data_file):
    """Nobody listening on the port is temporary."""
    t = make('http', url='http://127.0.0.1:%d/x' % free_port(), connect_timeout=2)
    with pytest.raises(TemporaryError) as e:
        t.send(data_file[0], 'a.csv')
    assert ' object at 0x' not in str(e.value) and 'refused' in str(e.value), str(e.value)


def test_dns_failure_is_temporary(data_file):
    """A host name that does not resolve is temporary (DNS may come back)."""
    t = make('http', url='http://no-such-host.invalid/x', connect_timeout=2)
    with pytest.raises(TemporaryError):
        t.send(data_file[0], 'a.csv')


def test_https_delivers_with_test_ca(https_peer, data_file):
    """HTTPS with verify = CA bundle path delivers the file."""
    http(https_peer).send(data_file[0], 'a.csv', job='daily')
    assert https_peer.read('a.csv') == data_file[1]


def test_tls_verification_is_on_by_default(https_peer, data_file):
    """Without verify, a certificate from an unknown CA is refused (permanent)."""
    t = make('http', url=https_peer.url + '/x/{name}', connect_timeout=2)
    with pytest.raises(PermanentError, match='could not be verified'):
        t.send(data_file[0], 'a.csv')
    assert https_peer.uploads == []


def test_wrong_certificate_is_permanent(https_peer, data_file):
    """A certificate not signed by the configured CA is permanent, with what to do."""
    with pytest.raises(PermanentError, match='verify'):
        http(https_peer, verify=https_peer.tls.other_ca).send(data_file[0], 'a.csv')


def test_wrong_host_name_is_permanent(tmp_path, data_file):
    """A certificate for another host name is refused (permanent)."""
    from tests.peers.http import HttpPeer, make_test_pki
    pki = make_test_pki(str(tmp_path / 'pki'), hostnames=('other.example',))
    with HttpPeer(tmp_path / 'srv', tls=pki) as peer:
        with pytest.raises(PermanentError):
            http(peer, username='').send(data_file[0], 'a.csv')


def test_put_sends_raw_body_with_key_and_placeholders(http_peer, data_file):
    """PUT sends the raw file; {site}/{job}/{name} are filled and quoted; key is sent."""
    t = http(http_peer, method='PUT')
    t.send(data_file[0], 'a b.csv', job='daily', key='lyon-b12-daily-261127000000')
    up = http_peer.uploads[-1]
    assert up.method == 'PUT' and up.path == '/api/sites/lyon-b12/daily/a%20b.csv'
    assert up.key == 'lyon-b12-daily-261127000000'
    assert http_peer.read('a b.csv') == data_file[1]


def test_post_multipart_uses_configured_field(http_peer, data_file):
    """POST sends multipart/form-data with the file in the configured field."""
    http(http_peer, field='zip', url=http_peer.url + '/upload').send(data_file[0], 'x.zip')
    up = http_peer.uploads[-1]
    assert (up.method, up.field, up.name) == ('POST', 'zip', 'x.zip')
    assert http_peer.read('x.zip') == data_file[1]


def test_body_is_streamed_with_content_length(http_peer, data_file):
    """The body has an exact Content-Length (streamed from the file, not chunked)."""
    http(http_peer, method='PUT').send(data_file[0], 'a.csv')
    headers = {k.lower(): v for k, v in http_peer.uploads[-1].headers.items()}
    assert headers['content-length'] == str(len(data_file[1]))
    assert 'transfer-encoding' not in headers


def test_basic_auth_is_sent_and_extra_headers(http_peer, data_file):
    """Basic auth credentials and configured headers reach the server."""
    http(http_peer, headers={'X-Site': 'b12'}).send(data_file[0], 'a.csv')
    assert http_peer.uploads[-1].headers.get('X-Site') == 'b12'


def test_basic_auth_over_plain_http_warns(http_peer, caplog):
    """Basic auth over plain http logs a warning (password sent unencrypted)."""
    with caplog.at_level(logging.WARNING):
        http(http_peer)
    assert 'unencrypted' in caplog.text


def test_check_sends_no_data(http_peer):
    """check() reaches the server without uploading anything."""
    http(http_peer).check()
    assert http_peer.uploads == [] and http_peer.requests[-1].method == 'OPTIONS'


def test_invalid_url_is_permanent(data_file):
    """A URL without a scheme is permanent."""
    with pytest.raises(PermanentError, match='invalid url'):
        make('http', url='dwh.example.org/upload').send(data_file[0], 'a.csv')


def test_peer_behaviour_for_a_number_of_uploads(http_peer, data_file):
    """The peer's times=N behaviour fails N uploads then accepts (for retry tests)."""
    http_peer.behave('status', status=503, times=1)
    t = http(http_peer)
    with pytest.raises(TemporaryError):
        t.send(data_file[0], 'a.csv')
    t.send(data_file[0], 'a.csv')
    assert http_peer.read('a.csv') == data_file[1]


@pytest.mark.parametrize('status, fails', [(204, None), (405, None), (501, None),
                                           (403, PermanentError), (404, PermanentError),
                                           (503, TemporaryError)])
def test_check_classifies_options_answers(http_peer, status, fails):
    """check(): endpoints without OPTIONS pass; 403/404 are permanent, 503 temporary."""
    http_peer.behave('status', status=status)
    t = http(http_peer)
    if fails is None:
        t.check()
    else:
        with pytest.raises(fails):
            t.check()


def test_memory_stays_flat_for_a_large_upload(http_peer, tmp_path):
    """A 64 MB multipart upload keeps the uploading process under 40 MB peak RSS."""
    import subprocess
    import sys
    from tests.transports.conftest import ROOT
    big = tmp_path / 'big.bin'
    with open(big, 'wb') as f:
        f.truncate(64 * 1024 * 1024)
    code = ('import sys, types\n'
            'from pycstbox.export import transports\n'
            't = transports.create(types.SimpleNamespace(name="w", type="http", options='
            '{"url": sys.argv[1], "username": "gw", "password": sys.argv[3]}))\n'
            't.send(sys.argv[2], "big.bin")\n'
            'print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])')
    res = subprocess.run([sys.executable, '-c', code, http_peer.url + '/up/{name}', str(big),
                          USER_PASSWORD],
                         capture_output=True, text=True, timeout=60, env={'PYTHONPATH': ROOT})
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) / 1024 < 40
    assert http_peer.uploads[-1].size == 64 * 1024 * 1024


# -- hostile receivers (issue 10, defects 3, 11, 17): a bound for every request ---------------

def send_in_thread(transport, path, name='a.csv'):
    """Start ``transport.send`` in a thread; returns (thread, outcome dict)."""
    import threading
    outcome = {}

    def run():
        started = time.monotonic()
        try:
            transport.send(path, name, job='daily')
            outcome['error'] = None
        except Exception as exc:  # noqa: BLE001 -- the test looks at it
            outcome['error'] = exc
        outcome['seconds'] = time.monotonic() - started
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def documented_bound(connect_timeout, timeout, size):
    """The bound the man page states: connect_timeout + timeout + timeout per started 256 KiB."""
    return connect_timeout + timeout * (1 + -(-size // (256 * 1024)))


@pytest.mark.parametrize('tls', [False, True])
def test_status_line_dripped_forever_fails_at_the_bound(http_peer, https_peer, data_file, tls):
    """A status line dripped one byte a second is a temporary failure at the stated bound."""
    peer = https_peer if tls else http_peer
    peer.behave('drip', where='status', interval=1.0)
    bound = documented_bound(1, 2, len(data_file[1]) + 300)        # + multipart framing
    thread, outcome = send_in_thread(http(peer, timeout=2, connect_timeout=1), data_file[0])
    thread.join(bound + 3)
    assert not thread.is_alive(), 'send still blocked after %g s' % (bound + 3)
    assert isinstance(outcome['error'], TemporaryError), outcome
    assert 'no complete answer within %g s' % bound in str(outcome['error'])
    assert bound - 0.5 < outcome['seconds'] < bound + 2


@pytest.mark.parametrize('tls', [False, True])
def test_body_dripped_after_2xx_is_a_delivery(http_peer, https_peer, data_file, tls):
    """A 2xx status line with its headers is the delivery, whatever the body does after."""
    peer = https_peer if tls else http_peer
    peer.behave('drip', where='body', interval=1.0)
    thread, outcome = send_in_thread(http(peer, timeout=2, connect_timeout=1), data_file[0])
    thread.join(4)
    assert not thread.is_alive(), 'send blocked on the body of a 2xx answer'
    assert outcome['error'] is None and outcome['seconds'] < 2
    assert peer.read('a.csv') == data_file[1]


GIANT_CLIENT = '''
import resource, sys, types
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))   # the old code must not eat the box
from pycstbox.export import transports
t = transports.create(types.SimpleNamespace(name="w", type="http", options={
    "url": sys.argv[1], "username": "gw", "password": sys.argv[3], "timeout": 5,
    "connect_timeout": 2}))
try:
    t.send(sys.argv[2], "a.csv")
    outcome = "delivered"
except Exception as exc:
    outcome = "%s: %s" % (type(exc).__name__, exc)
print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
print(outcome)
'''


@pytest.mark.parametrize('status', [200, 500])
def test_giant_answer_body_keeps_memory_small(http_peer, data_file, status):
    """A 3 GB answer body is not read: 2xx delivered, 500 temporary with an excerpt; RSS < 40 MB."""
    import subprocess
    import sys
    from tests.transports.conftest import ROOT
    http_peer.behave('giant', status=status, size=3 * 1024 ** 3)
    started = time.monotonic()
    res = subprocess.run([sys.executable, '-c', GIANT_CLIENT, http_peer.url + '/up/{name}',
                          data_file[0], USER_PASSWORD], capture_output=True, text=True, timeout=60,
                         env={'PYTHONPATH': ROOT})
    assert res.returncode == 0, res.stderr[-2000:]
    peak_kb, outcome = res.stdout.split('\n', 1)
    assert int(peak_kb) / 1024 < 40, 'peak RSS %s kB' % peak_kb
    if status == 200:
        assert outcome.strip() == 'delivered'
    else:
        assert outcome.startswith('TemporaryError: target w: upload of a.csv to '
                                  'http://127.0.0.1:%d: HTTP 500' % http_peer.port)
        assert 'xxxxxxxx...' in outcome and len(outcome) < 400
    assert time.monotonic() - started < 10
    assert http_peer.sent < 3 * 1024 ** 3 // 10


def test_receiver_that_never_reads_nor_answers_is_bounded(tmp_path):
    """A receiver that accepts the connection and then neither reads nor answers is bounded."""
    import socket
    data = os.urandom(8 * 1024 * 1024)
    path = tmp_path / 'big.bin'
    path.write_bytes(data)
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)                     # the kernel accepts; nobody ever reads
        t = make('http', url='http://127.0.0.1:%d/x/{name}' % listener.getsockname()[1],
                 timeout=1, connect_timeout=1)
        thread, outcome = send_in_thread(t, str(path))
        bound = documented_bound(1, 1, len(data) + 300)
        thread.join(bound + 3)
        assert not thread.is_alive()
    assert isinstance(outcome['error'], TemporaryError) and outcome['seconds'] < bound + 1


def test_retry_after_is_reported_as_what_the_server_asked(http_peer, data_file):
    """A 503 with Retry-After says what the server asked, not a retry time nobody keeps."""
    http_peer.behave('status', status=503, retry_after='120')
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    msg = str(info.value)
    assert 'will retry after' not in msg
    assert msg.endswith('(temporary; the server asked to wait 120 s before retrying)'), msg


def test_bound_grows_with_the_body():
    """The bound of a request is connect_timeout + timeout, + timeout per started 256 KiB."""
    t = make('http', url='https://h/x', timeout=60, connect_timeout=10)
    assert (t.bound(0), t.bound(1), t.bound(256 * 1024), t.bound(256 * 1024 + 1)) == \
        (70, 130, 130, 190)
    assert t.limits().startswith('each request ends within 70 s + 60 s per 256 KiB sent')


def test_error_messages_hide_url_secrets(http_peer, data_file):
    """Credentials in the URL, secret query values and secret headers never reach a message."""
    url = http_peer.url.replace('://', '://gw:%s@' % USER_PASSWORD) + '/up/{name}?api_key=K3y'
    http_peer.behave('status', status=500, body='echo: %s X-Api-Key: T0ken' % url)
    t = make('http', url=url, headers={'X-Api-Key': 'T0ken'}, timeout=3)
    with pytest.raises(TemporaryError) as info:
        t.send(data_file[0], 'a.csv')
    for secret in (USER_PASSWORD, 'K3y', 'T0ken'):
        assert secret not in str(info.value)
    assert 'api_key=***' in str(info.value)
    bad = make('http', url='http://gw:UrlPassw0rd@127.0.0.1:99999/x', timeout=3)
    with pytest.raises(PermanentError) as info:
        bad.send(data_file[0], 'a.csv')
    assert 'UrlPassw0rd' not in str(info.value)


def test_check_states_the_bound_and_hides_secrets_even_at_debug(http_peer, tmp_path):
    """cbx-export --debug check: the request bound is printed; no URL secret in any output."""
    import subprocess
    import sys
    from tests.transports.conftest import ROOT
    url = http_peer.url.replace('://', '://gw:%s@' % USER_PASSWORD) + '/up/{name}?api_key=K3y'
    cfg = tmp_path / 'export.toml'
    cfg.write_text('site = "s"\nstate_dir = "%s"\n[targets.web]\ntype = "http"\nurl = "%s"\n'
                   'timeout = 5\nconnect_timeout = 2\n' % (tmp_path / 'state', url))
    cfg.chmod(0o600)
    for behaviour in ('accept', 'status'):
        http_peer.behave(behaviour, status=503)
        res = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg), '--debug',
                              'check', 'web'], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, PYTHONPATH=ROOT))
        out = res.stdout + res.stderr
        assert USER_PASSWORD not in out and 'K3y' not in out, out
        assert 'each request ends within 7 s + 5 s per 256 KiB sent' in res.stdout, out
    assert 'api_key=***' in res.stderr     # urllib3's DEBUG request line, redacted
    assert res.returncode == 1 and 'FAILED (temporary)' in res.stdout


def test_request_that_cannot_be_built_is_permanent(http_peer, data_file):
    """A header the HTTP library cannot encode is a permanent error, never a raw exception."""
    with pytest.raises(PermanentError, match='cannot be made'):
        http(http_peer, headers={'X-Euro': '\u20ac'}).send(data_file[0], 'a.csv')


class _Time32(__import__('datetime').datetime):
    """A datetime whose timestamp() overflows as on a 32-bit time_t (armhf) past 2038."""

    def timestamp(self):
        raise OverflowError('timestamp out of range for platform time_t')


def test_retry_after_past_2038_on_32_bit_is_a_capped_wait(http_peer, data_file, monkeypatch):
    """A Retry-After date this platform cannot turn into a time (armhf: 2040) is a capped wait."""
    from pycstbox.export.transports import httpreply
    real = email.utils.parsedate_to_datetime

    def parse32(value):
        when = real(value)
        return _Time32(*when.timetuple()[:6], tzinfo=when.tzinfo)
    monkeypatch.setattr(httpreply.email.utils, 'parsedate_to_datetime', parse32)
    http_peer.behave('status', status=503, retry_after='Sun, 01 Jan 2040 00:00:00 -0000')
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    assert info.value.retry_after == httpreply.RETRY_AFTER_MAX
    assert 'HTTP 503' in str(info.value) and 'asked to wait' in str(info.value)


@pytest.mark.parametrize('value', ['Fri, 31 Dec 9999 23:59:59 GMT', '99999999999',
                                   'Sun, 01 Jan 2040 00:00:00 -0000'])
def test_retry_after_far_ahead_is_capped(value):
    """A wait far ahead (year 9999, a huge delay) is capped, never an exception."""
    from pycstbox.export.transports.httpreply import RETRY_AFTER_MAX
    assert parse_retry_after(value) == RETRY_AFTER_MAX


def test_unusable_retry_after_still_says_the_server_asked_to_wait(http_peer, data_file):
    """A 503 with a Retry-After that is not a date says the server asked to wait."""
    http_peer.behave('status', status=503, retry_after='Sun, 32 Foo 2040 99:00:00')
    with pytest.raises(TemporaryError) as info:
        http(http_peer).send(data_file[0], 'a.csv')
    assert 'asked to wait' in str(info.value)
