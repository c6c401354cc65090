"""Fixtures of the transport tests: real peers (HTTP(S), FTP(S), sshd, socat+lrzsz, tmpfs).

``endpoint`` is the parametrized fixture of the shared contract: one real peer per
transport, each wrapped in an :class:`Endpoint` (good transport, reader of what arrived,
bad targets for ``check()``, a failing send, a target configured with a secret).
"""

import contextlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from pycstbox.export.errors import PermanentError, TemporaryError  # noqa: E402
from tests.peers.ftp import FtpPeer  # noqa: E402
from tests.peers.http import HttpPeer, make_test_pki  # noqa: E402
from tests.peers.seaweedfs import BUCKET, REGION, SeaweedPeer, seaweedfs_usable  # noqa: E402
from tests.peers.serial import SerialLink, serial_usable  # noqa: E402
from tests.peers.sshd import SshdPeer, free_port, sshd_usable  # noqa: E402
from tests.transports.harness import (SECRET, USER_PASSWORD, is_root, make,  # noqa: E402
                                      need_root_mount, tmpfs, write)


@pytest.fixture(scope='session')
def pki(tmp_path_factory):
    """A test CA and a server certificate for 127.0.0.1/localhost (plus another CA)."""
    return make_test_pki(str(tmp_path_factory.mktemp('pki')))


@pytest.fixture
def http_peer(tmp_path):
    with HttpPeer(tmp_path / 'http', auth=('gw', USER_PASSWORD)) as peer:
        yield peer


@pytest.fixture
def https_peer(tmp_path, pki):
    with HttpPeer(tmp_path / 'https', tls=pki, auth=('gw', USER_PASSWORD)) as peer:
        yield peer


@pytest.fixture
def ftp_peer(tmp_path):
    with FtpPeer(tmp_path / 'ftp') as peer:
        yield peer


@pytest.fixture
def ftps_peer(tmp_path, pki):
    with FtpPeer(tmp_path / 'ftps', tls=pki) as peer:
        yield peer


@pytest.fixture(scope='session')
def sshd_peer(tmp_path_factory):
    why = sshd_usable()
    if why:
        pytest.skip(why)
    with SshdPeer(tmp_path_factory.mktemp('sshd')) as peer:
        yield peer


@pytest.fixture(scope='session')
def seaweed(tmp_path_factory):
    """One real SeaweedFS (S3 gateway) for the whole session (~4 s to start)."""
    why = seaweedfs_usable()
    if why:
        pytest.skip(why)
    with SeaweedPeer(tmp_path_factory.mktemp('weed')) as peer:
        yield peer


@pytest.fixture(scope='session')
def moto(tmp_path_factory):
    """One moto server (the second S3 implementation) for the whole session (~2 s)."""
    from tests.peers.moto import moto_server, moto_usable
    why = moto_usable()
    if why:
        pytest.skip(why)
    with moto_server(tmp_path_factory.mktemp('moto')) as peer:
        peer.make_bucket(BUCKET)
        yield peer


@pytest.fixture(params=['seaweedfs', 'moto'])
def s3peer(request):
    """Each real S3 implementation in turn: SeaweedFS, then moto (``.kind`` tells which)."""
    peer = request.getfixturevalue('seaweed' if request.param == 'seaweedfs' else 'moto')
    peer.kind = request.param
    return peer


def s3_options(peer, identity='gw', **kw):
    """Options of an s3 target on ``peer`` as ``identity`` (short timeouts)."""
    ak, sk = peer.identities[identity]
    opts = dict(endpoint=peer.endpoint, region=REGION, bucket=BUCKET, access_key_id=ak,
                secret_access_key=sk, timeout=5, connect_timeout=2)
    opts.update(kw)
    return opts


@pytest.fixture
def serial_link(tmp_path):
    why = serial_usable()
    if why:
        pytest.skip(why)
    with SerialLink(tmp_path / 'tty') as link:
        yield link


def sftp_options(peer, **kw):
    opts = dict(host='127.0.0.1', port=peer.port, user='root', key_file=peer.client_key,
                known_hosts=peer.known_hosts, directory=peer.dir, timeout=10)
    opts.update(kw)
    return opts


class Endpoint:
    """One transport and its real peer, as seen by the contract tests."""

    kind = ''
    payload_size = 150001

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.exit = contextlib.ExitStack()

    def receiving(self):
        """Context around each send (a receiver process for serial)."""
        return contextlib.nullcontext()

    def read(self, name):
        raise NotImplementedError

    def listing(self):
        """Names present at the destination (to look for temporary files)."""
        return []

    def bad(self):
        """[(why, transport, expected error class)] for check()."""
        raise NotImplementedError

    def failing(self):
        """(transport, expected class, read) for a send that must fail."""
        raise NotImplementedError

    def secret(self):
        """(transport configured with SECRET, expected error class or None)."""
        raise NotImplementedError


def _read_file(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


class DirEndpoint(Endpoint):
    kind = 'dir'

    def setup(self):
        self.dest = str(self.tmp_path / 'dest')
        os.makedirs(self.dest)
        self.transport = make('dir', path=self.dest)

    def read(self, name):
        return _read_file(os.path.join(self.dest, name))

    def listing(self):
        return os.listdir(self.dest)

    def bad(self):
        cases = [('missing directory', make('dir', path=str(self.tmp_path / 'nope')),
                  PermanentError),
                 ('path is a file', make('dir', path=__file__), PermanentError)]
        if is_root():
            ro = self.exit.enter_context(tmpfs(str(self.tmp_path / 'ro'), readonly=True))
            cases.append(('read-only file system', make('dir', path=ro), PermanentError))
        return cases

    def failing(self):
        need_root_mount()
        full = self.exit.enter_context(tmpfs(str(self.tmp_path / 'full'), size='64k'))
        return (make('dir', path=full), TemporaryError,
                lambda name: _read_file(os.path.join(full, name)), lambda: os.listdir(full))

    def secret(self):
        return make('dir', path=self.dest, password=SECRET), None


class HttpEndpoint(Endpoint):
    kind = 'http'
    tls = False

    def setup(self):
        fixture = HttpPeer(self.tmp_path / self.kind, auth=('gw', USER_PASSWORD),
                           tls=self.pki if self.tls else None)
        self.peer = self.exit.enter_context(fixture)
        self.transport = self._make()

    def _make(self, **kw):
        opts = dict(url=self.peer.url + '/upload/{site}/{job}/{name}', username='gw',
                    password=USER_PASSWORD, timeout=5, connect_timeout=2)
        if self.tls:
            opts['verify'] = self.pki.ca
        opts.update(kw)
        return make('http', **opts)

    def read(self, name):
        return self.peer.read(name)

    def bad(self):
        cases = [('wrong password', self._make(password='wrong'), PermanentError),
                 ('nobody listening', self._make(url='http%s://127.0.0.1:%d/x' % (
                     's' if self.tls else '', free_port())), TemporaryError)]
        if self.tls:
            cases.append(('certificate from another CA',
                          self._make(verify=self.pki.other_ca), PermanentError))
        return cases

    def failing(self):
        self.peer.behave('reset', after=2048)
        return self.transport, TemporaryError, self.peer.read, lambda: []

    def secret(self):
        return self._make(password=SECRET), PermanentError


class HttpsEndpoint(HttpEndpoint):
    kind = 'https'
    tls = True


class FtpEndpoint(Endpoint):
    kind = 'ftp'
    tls = False

    def setup(self):
        self.peer = self.exit.enter_context(
            FtpPeer(self.tmp_path / self.kind, tls=self.pki if self.tls else None))
        self.transport = self._make()

    def _make(self, **kw):
        opts = dict(host='127.0.0.1', port=self.peer.port, user='user',
                    password=self.peer.password, tls=self.tls, timeout=5)
        if self.tls:
            opts['verify'] = self.pki.ca
        opts.update(kw)
        return make('ftp', **opts)

    def read(self, name):
        return self.peer.read('user', name)

    def listing(self):
        return os.listdir(self.peer.home('user'))

    def bad(self):
        cases = [('wrong password', self._make(password='wrong'), PermanentError),
                 ('read-only account', self._make(user='ro'), PermanentError),
                 ('full account (552)', self._make(user='full'), TemporaryError),
                 ('missing directory', self._make(directory='nope'), PermanentError),
                 ('nobody listening', self._make(port=free_port()), TemporaryError)]
        if self.tls:
            cases.append(('certificate from another CA',
                          self._make(verify=self.pki.other_ca), PermanentError))
        return cases

    def failing(self):
        return (self._make(user='full'), TemporaryError,
                lambda name: self.peer.read('full', name),
                lambda: os.listdir(self.peer.home('full')))

    def secret(self):
        return self._make(password=SECRET), PermanentError


class FtpsEndpoint(FtpEndpoint):
    kind = 'ftps'
    tls = True


class SftpEndpoint(Endpoint):
    kind = 'sftp'

    def setup(self):
        self.dir = os.path.join(self.peer.dir, os.path.basename(str(self.tmp_path)))
        os.makedirs(self.dir, exist_ok=True)
        self.transport = make('sftp', **sftp_options(self.peer, directory=self.dir))

    def read(self, name):
        return _read_file(os.path.join(self.dir, name))

    def listing(self):
        return os.listdir(self.dir)

    def bad(self):
        return [
            ('wrong password', make('sftp', **sftp_options(self.peer, key_file='',
                                                            password='wrong')), PermanentError),
            ('unknown host key', make('sftp', **sftp_options(
                self.peer, known_hosts=self.peer.empty_known_hosts)), PermanentError),
            ('changed host key', make('sftp', **sftp_options(
                self.peer, known_hosts=self.peer.other_known_hosts)), PermanentError),
            ('missing directory', make('sftp', **sftp_options(
                self.peer, directory=self.dir + '/nope')), PermanentError),
            ('nobody listening', make('sftp', **sftp_options(self.peer, port=free_port())),
             TemporaryError)]

    def failing(self):
        need_root_mount()
        full = self.exit.enter_context(tmpfs(str(self.tmp_path / 'full'), size='64k'))
        return (make('sftp', **sftp_options(self.peer, directory=full)), TemporaryError,
                lambda name: _read_file(os.path.join(full, name)), lambda: os.listdir(full))

    def secret(self):
        return make('sftp', **sftp_options(self.peer, key_file='', password=SECRET)), \
            PermanentError


class SerialEndpoint(Endpoint):
    kind = 'serial'
    payload_size = 30001   # lrzsz drops some blocks on ptys: each costs a resend
    failing_skip = ('YMODEM receivers (lrzsz rb) write straight to the final name: a partial '
                    'file on the receiving side is theirs to handle')

    def setup(self):
        self.out = str(self.tmp_path / 'received')
        os.makedirs(self.out)
        self.transport = make('serial', port=self.link.sender, timeout=5)

    def receiving(self):
        return self.link.receiver(self.out, 'ymodem')

    def read(self, name):
        return _read_file(os.path.join(self.out, name))

    def bad(self):
        self.holder = self.exit.enter_context(_hold(self.link.sender))
        return [('missing port', make('serial', port=str(self.tmp_path / 'ttyNONE')),
                 TemporaryError),
                ('port busy', make('serial', port=self.link.sender), TemporaryError),
                ('unknown protocol', make('serial', port=self.link.sender, protocol='kermit'),
                 PermanentError)]

    def failing(self):
        pytest.skip(self.failing_skip)

    def secret(self):
        return make('serial', port=str(self.tmp_path / 'ttyNONE'), password=SECRET), \
            TemporaryError


class S3Endpoint(Endpoint):
    kind = 's3'

    def setup(self):
        self.prefix = 'contract-%s/' % os.path.basename(str(self.tmp_path))
        self.transport = self._make()

    def _make(self, identity='gw', **kw):
        return make('s3', **s3_options(self.peer, identity, prefix=self.prefix, **kw))

    def read(self, name):
        status, _, body = self.peer.request('GET', '/%s/%s' % (
            BUCKET, self.transport.remote_key(name, job='daily')))
        return body if status == 200 else None

    def listing(self):
        return [f.key.rsplit('/', 1)[-1] for f in self.transport.listing(self.prefix)]

    def bad(self):
        return [('wrong secret', self._make(secret_access_key='wrong'), PermanentError),
                ('unknown access key', self._make(access_key_id='NOBODY'), PermanentError),
                ('read-only identity', self._make('ro'), PermanentError),
                ('missing bucket', self._make(bucket='no-such-bucket'), PermanentError),
                ('nobody listening', self._make(endpoint='http://127.0.0.1:%d' % free_port()),
                 TemporaryError)]

    def failing(self):
        return (self._make('ro'), PermanentError, self.read, self.listing)

    def secret(self):
        return self._make(secret_access_key=SECRET, session_token=SECRET), PermanentError


@contextlib.contextmanager
def _hold(port):
    import serial
    s = serial.Serial(port, exclusive=True)
    try:
        yield s
    finally:
        s.close()


class MotoEndpoint(S3Endpoint):
    """The s3 transport on moto: it checks no credentials and no permissions, so its bad
    targets are a missing bucket and nobody listening."""
    kind = 's3-moto'

    def bad(self):
        return [('missing bucket', self._make(bucket='no-such-bucket'), PermanentError),
                ('nobody listening', self._make(endpoint='http://127.0.0.1:%d' % free_port()),
                 TemporaryError)]

    def failing(self):
        return (self._make(bucket='no-such-bucket'), PermanentError, self.read, self.listing)

    def secret(self):
        return (self._make(bucket='no-such-bucket', secret_access_key=SECRET,
                           session_token=SECRET), PermanentError)


ENDPOINTS = {e.kind: e for e in (DirEndpoint, HttpEndpoint, HttpsEndpoint, FtpEndpoint,
                                 FtpsEndpoint, SftpEndpoint, SerialEndpoint, S3Endpoint,
                                 MotoEndpoint)}


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request, tmp_path, pki):
    """Every transport with its real peer (see Endpoint)."""
    ep = ENDPOINTS[request.param](tmp_path)
    ep.pki = pki
    if request.param == 'sftp':
        ep.peer = request.getfixturevalue('sshd_peer')
    if request.param == 'serial':
        ep.link = request.getfixturevalue('serial_link')
    if request.param == 's3':
        ep.peer = request.getfixturevalue('seaweed')
    if request.param == 's3-moto':
        ep.peer = request.getfixturevalue('moto')
    with ep.exit:
        ep.setup()
        try:
            yield ep
        finally:
            ep.transport.close()


@pytest.fixture
def payload(endpoint, tmp_path):
    """A local file of random bytes, not a multiple of any block size (smaller for serial)."""
    data = os.urandom(endpoint.payload_size)
    return write(tmp_path / 'payload.bin', data), data


@pytest.fixture
def data_file(tmp_path):
    """A local file of 200,003 random bytes: (path, data)."""
    data = os.urandom(200003)
    return write(tmp_path / 'data.bin', data), data

