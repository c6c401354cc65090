"""Transports: deliver one local file to a target, registered by config type name.

The contract every transport keeps (:class:`Transport`):

- ``send(path, name, *, job='', key=None, start=None, meta=None)`` delivers the local file ``path``
  under the stable remote name ``name`` and returns only once the receiver confirmed it (HTTP 2xx,
  FTP 226 + rename, SFTP size check + rename, serial ACK of every block, local fsync +
  rename).  Where the receiver has names, the file is written under a temporary name and
  renamed, so that a failed send never leaves a partial file under the final name; a
  second send of the same name replaces the first.  ``key`` is sent as
  ``Idempotency-Key`` where the protocol has such a thing (HTTP).  ``start`` is the aware
  start of the window (None for outbox files: today), for targets whose remote key holds a
  date (s3: ``{date}`` in the configured timezone, ``self.tz``).  It returns None (the
  remote key is ``name``) or a :class:`Delivery` ``(key, checksum)``: the key relative to
  the target root and the checksum the receiver gave (S3, e.g. composite ``"...-N"``).
  ``meta`` (optional, a mapping) describes the window: ``start``, ``end`` (aware), ``events``,
  ``sha256`` (hex of the file); a transport that can store it with the file does (s3:
  ``x-amz-meta-*``), the others ignore it.  Callers pass it only to a ``send`` that takes
  it (:func:`takes_meta`: test doubles and older transports may not).
- ``remote_key(name, *, job='', start=None)`` is the key ``send`` would deliver ``name``
  under, relative to the target root (base: ``name``).
- ``listing(prefix='')`` iterates :class:`RemoteFile` ``(key, size, sha256, checksum)`` of
  what the receiver holds under ``prefix`` (keys relative to the target root, bounded
  memory); ``stat(key)`` gives one :class:`RemoteFile` or None when absent, with its
  checksum where the receiver stores one.  Both raise ``NotImplementedError`` where the
  receiver cannot be listed (http, serial).
- ``check()`` logs in and verifies the destination exists and is writable, without
  sending any data.
- ``close()`` releases connections; transports are also context managers.
- Failures raise only :class:`~pycstbox.export.errors.TemporaryError` (retry later) or
  :class:`~pycstbox.export.errors.PermanentError` (a person must act), with
  ``target=<target name>`` (and ``retry_after`` seconds when the receiver said so),
  translated once with ``raise ... from exc``.  A transport never retries nor sleeps:
  retry policy lives in the job/process.  Every blocking call has a timeout.
- Secrets (passwords, URL credentials, secret-looking query values) never appear in
  logs, in error messages nor in ``repr()``: :meth:`Transport.scrub`.
- Optional libraries (``requests``, ``paramiko``, ``serial``, ``xmodem``) are imported
  lazily inside methods: importing this package is cheap, and a missing library disables
  only its transport, with a :class:`PermanentError` naming the Debian package.

May import: the seed modules (errors, atomic) and network libraries (lazily); never
the configuration loader, the process, the daemon or the command line.

Registry: :func:`names`, :func:`get` (``KeyError`` for an unknown type) and
:func:`create` (``target.type`` -> instance).
"""

import importlib
import logging
from datetime import datetime, timezone
from typing import NamedTuple

from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.redact import redact

log = logging.getLogger(__name__)

#: config type name -> module of this package defining the class ``TRANSPORT``
_MODULES = {
    'dir': 'directory',
    'http': 'http',
    'ftp': 'ftp',
    'sftp': 'sftp',
    'serial': 'serial',
    's3': 's3',
}



class Delivery(NamedTuple):
    """What ``send`` delivered: the key relative to the target root, the receiver's checksum."""
    key: str
    checksum: str = ''


class RemoteFile(NamedTuple):
    """One file the receiver holds: key relative to the target root, size in bytes,
    lowercase hex SHA-256 when known, the receiver's own checksum (S3) when known."""
    key: str
    size: int
    sha256: str = ''
    checksum: str = ''


def takes_meta(transport):
    """Whether ``transport.send`` accepts ``meta=`` (or any keyword)."""
    import inspect
    try:
        params = inspect.signature(transport.send).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == 'meta' or p.kind is p.VAR_KEYWORD for p in params)


TMP_PREFIX = '.'
TMP_SUFFIX = '.tmp'


def temp_name(name):
    """The temporary name under which ``name`` is written before its rename."""
    return '%s%s%s' % (TMP_PREFIX, name, TMP_SUFFIX)


class Transport:
    """Base class of transports (see the module docstring for the contract).

    :param target: a ``TargetConfig`` (``name``, ``type``, ``options`` mapping)
    :param str site: the site name, for URL templates
    :param tz: the configured timezone (a ``tzinfo``; None = UTC), for dates in remote keys
    """

    type = ''
    #: option keys whose values are secrets: never logged nor shown
    secret_keys = ('password',)

    def __init__(self, target, site='', tz=None):
        self.target = target
        self.name = target.name
        self.options = dict(target.options or {})
        self.site = site or ''
        self.tz = tz or timezone.utc

    # -- the contract --------------------------------------------------------------
    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Deliver the file ``path`` as ``name``; return once the receiver confirmed.

        :returns: None (delivered as ``name``) or a :class:`Delivery`
        """
        raise NotImplementedError

    def remote_key(self, name, *, job='', start=None):
        """The key ``send`` delivers ``name`` under, relative to the target root."""
        return name

    def listing(self, prefix=''):
        """Iterate :class:`RemoteFile` of what the receiver holds under ``prefix``."""
        raise NotImplementedError('target type %s cannot be listed' % self.type)

    def stat(self, key):
        """The :class:`RemoteFile` stored as ``key`` (with its checksum), None when absent."""
        raise NotImplementedError('target type %s cannot be listed' % self.type)

    def check(self):
        """Log in and verify the destination is writable, sending no data."""
        raise NotImplementedError

    def close(self):
        """Release connections (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return '<%s %s target=%r>' % (type(self).__name__, self.type, self.name)

    # -- helpers for subclasses ---------------------------------------------------
    def window_date(self, start=None):
        """``start``'s date in the configured timezone (today's when None), YYYY-MM-DD."""
        when = start if start is not None else datetime.now(timezone.utc)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(self.tz).strftime('%Y-%m-%d')

    def opt(self, key, default=None):
        """The option ``key``, or ``default`` when absent, None or ''."""
        value = self.options.get(key)
        return default if value is None or value == '' else value

    def scrub(self, text):
        """``text`` with every secret option value, URL credentials and secret-looking
        query values (:mod:`pycstbox.export.redact`) replaced by ``***``."""
        text = str(text)
        for k in self.secret_keys:
            secret = self.options.get(k)
            if secret:
                text = text.replace(str(secret), '***')
        return redact(text)

    def temporary(self, msg, retry_after=None):
        """A :class:`TemporaryError` about this target (message scrubbed of secrets)."""
        return TemporaryError('target %s: %s' % (self.name, self.scrub(msg)),
                              target=self.name, retry_after=retry_after)

    def permanent(self, msg, scope='file'):
        """A :class:`PermanentError` about this target (message scrubbed of secrets).

        ``scope='target'``: the target itself refuses (credentials, bucket, login, host
        key, TLS, configuration): its work is held, not dead-lettered (errors.py).
        """
        return PermanentError('target %s: %s' % (self.name, self.scrub(msg)),
                              target=self.name, scope=scope)

    def require(self, module, package):
        """Import ``module`` lazily; a missing library is a PermanentError naming ``package``."""
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise self.permanent('the %s transport needs the Python module %s, which is not '
                                 'installed: apt install %s' % (self.type, module, package),
                                 scope='target') from exc

    def open_source(self, path):
        """Open the local file to send (binary); a missing file is permanent."""
        try:
            return open(path, 'rb')
        except FileNotFoundError as exc:
            raise self.permanent('local file %s to send does not exist' % path) from exc
        except OSError as exc:
            raise self.temporary('cannot read local file %s: %s' % (path, exc.strerror)
                                 ) from exc


def names():
    """The registered transport type names, sorted."""
    return sorted(_MODULES)


def get(type_name):
    """The Transport class registered as ``type_name``; ``KeyError`` when unknown."""
    module = _MODULES[type_name]
    return importlib.import_module('%s.%s' % (__name__, module)).TRANSPORT


def create(target, site='', tz=None):
    """A transport instance for ``target`` (its ``type`` picks the class); ``tz`` = config tz."""
    return get(target.type)(target, site, tz)


#: config type name -> what its module imports lazily, at call time (the library and what
#: the library itself imports when first used): :func:`preload` imports them up front
_LAZY = {
    'http': ('requests', 'requests.adapters', 'urllib3', 'netrc'),
    's3': ('requests', 'requests.adapters', 'urllib3', 'netrc',
           'pycstbox.export.transports.s3multipart', 'pycstbox.export.transports.http'),
    'ftp': ('ftplib', 'ssl'),
    'sftp': ('paramiko', 'base64', 'hashlib'),
    'serial': ('serial', 'xmodem'),
}


def preload(type_name):
    """Import the module of ``type_name`` and everything it imports lazily, now.

    For ``cbx-exportd``'s main thread, before its lanes start (and on reload): two lanes
    importing a library for the first time at the same moment can deadlock on Python's
    import locks.  A missing library is not an error here (the transport reports it, naming
    the Debian package, when it is used): returns the names that could not be imported.
    """
    missing = []
    for module in ('%s.%s' % (__name__, _MODULES[type_name]),) + _LAZY.get(type_name, ()):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing
