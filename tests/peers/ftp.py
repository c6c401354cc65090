"""A real FTP(S) server for tests: ``pyftpdlib`` on 127.0.0.1, port 0, in a thread.

Usage::

    with FtpPeer(tmp_path / 'ftp', tls=pki) as peer:   # tls: a tests.peers.http.Pki or None
        peer.port, peer.home('user')                     # where user's files land
        peer.read('user', 'file.csv')                    # bytes or None

Users (password = ``peer.password``):

- ``user``: full rights in its home;
- ``ro``: read-only (STOR refused with 550);
- ``full``: every STOR answered ``552 quota exceeded`` (a full account);
- ``norename``: RNTO over an existing file refused with 553 (like some servers);
- ``nomlsd``: MLSD answered ``502`` (an old server: listed with NLST + SIZE).

With ``tls``, the server requires ``AUTH TLS`` and a protected data channel.
"""

import logging
import os
import secrets
import threading

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler

try:    # needs python3-openssl
    from pyftpdlib.handlers import TLS_FTPHandler
except ImportError:
    TLS_FTPHandler = None
from pyftpdlib.servers import FTPServer

USERS = {'user': 'elradfmwMT', 'ro': 'elr', 'full': 'elradfmwMT', 'norename': 'elradfmwMT',
         'nomlsd': 'elradfmwMT'}


class _Behaviour:
    """Per-user misbehaviours, mixed into the pyftpdlib handlers."""

    def ftp_STOR(self, file, mode='w'):
        if self.username == 'full':
            self.respond('552 Requested file action aborted: quota exceeded.')
            return None
        return super().ftp_STOR(file, mode)

    def ftp_MLSD(self, path):
        if self.username == 'nomlsd':
            self.respond('502 Command "MLSD" not implemented.')
            return None
        return super().ftp_MLSD(path)

    def ftp_RNTO(self, path):
        if self.username == 'norename' and os.path.exists(path):
            self.respond('553 Rename refused: destination exists.')
            self._rnfr = None
            return None
        return super().ftp_RNTO(path)


class _Plain(_Behaviour, FTPHandler):
    pass


if TLS_FTPHandler is not None:
    class _Tls(_Behaviour, TLS_FTPHandler):
        pass


class FtpPeer:
    """pyftpdlib server on 127.0.0.1 (a context manager)."""

    def __init__(self, root, tls=None):
        self.root = os.fspath(root)
        self.tls = tls
        self.password = 'ftp-' + secrets.token_hex(8)
        self.server = self.thread = None
        self.stop = threading.Event()

    def home(self, user):
        return os.path.join(self.root, user)

    def read(self, user, name):
        """The bytes of ``name`` in ``user``'s home, or None."""
        try:
            with open(os.path.join(self.home(user), name), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def __enter__(self):
        if self.tls and TLS_FTPHandler is None:
            raise RuntimeError('FTP over TLS needs python3-openssl')
        authorizer = DummyAuthorizer()
        for user, perm in USERS.items():
            os.makedirs(self.home(user), exist_ok=True)
            authorizer.add_user(user, self.password, self.home(user), perm=perm)
        base = _Tls if self.tls else _Plain
        handler = type('Handler', (base,), {'authorizer': authorizer, 'timeout': 30,
                                            'banner': 'cbx-export test FTP',
                                            'auth_failed_timeout': 0.05})
        if self.tls:
            handler.certfile = self.tls.cert
            handler.keyfile = self.tls.key
            handler.tls_control_required = True
            handler.tls_data_required = True
        quiet = logging.getLogger('pyftpdlib')
        if not quiet.handlers:   # else pyftpdlib configures logging to stderr by itself
            quiet.addHandler(logging.NullHandler())
        quiet.setLevel(logging.WARNING)
        self.server = FTPServer(('127.0.0.1', 0), handler)
        self.port = self.server.address[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        try:
            while not self.stop.is_set():
                self.server.ioloop.loop(0.05, blocking=False)
        finally:
            self.server.close_all()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
