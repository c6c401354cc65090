"""FTP(S) transport against a real pyftpdlib server (tests/peers/ftp.py)."""

import socket
import threading
import time

import pytest

from pycstbox.export.errors import PermanentError, TemporaryError
from tests.transports.harness import make


def ftp(peer, **kw):
    opts = dict(host='127.0.0.1', port=peer.port, user='user', password=peer.password,
                tls=bool(peer.tls), timeout=5)
    if peer.tls:
        opts['verify'] = peer.tls.ca
    opts.update(kw)
    return make('ftp', name='drop', **opts)


def test_full_account_552_is_temporary(ftp_peer, data_file):
    """552 (storage full) is temporary and leaves no file, not even the temporary one."""
    with pytest.raises(TemporaryError, match='552') as info:
        ftp(ftp_peer, user='full').send(data_file[0], 'a.csv')
    assert info.value.target == 'drop'
    assert ftp_peer.read('full', 'a.csv') is None


def test_read_only_account_is_permanent(ftp_peer, data_file):
    """A 550 refusal to store (read-only account) is permanent, saying what to check."""
    with pytest.raises(PermanentError, match='write rights'):
        ftp(ftp_peer, user='ro').send(data_file[0], 'a.csv')


def test_wrong_password_is_permanent(ftp_peer, data_file):
    """530 login refused is permanent and tells to check user and password_file."""
    with pytest.raises(PermanentError, match='password_file') as info:
        ftp(ftp_peer, password='nope').send(data_file[0], 'a.csv')
    assert info.value.scope == 'target'          # the target is held, not the file dead


def test_rename_over_existing_refused_deletes_first(ftp_peer, data_file, tmp_path):
    """When the server refuses to rename over a file, the old file is replaced anyway."""
    t = ftp(ftp_peer, user='norename')
    (tmp_path / 'old').write_bytes(b'old content')
    t.send(str(tmp_path / 'old'), 'a.csv')
    t.send(data_file[0], 'a.csv')
    assert ftp_peer.read('norename', 'a.csv') == data_file[1]


def test_directory_option(ftp_peer, data_file):
    """The file lands in the configured directory."""
    import os
    os.makedirs(os.path.join(ftp_peer.home('user'), 'in', 'box'))
    ftp(ftp_peer, directory='in/box').send(data_file[0], 'a.csv')
    assert ftp_peer.read('user', 'in/box/a.csv') == data_file[1]


def test_active_mode(ftp_peer, data_file):
    """passive = false (active mode, PORT) also delivers."""
    ftp(ftp_peer, passive=False).send(data_file[0], 'a.csv')
    assert ftp_peer.read('user', 'a.csv') == data_file[1]


def test_tls_protects_data_channel(ftps_peer, data_file):
    """tls = true delivers to a server that requires TLS on control and data channels."""
    ftp(ftps_peer).send(data_file[0], 'a.csv')
    assert ftps_peer.read('user', 'a.csv') == data_file[1]


def test_plain_client_refused_by_tls_only_server(ftps_peer, data_file):
    """Without tls, a TLS-only server refuses the login: permanent."""
    with pytest.raises(PermanentError):
        ftp(ftps_peer, tls=False).send(data_file[0], 'a.csv')


def test_tls_wrong_certificate_is_permanent(ftps_peer, data_file):
    """A server certificate from another CA is permanent."""
    with pytest.raises(PermanentError, match='could not be verified'):
        ftp(ftps_peer, verify=ftps_peer.tls.other_ca).send(data_file[0], 'a.csv')


def test_silent_server_times_out_temporary(data_file):
    """A server that accepts the connection but never greets fails within the timeout."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    conns = []
    threading.Thread(target=lambda: conns.append(srv.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(TemporaryError, match='within 1 s'):
            make('ftp', host='127.0.0.1', port=srv.getsockname()[1], timeout=1).check()
    finally:
        for conn, _ in conns:
            conn.close()
        srv.close()
    assert time.monotonic() - started < 5


def test_tls_data_channel_resumes_control_session(ftps_peer, data_file, monkeypatch):
    """The TLS data connection resumes the control session (vsftpd's require_ssl_reuse)."""
    from pycstbox.export.transports import ftp as ftp_module
    reused = []
    original = ftp_module._FtpTls.ntransfercmd

    def spy(self, cmd, rest=None):
        conn, size = original(self, cmd, rest)
        reused.append(conn.session_reused)
        return conn, size
    monkeypatch.setattr(ftp_module._FtpTls, 'ntransfercmd', spy)
    ftp(ftps_peer).send(data_file[0], 'a.csv')
    assert reused == [True]
