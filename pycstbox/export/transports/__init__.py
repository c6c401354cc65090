"""Transports: deliver one local file to a target, registered by config type name.

The contract every transport keeps (:class:`Transport`):

- ``send(path, name, *, job='', key=None)`` delivers the local file ``path`` under the
  stable remote name ``name`` and returns only once the receiver confirmed it (HTTP 2xx,
  FTP 226 + rename, SFTP size check + rename, serial ACK of every block, local fsync +
  rename).  Where the receiver has names, the file is written under a temporary name and
  renamed, so that a failed send never leaves a partial file under the final name; a
  second send of the same name replaces the first.  ``key`` is sent as
  ``Idempotency-Key`` where the protocol has such a thing (HTTP).
- ``check()`` logs in and verifies the destination exists and is writable, without
  sending any data.
- ``close()`` releases connections; transports are also context managers.
- Failures raise only :class:`~pycstbox.export.errors.TemporaryError` (retry later) or
  :class:`~pycstbox.export.errors.PermanentError` (a person must act), with
  ``target=<target name>`` (and ``retry_after`` seconds when the receiver said so),
  translated once with ``raise ... from exc``.  A transport never retries nor sleeps:
  retry policy lives in the job/process.  Every blocking call has a timeout.
- Secrets (passwords) never appear in logs, in error messages nor in ``repr()``.
- Optional libraries (``requests``, ``paramiko``, ``serial``, ``xmodem``) are imported
  lazily inside methods: importing this package is cheap, and a missing library disables
  only its transport, with a :class:`PermanentError` naming the Debian package.

Registry: :func:`names`, :func:`get` (``KeyError`` for an unknown type) and
:func:`create` (``target.type`` -> instance).
"""

import importlib
import logging

from pycstbox.export.errors import PermanentError, TemporaryError

log = logging.getLogger(__name__)

#: config type name -> module of this package defining the class ``TRANSPORT``
_MODULES = {
    'dir': 'directory',
    'http': 'http',
    'ftp': 'ftp',
    'sftp': 'sftp',
    'serial': 'serial',
}

TMP_PREFIX = '.'
TMP_SUFFIX = '.tmp'


def temp_name(name):
    """The temporary name under which ``name`` is written before its rename."""
    return '%s%s%s' % (TMP_PREFIX, name, TMP_SUFFIX)


class Transport:
    """Base class of transports (see the module docstring for the contract).

    :param target: a ``TargetConfig`` (``name``, ``type``, ``options`` mapping)
    :param str site: the site name, for URL templates
    """

    type = ''
    #: option keys whose values are secrets: never logged nor shown
    secret_keys = ('password',)

    def __init__(self, target, site=''):
        self.target = target
        self.name = target.name
        self.options = dict(target.options or {})
        self.site = site or ''

    # -- the contract --------------------------------------------------------------
    def send(self, path, name, *, job='', key=None):
        """Deliver the file ``path`` as ``name``; return once the receiver confirmed."""
        raise NotImplementedError

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
    def opt(self, key, default=None):
        """The option ``key``, or ``default`` when absent, None or ''."""
        value = self.options.get(key)
        return default if value is None or value == '' else value

    def scrub(self, text):
        """``text`` with every secret option value replaced by ``***``."""
        text = str(text)
        for k in self.secret_keys:
            secret = self.options.get(k)
            if secret:
                text = text.replace(str(secret), '***')
        return text

    def temporary(self, msg, retry_after=None):
        """A :class:`TemporaryError` about this target (message scrubbed of secrets)."""
        return TemporaryError('target %s: %s' % (self.name, self.scrub(msg)),
                              target=self.name, retry_after=retry_after)

    def permanent(self, msg):
        """A :class:`PermanentError` about this target (message scrubbed of secrets)."""
        return PermanentError('target %s: %s' % (self.name, self.scrub(msg)),
                              target=self.name)

    def require(self, module, package):
        """Import ``module`` lazily; a missing library is a PermanentError naming ``package``."""
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise self.permanent('the %s transport needs the Python module %s, which is not '
                                 'installed: apt install %s' % (self.type, module, package)
                                 ) from exc

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


def create(target, site=''):
    """A transport instance for ``target`` (its ``type`` picks the class)."""
    return get(target.type)(target, site)
