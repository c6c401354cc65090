"""A real HTTP(S) receiver for tests, and a test CA.

Usage::

    with HttpPeer(root=tmp_path / 'http') as peer:       # or tls=make_test_pki(dir)
        url = peer.url + '/upload/{site}/{job}/{name}'
        ...                                               # upload with POST multipart or PUT
        peer.read('file.csv')                             # bytes stored under that name
        peer.uploads                                      # every completed upload, in order
        peer.requests                                     # every request: method, path, headers
        peer.received                                     # bytes of every request read (line,
                                                          # headers, body), all connections
        peer.behave('status', status=503, retry_after='7')   # switch behaviour

Behaviours (``peer.behave(mode, **kw)``): ``accept`` (store, answer 201), ``status``
(read the body, answer ``status`` with ``body`` and optional ``retry_after``, store
nothing), ``hang`` (read the body, never answer until the peer stops), ``slow`` (store,
answer after ``delay`` seconds), ``reset`` (read ``after`` bytes of the body then reset
the connection); ``times=N`` limits a behaviour to the next N uploads.
Hostile answers, after storing the upload: ``drip`` (``where='status'``: a status line
that never completes, one byte every ``interval`` s; ``where='body'``: a complete
``status`` (200) and headers, then a body of one byte every ``interval`` s), ``giant``
(``status`` (200) with a body of ``size`` bytes (3 GB) written as fast as the client
reads: ``peer.sent`` counts what went out).
``auth=(user, password)`` makes it answer 401 to other credentials.

Stored name: the multipart part's filename, else the last segment of the URL path; the
``Idempotency-Key`` header is recorded too (``peer.by_key``).  Bodies are streamed to
disk under ``root``: 100 MB uploads do not load the memory.  The server listens on
127.0.0.1, port 0 (read ``peer.port``); threads end when the context exits.
"""

import base64
import datetime
import http.server
import os
import re
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections import namedtuple

Upload = namedtuple('Upload', 'method path name field key headers size file')
Request = namedtuple('Request', 'method path headers')
Pki = namedtuple('Pki', 'ca cert key other_ca')

CHUNK = 1024 * 1024


class HttpPeer:
    """Threaded HTTP(S) upload receiver on 127.0.0.1 (a context manager)."""

    def __init__(self, root, tls=None, auth=None):
        self.root = os.fspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.tls = tls
        self.auth = auth
        self.mode, self.params = 'accept', {}
        self.uploads, self.requests, self.by_name, self.by_key = [], [], {}, {}
        self.sent = 0
        self.received = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = self.thread = None
        self._seq = 0

    # -- control -------------------------------------------------------------------
    def behave(self, mode, **params):
        """Switch behaviour: accept | status | hang | slow | reset (see module doc).

        ``times=N``: only for the next N uploads, then back to ``accept``.
        """
        assert mode in ('accept', 'status', 'hang', 'slow', 'reset', 'drip', 'giant'), mode
        with self.lock:
            self.mode, self.params = mode, dict(params)

    def _take_mode(self):
        with self.lock:
            mode, params = self.mode, dict(self.params)
            if 'times' in self.params:
                self.params['times'] -= 1
                if self.params['times'] <= 0:
                    self.mode, self.params = 'accept', {}
            return mode, params

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return '%s://127.0.0.1:%d' % ('https' if self.tls else 'http', self.port)

    def read(self, name):
        """The bytes last stored under ``name``, or None."""
        with self.lock:
            up = self.by_name.get(name)
        if up is None:
            return None
        with open(up.file, 'rb') as f:
            return f.read()

    def __enter__(self):
        peer = self

        class Handler(_Handler):
            pass
        Handler.peer = peer
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.tls.cert, self.tls.key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.server.handle_error = lambda request, address: None   # failed handshakes...
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def _store(self, up):
        with self.lock:
            self.uploads.append(up)
            self.by_name[up.name] = up
            if up.key:
                self.by_key[up.key] = up

    def _spool(self):
        with self.lock:
            self._seq += 1
            return os.path.join(self.root, '.body-%d' % self._seq)


class _Counted:
    """The request stream, counting the bytes the handler reads (``peer.received``)."""

    def __init__(self, raw, peer):
        self._raw, self._peer = raw, peer

    def _count(self, data):
        with self._peer.lock:
            self._peer.received += len(data)
        return data

    def read(self, *args):
        return self._count(self._raw.read(*args))

    def readline(self, *args):
        return self._count(self._raw.readline(*args))

    def __getattr__(self, name):
        return getattr(self._raw, name)


class _Handler(http.server.BaseHTTPRequestHandler):
    peer = None
    timeout = 30
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True      # no 40 ms delayed-ACK stall per request

    def log_message(self, *args):  # keep test output quiet
        pass

    def setup(self):
        super().setup()
        self.rfile = _Counted(self.rfile, self.peer)

    def _answer(self, status, body=b'', headers=()):
        if isinstance(body, str):
            body = body.encode('utf-8')
        self.send_response(status)
        if self.headers.get('Connection', '').lower() == 'close':
            self.send_header('Connection', 'close')
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _authorized(self):
        if not self.peer.auth:
            return True
        want = 'Basic ' + base64.b64encode(('%s:%s' % self.peer.auth).encode()).decode()
        return self.headers.get('Authorization') == want

    def _body_chunks(self, limit=None):
        """Yield the request body (Content-Length or chunked), at most ``limit`` bytes."""
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            while True:
                size = int(self.rfile.readline().split(b';')[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return
                yield from self._read_exactly(size)
                self.rfile.readline()
        left = int(self.headers.get('Content-Length') or 0)
        if limit is not None:
            left = min(left, limit)
        yield from self._read_exactly(left)

    def _read_exactly(self, left):
        """Yield exactly ``left`` bytes of the body, in chunks; ConnectionError if cut."""
        while left:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ConnectionError('body cut')
            left -= len(data)
            yield data

    def do_OPTIONS(self):
        self._record()
        mode, params = self.peer.mode, self.peer.params
        if not self._authorized():
            return self._answer(401, 'unauthorized', [('WWW-Authenticate', 'Basic')])
        if mode == 'status':
            return self._status(params)
        self._answer(204, b'', [('Allow', 'OPTIONS, POST, PUT')])

    def do_POST(self):
        self._upload()

    def do_PUT(self):
        self._upload()

    def _record(self):
        with self.peer.lock:
            self.peer.requests.append(Request(self.command, self.path, dict(self.headers)))

    def _status(self, params):
        headers = []
        if params.get('retry_after') is not None:
            headers.append(('Retry-After', str(params['retry_after'])))
        self._answer(params.get('status', 500), params.get('body', 'refused'), headers)

    def _upload(self):
        self._record()
        mode, params = self.peer._take_mode()
        if mode == 'reset':
            for _ in self._body_chunks(limit=params.get('after', 1024)):
                pass
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack('ii', 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.connection.close()   # last reference: the kernel sends RST
            return
        spool = self.peer._spool()
        with open(spool, 'wb') as f:
            for data in self._body_chunks():
                f.write(data)
        if not self._authorized():
            os.unlink(spool)
            return self._answer(401, 'unauthorized: bad credentials',
                                [('WWW-Authenticate', 'Basic realm="test"')])
        if mode == 'status':
            os.unlink(spool)
            return self._status(params)
        if mode == 'hang':
            os.unlink(spool)
            self.peer.stopping.wait(params.get('delay', 60))
            self.close_connection = True
            return
        path = urllib.parse.urlsplit(self.path).path
        name = urllib.parse.unquote(path.rstrip('/').rsplit('/', 1)[-1])
        field = None
        ctype = self.headers.get('Content-Type', '')
        if ctype.startswith('multipart/form-data'):
            field, filename, spool = _extract_part(spool, ctype)
            name = filename or name
        final = os.path.join(self.peer.root, '%s.%d' % (name, time.monotonic_ns()))
        os.replace(spool, final)
        up = Upload(self.command, self.path, name, field, self.headers.get('Idempotency-Key'),
                    dict(self.headers), os.path.getsize(final), final)
        if mode == 'slow':
            self.peer.stopping.wait(params.get('delay', 1.0))
        self.peer._store(up)
        if mode in ('drip', 'giant'):
            return self._hostile(mode, params)
        self._answer(201, '{"stored": "%s"}' % name, [('Content-Type', 'application/json')])

    def _hostile(self, mode, params):
        """Answer ``drip`` or ``giant`` (see the module doc) until the client goes away."""
        self.close_connection = True
        status = params.get('status', 200)
        head = 'HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n' % (
            status, self.responses.get(status, ('?',))[0])
        size = params.get('size', 3 * 1024 ** 3)
        try:
            if mode == 'giant':
                self.wfile.write(('%sContent-Length: %d\r\n\r\n' % (head, size)).encode())
                block = b'x' * CHUNK
                while size > 0 and not self.peer.stopping.is_set():
                    n = self.connection.send(memoryview(block)[:min(CHUNK, size)])
                    size -= n
                    with self.peer.lock:
                        self.peer.sent += n
                return
            interval = params.get('interval', 1.0)
            if params.get('where', 'status') == 'status':
                drip = head.split('\r\n')[0].encode() + b' and more'
            else:
                self.wfile.write(('%sContent-Length: 1000000\r\n\r\n' % head).encode())
                drip = b'x' * 1000000
            for i in range(len(drip)):
                self.wfile.write(drip[i:i + 1])
                if self.peer.stopping.wait(interval):
                    return
        except OSError:        # the client went away: what a deadline does
            return


def _extract_part(spool, ctype):
    """Cut the first file part out of a spooled multipart body: (field, filename, path)."""
    boundary = re.search(r'boundary="?([^";]+)"?', ctype).group(1).encode()
    delim = b'\r\n--' + boundary
    with open(spool, 'rb') as f:
        head = f.read(64 * 1024)
        start = head.index(b'--' + boundary)
        hdr_end = head.index(b'\r\n\r\n', start) + 4
        headers = head[start:hdr_end].decode('utf-8', 'replace')
        field = re.search(r'name="([^"]*)"', headers)
        filename = re.search(r'filename="([^"]*)"', headers)
        size = os.fstat(f.fileno()).st_size
        tail_at = max(0, size - 64 * 1024)
        f.seek(tail_at)
        tail = f.read()
        end = tail_at + tail.rindex(delim)
        part = spool + '.part'
        with open(part, 'wb') as out:
            f.seek(hdr_end)
            left = end - hdr_end
            while left:
                data = f.read(min(CHUNK, left))
                out.write(data)
                left -= len(data)
    os.unlink(spool)
    return (field.group(1) if field else None,
            filename.group(1) if filename else None, part)


def make_test_pki(directory, hostnames=('127.0.0.1', 'localhost')):
    """A test CA, a server certificate for ``hostnames`` signed by it, and another CA.

    Returns ``Pki(ca, cert, key, other_ca)`` (paths of PEM files in ``directory``).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.utcnow()

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), True)
                .sign(key, hashes.SHA256()))
        return key, cert

    def write(path, cert):
        with open(path, 'wb') as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key, ca_cert = ca('cbx-export test CA')
    _, other_cert = ca('cbx-export other CA')
    key = ec.generate_private_key(ec.SECP256R1())
    alt = []
    for h in hostnames:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder().subject_name(name(hostnames[0]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(alt), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .sign(ca_key, hashes.SHA256()))
    key_path = os.path.join(directory, 'server.key')
    with open(key_path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    return Pki(write(os.path.join(directory, 'ca.pem'), ca_cert),
               write(os.path.join(directory, 'server.pem'), cert), key_path,
               write(os.path.join(directory, 'other-ca.pem'), other_cert))
