"""moto in server mode: a second real S3 implementation on loopback.

Usage::

    if moto_bin() is None: pytest.skip(...)
    with moto_server(tmp_path / 'moto') as s3:
        s3.endpoint                       # 'http://127.0.0.1:PORT'
        s3.access_key, s3.secret_key      # any pair is accepted; these are signed with
        s3.make_bucket('bkt')             # signed PUT /bkt
        s3.request('GET', '/bkt/key')     # (status, headers, body bytes)

``moto_server`` comes from PyPI's ``moto[server]`` in a venv outside the checkout,
created by ``.ci/install-deps`` (``$CBX_MOTO`` names another binary).  Ready when a
bucket PUT succeeds (~1-2 s); stopped with SIGKILL.  Where it differs from SeaweedFS
(TESTBED.md): a multipart object's composite checksum has no ``-N`` suffix; a PUT's
``x-amz-checksum-sha256`` is verified only beside ``x-amz-sdk-checksum-algorithm``;
it checks no signature and no permission.
"""

import contextlib
import hashlib
import http.client
import os
import signal
import subprocess
import time
from urllib.parse import urlsplit

from tests.peers.sshd import free_port

MOTO = os.environ.get('CBX_MOTO', '/opt/cstbox-test/moto/bin/moto_server')
REGION = 'us-east-1'
ACCESS_KEY = 'MOTOKEY0000000000001'
SECRET_KEY = 'moto secret/with+chars=000000000000000'


def moto_bin():
    """The moto_server path, or None when it is not installed."""
    return MOTO if os.access(MOTO, os.X_OK) else None


def moto_usable():
    """Why moto cannot run here ('' when it can)."""
    if moto_bin() is None:
        return 'moto not installed (%s): run .ci/install-deps' % MOTO
    return ''


def signed_request(endpoint, access_key, secret_key, method, path, body=b'', headers=None,
                   query=(), region=REGION):
    """A request signed with the package's signer: (status, headers, body bytes)."""
    from pycstbox.export.transports import sigv4
    u = urlsplit(endpoint)
    signed = sigv4.sign_headers(method, path, list(query), dict(headers or {}),
                                hashlib.sha256(body).hexdigest(), host=u.netloc,
                                access_key=access_key, secret_key=secret_key, region=region)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, sigv4.canonical_uri(path) + sigv4.query_string(list(query)),
                     body=body, headers=signed)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


class MotoPeer:
    """One running ``moto_server`` (see :func:`moto_server`)."""

    kind = 'moto'

    def __init__(self, root, port, proc):
        self.root, self.port, self.proc = root, port, proc
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY
        self.identities = {'gw': (ACCESS_KEY, SECRET_KEY)}

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def request(self, method, path, body=b'', headers=None, identity='gw', query=()):
        ak, sk = self.identities[identity]
        return signed_request(self.endpoint, ak, sk, method, path, body, headers, query)

    def make_bucket(self, name):
        status, _, body = self.request('PUT', '/%s' % name)
        if status not in (200, 409):
            raise RuntimeError('cannot create bucket %s: %s %s' % (name, status, body[:200]))

    create_bucket = make_bucket


@contextlib.contextmanager
def moto_server(workdir, timeout=30):
    """Start ``moto_server`` on a free loopback port; yields a :class:`MotoPeer`."""
    binary = moto_bin()
    if binary is None:
        raise RuntimeError(moto_usable())
    root = os.fspath(workdir)
    os.makedirs(root, exist_ok=True)
    port = free_port()
    with open(os.path.join(root, 'moto.log'), 'ab') as log:
        proc = subprocess.Popen([binary, '-H', '127.0.0.1', '-p', str(port)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    peer = MotoPeer(root, port, proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError('moto_server exited with %s (see %s/moto.log)'
                                   % (proc.returncode, root))
            try:
                peer.request('GET', '/')
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('moto_server not ready after %ss (see %s/moto.log)'
                                   % (timeout, root))
            time.sleep(0.1)
        yield peer
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)
