"""What an HTTP server or the ``requests`` library answered, made fit for a message.

``parse_retry_after`` (seconds from a ``Retry-After`` header), ``excerpt`` (at most
:data:`EXCERPT_BYTES` of an answer's body, on one line), ``host`` (scheme://host:port,
never the user info nor the path), ``verify_failure`` (is a TLS error a certificate
verification failure?) and ``reason`` (the innermost useful reason of an exception).
Used by the ``http`` transport; standard library only.
"""

import datetime
import email.utils
import re
import ssl
import time
import zlib
from urllib.parse import urlsplit

EXCERPT = 200
#: at most this much of an error answer's body is read (for the message)
EXCERPT_BYTES = 64 * 1024
#: the longest wait a server may ask for (seconds): a date far ahead, or one this platform
#: cannot turn into a time (past 2038 with a 32-bit time_t, year 9999), waits this long
RETRY_AFTER_MAX = 3600.0


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delay or HTTP date), at most
    :data:`RETRY_AFTER_MAX`; None if unusable (no date in it). Never raises: the date is
    compared as a date (``datetime.timestamp()`` overflows on a 32-bit ``time_t``)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        if when.tzinfo is None:  # '-0000': UTC (RFC 5322)
            when = when.replace(tzinfo=datetime.timezone.utc)
        now = time.time() if now is None else now
        wait = (when - datetime.datetime.fromtimestamp(now, datetime.timezone.utc)).total_seconds()
    except (OverflowError, ValueError, OSError):
        return RETRY_AFTER_MAX
    return min(max(0.0, wait), RETRY_AFTER_MAX)


def excerpt(response):
    """The start of the answer's body, on one line: at most EXCERPT_BYTES are read."""
    data = b''
    try:
        while len(data) < EXCERPT_BYTES:
            chunk = response.raw.read(min(16384, EXCERPT_BYTES - len(data)),
                                      decode_content=False)
            if not chunk:
                break
            data += chunk
    except Exception:  # pylint: disable=broad-except  # cut, or the deadline: what we have
        pass
    if response.headers.get('Content-Encoding', '').lower() in ('gzip', 'x-gzip', 'deflate'):
        try:
            data = zlib.decompressobj(47).decompress(data, EXCERPT_BYTES)
        except zlib.error:
            data = b''
    text = ' '.join(data[:EXCERPT * 4].decode('utf-8', 'replace').split())
    return text[:EXCERPT] + ('...' if len(text) > EXCERPT else '')


def host(url):
    """scheme://host:port of ``url`` (never the user info nor the path)."""
    parts = urlsplit(url)
    try:
        port = ':%d' % parts.port if parts.port else ''
    except ValueError:
        port = ''
    return '%s://%s%s' % (parts.scheme, parts.hostname or '?', port)


def verify_failure(exc):
    """True when a TLS error is a certificate (chain or host name) verification failure."""
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or type(e).__name__ == 'CertificateError':
            return True
        todo += [e.__cause__, e.__context__, getattr(e, 'reason', None)] + list(e.args)
    return 'CERTIFICATE_VERIFY_FAILED' in str(exc)


def reason(exc):
    """The innermost useful reason of a requests/urllib3 error, on one line."""
    inner = exc
    while True:
        nxt = getattr(inner, 'reason', None) or (inner.args[0] if inner.args else None)
        if isinstance(nxt, BaseException) and nxt is not inner:
            inner = nxt
            continue
        break
    # '<...WatchedConnection object at 0x...>: ' (a class made in a function has '<locals>')
    text = re.sub(r'<(?:[^<>]|<locals>)* object at 0x[0-9a-f]+>:?\s*', '', ' '.join(str(inner).split()))
    return text[:200]
