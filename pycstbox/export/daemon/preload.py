"""Everything the lanes may import, imported in the main thread before they start.

Python's import locks are per module: two threads importing, for the first time and
at the same moment, modules that import each other can deadlock for good (issue 19:
an outbox lane in ``import requests`` -> urllib3 -> six's meta-path importer, the
metrics lane in ``import prometheus_client`` -> http.server -> http.client -> email;
both lanes silent forever, the daemon up).  So ``cbx-exportd`` calls :func:`preload`
in its main thread before any lane starts, and again on SIGHUP with the new
configuration (a new target type), so that no lane ever imports a module first:

- every module of :mod:`pycstbox.export.process` and :mod:`pycstbox.export.formats`
  (the process lane imports them lazily);
- the event store reader and dbus (:func:`pycstbox.evtdb.client.preload`);
- each configured target type's module and the libraries it uses lazily
  (:func:`pycstbox.export.transports.preload`: requests, paramiko, serial...);
- prometheus_client when ``[metrics] textfile`` is set
  (:func:`pycstbox.export.process.metrics.preload`);
- the standard library modules that C code or the libraries import at call time
  (:data:`STDLIB`: ``_strptime`` at the first ``strptime``, ``encodings.idna`` at the
  first ``getaddrinfo`` of a host name...).

A missing optional library is not an error here: the lane that needs it reports it.
``cbx-export`` (one thread) never calls this: its ``--help`` stays fast.
"""

import importlib
import logging
import pkgutil
import time

log = logging.getLogger(__name__)

#: imported at call time by C code or by the libraries, whatever the configuration
STDLIB = ('_strptime', 'encodings.idna', 'stringprep', 'unicodedata', 'encodings.latin_1',
          'encodings.ascii', 'encodings.utf_8', 'csv', 'gzip', 'zipfile', 'zlib', 'hashlib',
          'hmac', 'mmap', 'base64', 'uuid', 'tempfile', 'shutil', 'queue', 'ssl', 'socket')
#: packages of ours whose every module is imported
PACKAGES = ('pycstbox.export.process', 'pycstbox.export.formats')


def _import(name, missing):
    try:
        importlib.import_module(name)
    except ImportError:
        missing.append(name)
    except Exception:  # noqa: BLE001 -- a module failing here fails again where it is used
        log.debug('preload of %s failed', name, exc_info=True)
        missing.append(name)


def preload(config):
    """Import what the lanes of ``config`` may need (see module docstring).

    Returns the names that could not be imported (optional libraries not installed).
    """
    from pycstbox.evtdb import client
    from pycstbox.export import transports
    from pycstbox.export.process import metrics
    t0 = time.monotonic()
    missing = []
    for name in STDLIB:
        _import(name, missing)
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for info in pkgutil.iter_modules(mod.__path__, pkg + '.'):
            _import(info.name, missing)
    _import('pycstbox.evtdb.source', missing)
    if config.jobs and not client.preload():
        missing.append('dbus')
    for kind in sorted({t.type for t in config.targets.values()}):
        missing.extend(transports.preload(kind))
    if config.metrics.textfile and not metrics.preload():
        missing.append('prometheus_client')
    log.debug('lane modules imported in %.2f s%s', time.monotonic() - t0,
              ' (not installed: %s)' % ', '.join(missing) if missing else '')
    return missing
