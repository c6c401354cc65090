"""HTTP(S) transport against a real threaded HTTP server (tests/peers/http.py)."""

import email.utils
import logging
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
    with pytest.raises(TemporaryError):
        t.send(data_file[0], 'a.csv')


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
