"""``http`` transport: upload with ``requests`` (HTTP or HTTPS).

- ``POST`` (default) sends a ``multipart/form-data`` body with the file in the form field
  ``field`` (default ``file``); ``PUT`` sends the raw file as the body.  Either way the
  body is streamed from the file in chunks with an exact ``Content-Length``: memory stays
  flat whatever the file size.
- ``url`` may contain ``{site}``, ``{job}`` and ``{name}`` (percent-encoded when filled).
- ``username``/``password`` -> Basic auth (a warning is logged over plain ``http://``).
- ``verify``: True (default, system CAs), False, or the path of a CA bundle.
- ``connect_timeout`` (default 10 s) and ``timeout`` (default 60 s) bound each socket
  operation, and every request as a whole (connect + send + answer, :mod:`.deadline`):
  it ends within ``connect_timeout + timeout`` plus ``timeout`` per started 256 KiB of
  body (:meth:`HttpTransport.bound`; ``check`` prints it).  A receiver that drips its
  answer or reads the body a byte at a time fails (temporary) at that bound.
- The answer is streamed: a 2xx status line with its headers is the delivery, its body is
  never read (a 3 GB or endless body changes nothing); of any other answer at most
  64 KiB are read, for the message.  Retry-After is passed on (``retry_after``) and
  reported as what the server asked, not as a promise: the caller decides when to retry.
- ``headers``: extra headers; ``key`` of :meth:`send` -> ``Idempotency-Key``.
- Odd names (control characters, bytes that are not UTF-8) are encoded (``%NN``) in the
  URL, the multipart ``filename`` and ``Idempotency-Key`` (:mod:`.filename`).
- Redirects are not followed (a streamed body cannot be replayed): fix the URL instead.
- One connection per request (``Connection: close``): no stale kept-alive connection.

Classification: 2xx delivered; refused, DNS, timeouts, resets, 408, 429, 5xx temporary
(``Retry-After`` -> ``retry_after``); 400, 401, 403, 404, 405, 410, 413, 415, any other
4xx or 3xx and TLS verification failures permanent.
"""

import logging
import math
import os
import uuid
from urllib.parse import quote, urlsplit

from pycstbox.export.redact import secret_name
from pycstbox.export.transports import Transport
from pycstbox.export.transports.deadline import Deadline
from pycstbox.export.transports.httpreply import (  # noqa: F401  (parse_retry_after: API)
    excerpt as _excerpt, host as _host, parse_retry_after, reason as _reason,
    verify_failure as _verify_failure)
from pycstbox.export.transports.filename import header_value, printable, wire_name

log = logging.getLogger(__name__)

CHUNK = 256 * 1024

_TEMPORARY_STATUS = {408, 425, 429}
#: refusals of the target itself (credentials, rights, url, method): the target is held
_TARGET_STATUS = (401, 403, 404, 405, 407, 410)
_HINTS = {
    400: 'the server rejected the request as malformed: check url, method and field',
    401: 'authentication failed: check username and password_file',
    403: 'access denied: check the account rights on the server',
    404: 'URL not found: check url ({site}/{job}/{name} placeholders)',
    405: 'method not allowed: check method (POST or PUT) and url',
    410: 'URL no longer exists: check url with the receiver\'s administrator',
    413: 'file too large for the server: use compression or a shorter period',
    415: 'file type refused: check format, compress and field',
}


class _Body:
    """An iterable body of known length: multipart preamble, the file in chunks, epilogue."""

    def __init__(self, fileobj, size, head=b'', tail=b''):
        self.fileobj, self.size, self.head, self.tail = fileobj, size, head, tail

    def __len__(self):
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self):
        if self.head:
            yield self.head
        left = self.size
        while left > 0:
            chunk = self.fileobj.read(min(CHUNK, left))
            if not chunk:
                raise OSError('local file shrank while being sent')
            left -= len(chunk)
            yield chunk
        if self.tail:
            yield self.tail


def _multipart(field, filename):
    boundary = 'cbx-export-%s' % uuid.uuid4().hex
    quoted = wire_name(filename).replace('\\', '\\\\').replace('"', '\\"')
    head = ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n'
            % (boundary, field, quoted)).encode('utf-8')
    tail = ('\r\n--%s--\r\n' % boundary).encode('ascii')
    return 'multipart/form-data; boundary=%s' % boundary, head, tail


class HttpTransport(Transport):
    """Upload files with HTTP POST (multipart) or PUT (see the module docstring)."""

    type = 'http'

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.url = str(self.opt('url', ''))
        self.method = str(self.opt('method', 'POST')).upper()
        self.field = str(self.opt('field', 'file'))
        self.username = self.opt('username', '')
        verify = self.options.get('verify', True)
        self.verify = True if verify is None or verify == '' else verify
        self.timeout = float(self.opt('timeout', 60))
        self.connect_timeout = float(self.opt('connect_timeout', 10))
        self.headers = dict(self.opt('headers', {}) or {})
        if self.username and urlsplit(self.url).scheme == 'http':
            log.warning('target %s: Basic auth over plain http sends the password '
                        'unencrypted: use an https:// url', self.name)

    def _url(self, job='', name=''):
        url = self.url
        for key, value in (('{site}', self.site), ('{job}', job), ('{name}', name)):
            url = url.replace(key, quote(value or '', safe='', errors='surrogateescape'))
        return url

    def bound(self, size=0):
        """Seconds within which a request with a body of ``size`` bytes ends, whatever
        the receiver does: connect_timeout + timeout, plus timeout per started 256 KiB."""
        return self.connect_timeout + self.timeout * (1 + math.ceil(size / CHUNK))

    def limits(self):
        """The bound of one request, for ``check``."""
        return ('each request ends within %g s + %g s per 256 KiB sent (connect_timeout + '
                'timeout, + timeout per 256 KiB)'
                % (self.connect_timeout + self.timeout, self.timeout))

    def scrub(self, text):
        """Also hide the values of secret-looking headers (Authorization, X-Api-Key...)."""
        for name, value in self.headers.items():
            if value and secret_name(name):
                text = str(text).replace(value, '***')
        return Transport.scrub(self, text)

    def _exchange(self, method, url, what, fails, size=0, **kwargs):
        """One request within :meth:`bound`; the answer classified when ``fails(status)``.

        The body of an answer that does not fail is never read.  :returns: the status
        """
        requests = self.require('requests', 'python3-requests')
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise self.permanent('CA bundle %s (verify) does not exist: fix verify in the '
                                 'target configuration' % self.verify, scope='target')
        if self.username:
            kwargs['auth'] = (self.username, self.options.get('password') or '')
        # one connection per request (a session each time): a kept-alive connection closed
        # by the server while the next file was being prepared would fail the next upload
        kwargs['headers'] = dict(kwargs.get('headers') or {}, Connection='close')
        bound = self.bound(size)
        with Deadline(bound) as deadline, requests.Session() as session:
            deadline.mount(session)
            try:
                response = session.request(
                    method, url, verify=self.verify, allow_redirects=False, stream=True,
                    timeout=(self.connect_timeout, self.timeout), **kwargs)
            except Exception as exc:
                raise self._failure(exc, url, deadline) from exc
            try:
                status = response.status_code
                if fails(status):
                    self._classify(response, what)
                return status
            finally:
                response.close()

    def _failure(self, exc, url, deadline):
        """The TemporaryError / PermanentError for an exception of ``session.request``."""
        requests = self.require('requests', 'python3-requests')
        if deadline.expired:
            return self.temporary(
                '%s: no complete answer within %g s, the bound of this request (connect_timeout'
                ' + timeout, + timeout per 256 KiB sent): the receiver is too slow'
                % (_host(url), deadline.seconds))
        if isinstance(exc, requests.exceptions.SSLError):
            if _verify_failure(exc):
                return self.permanent(
                    'TLS certificate of %s could not be verified (%s): install the '
                    'server\'s CA and set verify = "/path/to/ca.pem", or fix the host name '
                    'in url' % (_host(url), _reason(exc)), scope='target')
            return self.temporary('TLS error with %s: %s' % (_host(url), _reason(exc)))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return self.temporary('no connection to %s within %g s: check the network '
                                  '(will retry)' % (_host(url), self.connect_timeout))
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return self.temporary('%s did not answer within %g s (will retry)'
                                  % (_host(url), self.timeout))
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema, requests.exceptions.URLRequired)):
            return self.permanent('invalid url %r: fix url in the target configuration'
                                  % self.url, scope='target')
        if isinstance(exc, (requests.exceptions.InvalidHeader, UnicodeError)):
            return self.permanent('the request to %s cannot be made: %s: check url, headers, '
                                  'username and password' % (_host(url), _reason(exc)))
        if isinstance(exc, requests.exceptions.RequestException):
            return self.temporary('connection to %s failed: %s (will retry)'
                                  % (_host(url), _reason(exc)))
        if isinstance(exc, OSError):
            return self.temporary('upload to %s failed: %s' % (_host(url), exc))
        raise exc

    def _classify(self, response, what):
        status = response.status_code
        if 200 <= status < 300:
            return
        excerpt = _excerpt(response)
        detail = '%s: HTTP %d %s%s' % (what, status, response.reason or '',
                                       (' (%s)' % excerpt) if excerpt else '')
        if status in _TEMPORARY_STATUS or status >= 500 or status < 200:
            asked = response.headers.get('Retry-After')
            retry_after = parse_retry_after(asked)
            hint = (' (temporary; the server asked to wait %g s before retrying)' % retry_after
                    if retry_after else
                    ' (temporary; the server asked to wait, Retry-After unusable: %r)'
                    % printable(asked)[:60] if asked and asked.strip() else ' (temporary)')
            raise self.temporary(detail + hint, retry_after=retry_after)
        if 300 <= status < 400:
            raise self.permanent('%s: redirected to %s: set url to the final address'
                                 % (detail, response.headers.get('Location', '?')),
                                 scope='target')
        raise self.permanent('%s: %s' % (detail, _HINTS.get(
            status, 'the server refused the upload: check the target configuration')),
            scope='target' if status in _TARGET_STATUS else 'file')

    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Upload ``path`` as ``name``; return once the server answered 2xx."""
        url = self._url(job, name)
        with self.open_source(path) as src:
            size = os.fstat(src.fileno()).st_size
            headers = dict(self.headers)
            if key:
                headers['Idempotency-Key'] = header_value(key)
            if self.method == 'PUT':
                headers['Content-Type'] = 'application/octet-stream'
                body = _Body(src, size)
            else:
                headers['Content-Type'], head, tail = _multipart(self.field, name)
                body = _Body(src, size, head, tail)
            headers['Content-Length'] = str(len(body))
            status = self._exchange(
                self.method, url, 'upload of %s to %s' % (printable(name), _host(url)),
                lambda status: not 200 <= status < 300, len(body), data=body, headers=headers)
        log.debug('target %s: %s uploaded (HTTP %d)', self.name, printable(name), status)

    def check(self):
        """OPTIONS on the URL: reachable, TLS valid, credentials not refused.

        401/403/404/410 and temporary statuses fail; other answers (405, 501...) pass,
        as many upload endpoints do not implement OPTIONS.
        """
        url = self._url('check', 'check')
        self._exchange('OPTIONS', url, 'check of %s' % _host(url), lambda status: (
            status in (401, 403, 404, 410) or status in _TEMPORARY_STATUS or (
                status >= 500 and status != 501)))

    def close(self):
        """Nothing to release: every request has its own connection."""


TRANSPORT = HttpTransport
