"""Bytes an upload puts on the network: what a target's byte budget counts (DESIGN section 6).

``wire_bytes(target, size, name) -> int`` is an estimate made *before* the upload, from
the file's size and what the transport adds, always rounded up (a budget must never be
exceeded because of an optimistic guess):

- the body: the file, plus the multipart form framing of an HTTP POST;
- the request: request line and headers (URL, file name twice, the configured headers,
  SigV4 headers of s3, x-amz-meta-*...), FTP commands, SSH channel framing;
- TLS (https://, ftps, and SSH which is always encrypted): +5 % of the above (records,
  padding, MACs) and ``HANDSHAKE`` bytes per connection (hello messages, key exchange and
  the server's certificate chain, both directions counted); one connection per upload
  (the http transport closes it after each request; for the others this over-counts);
- TCP/IP: 52 bytes of headers per 1400-byte segment (3.7 %) and ``TCP_CONNECTION`` bytes
  per connection (handshake, teardown, acknowledgements of the answer).

A failed attempt is not counted (most fail before the body: refused, name resolution,
connect timeout).  ``dir`` counts the file's size only; ``serial`` the XMODEM/YMODEM
blocks (1024 bytes + 5 of framing each, plus the header block).
"""

import math
from urllib.parse import quote

#: bytes of a TLS (or SSH) handshake, both directions: hellos, key exchange, certificates
HANDSHAKE = 6 * 1024
#: TLS record / SSH packet overhead, as a fraction of what is sent
TLS_OVERHEAD = 0.05
#: TCP/IP: header bytes per segment of ``SEGMENT`` payload bytes, and per connection
TCP_HEADER, SEGMENT, TCP_CONNECTION = 52, 1400, 512
#: request line and the headers every HTTP request carries (Host, User-Agent, Accept...,
#: Authorization, Content-Type, Content-Length, Idempotency-Key), without URL and names
#: (python-requests sends ~430 bytes of them)
HTTP_REQUEST = 512
#: a SigV4-signed S3 request (Authorization, x-amz-date, x-amz-content-sha256, checksums,
#: Content-Type, x-amz-meta-*), without the key
S3_REQUEST = 2048
#: FTP control commands of one upload (USER, PASS, TYPE, EPSV/PASV, CWD, STOR) and replies
FTP_COMMANDS = 1024
#: SFTP: SSH channel setup and authentication, then per 32 KiB write request
SFTP_SESSION, SFTP_WRITE, SFTP_CHUNK = 2048, 64, 32768


def _tcp(payload, connections=1):
    return payload + math.ceil(payload / SEGMENT) * TCP_HEADER + connections * TCP_CONNECTION


def _tls(payload, connections=1):
    return math.ceil(payload * (1 + TLS_OVERHEAD)) + connections * HANDSHAKE


def _headers_size(headers):
    return sum(len(str(k)) + len(str(v)) + 4 for k, v in (headers or {}).items())


def wire_bytes(target, size, name):
    """Bytes that uploading a ``size``-byte file named ``name`` to ``target`` costs (rounded up).

    :param target: a ``TargetConfig`` (its ``type`` and ``options``)
    """
    o, kind = target.options, target.type
    name_len = len(quote(name, safe=''))              # percent-encoded (the longest form)
    if kind == 'dir':
        return size
    if kind == 'serial':
        return (math.ceil(size / 1024) + 2) * 1029
    if kind == 'http':
        url = str(o.get('url', ''))
        payload = (size + HTTP_REQUEST + len(url.encode('utf-8')) + 3 * name_len
                   + _headers_size(o.get('headers')))
        if o.get('method', 'POST') == 'POST':
            payload += 192 + len(str(o.get('field', ''))) + name_len   # multipart framing
        tls = url.lower().startswith('https://')
        return _tcp(_tls(payload) if tls else payload)
    if kind == 's3':
        requests = 1
        threshold, part = o.get('multipart_threshold') or 0, o.get('part_size') or 0
        if isinstance(threshold, int) and isinstance(part, int) and part > 0 \
                and size >= threshold > 0:
            parts = math.ceil(size / part)
            requests = parts + 2                         # create, the parts, complete
            size += parts * 160                          # the part list of "complete"
        key_len = len(str(o.get('prefix', '')).encode('utf-8')) + name_len + 128
        payload = size + requests * (S3_REQUEST + 2 * key_len)
        tls = str(o.get('endpoint', '')).lower().startswith('https://')
        return _tcp(_tls(payload) if tls else payload, requests if tls else 1)
    if kind == 'ftp':
        payload = size + FTP_COMMANDS + 2 * name_len
        if o.get('tls'):
            return _tcp(_tls(payload, 2), 2)             # control and data connections
        return _tcp(payload, 2)
    if kind == 'sftp':
        payload = size + SFTP_SESSION + math.ceil(size / SFTP_CHUNK) * SFTP_WRITE + 2 * name_len
        return _tcp(_tls(payload))
    return _tcp(_tls(size + S3_REQUEST))              # an unknown type: assume the worst
