"""A small S3 store that can lie in its listings (ListObjectsV2 and HEAD only), on loopback.

Usage::

    with FakeS3({key: (size, checksum)}, lie='omit') as store:
        store.endpoint                    # 'http://127.0.0.1:PORT' (bucket: any name)
        store.requests                    # [(method, path, query)] seen

It holds no bytes, only each object's size and S3 checksum, answers ``HEAD /bucket/key``
truthfully, and pages ``GET /bucket?list-type=2`` (``max-keys``, ``continuation-token``
= the index of the next key) with one lie:

- ``''``: the truth;
- ``omit``: every 7th key is left out of the listing (HEAD still finds it);
- ``duplicate``: every 5th key is listed twice;
- ``reorder``: each page's keys are listed in reverse order;
- ``truncate``: the second page's XML is cut in the middle of an entry;
- ``unclosed``: the last page lacks its closing ``</ListBucketResult>``;
- ``repeat-token``: the second page gives the first page's continuation token again;
- ``endless``: every page says it is truncated, with a new token each time;
- ``no-token``: the first page says it is truncated but gives no token;
- ``keycount``: each page's ``KeyCount`` is one more than the keys it holds;
- ``huge``: the first page is padded past 4 MiB;
- ``html``: the listing is a proxy's HTML error page answered with 200.

``list_checksums=False``: the listing gives sizes only (as AWS and SeaweedFS do); the
checksums are then known from HEAD only.  Signatures are not checked.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

LIES = ('', 'omit', 'duplicate', 'reorder', 'truncate', 'unclosed', 'repeat-token', 'endless',
        'no-token', 'keycount', 'huge', 'html')


class FakeS3:
    """See the module docstring (a context manager)."""

    def __init__(self, objects, lie='', list_checksums=True):
        assert lie in LIES, lie
        self.list_checksums = list_checksums       # False: sizes only (as AWS, SeaweedFS)
        self.objects = dict(objects)
        self.keys = sorted(self.objects)
        self.lie = lie
        self.requests = []
        self.server = None

    def load(self, objects):
        """Hold these objects from now on: ``{key: (size, checksum)}``."""
        self.objects = dict(objects)
        self.keys = sorted(self.objects)

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def __enter__(self):
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _answer(self, status, body=b'', headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.send_header('Connection', 'close')
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(body)

            def do_HEAD(self):
                u = urlsplit(self.path)
                store.requests.append(('HEAD', u.path, u.query))
                key = unquote(u.path).split('/', 2)[2] if u.path.count('/') >= 2 else ''
                if key not in store.objects:
                    return self._answer(404)
                size, checksum = store.objects[key]
                self.send_response(200)
                self.send_header('Content-Length', str(size))
                if checksum:
                    self.send_header('x-amz-checksum-sha256', checksum)
                self.send_header('Connection', 'close')
                self.end_headers()

            def do_GET(self):
                u = urlsplit(self.path)
                store.requests.append(('GET', u.path, u.query))
                q = dict(parse_qsl(u.query, keep_blank_values=True))
                if q.get('list-type') != '2':
                    return self._answer(404)
                body = store.page(q)
                self._answer(200, body, [('Content-Type', 'application/xml')])

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- one listing page --------------------------------------------------------------
    def page(self, q):
        lie = self.lie
        if lie == 'html':
            return b'<html><body><h1>Gateway busy</h1></body></html>'
        prefix = q.get('prefix', '')
        keys = [k for k in self.keys if k.startswith(prefix)]
        size = int(q.get('max-keys') or 1000)
        token = q.get('continuation-token', '')
        start = int(token.split('-')[-1]) if token else 0
        number = start // size + 1
        chunk = keys[start:start + size]
        more = start + size < len(keys)
        listed = []
        for i, k in enumerate(chunk, start):
            if lie == 'omit' and i % 7 == 3:
                continue
            listed.append(k)
            if lie == 'duplicate' and i % 5 == 2:
                listed.append(k)
        if lie == 'reorder':
            listed.reverse()
        nxt = 'tok-%d' % (start + size)
        if lie == 'repeat-token' and number >= 2:
            nxt = 'tok-%d' % size
        if lie == 'endless':
            more, nxt = True, 'tok-%d' % (start + size if start + size < len(keys) else start)
            nxt = '%s-%d' % (nxt, len(self.requests))
        xml = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
               'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>%s'
               '</Prefix><MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>'
               % (escape(prefix), size, 'true' if more else 'false')]
        for k in listed:
            s, c = self.objects[k]
            xml.append('<Contents><Key>%s</Key><Size>%d</Size>%s<StorageClass>STANDARD'
                       '</StorageClass></Contents>'
                       % (escape(k), s, '<ChecksumSHA256>%s</ChecksumSHA256>' % c
                          if c and self.list_checksums else ''))
        if lie == 'huge' and number == 1:
            xml.append('<!-- %s -->' % ('x' * (5 * 1024 * 1024)))
        count = len(listed) + (1 if lie == 'keycount' else 0)
        xml.append('<KeyCount>%d</KeyCount>' % count)
        if more and lie != 'no-token':
            xml.append('<NextContinuationToken>%s</NextContinuationToken>' % nxt)
        if not (lie == 'unclosed' and not more):
            xml.append('</ListBucketResult>')
        body = ''.join(xml).encode()
        if lie == 'truncate' and number == 2:
            body = body[:len(body) // 2]
        return body
