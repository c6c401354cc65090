"""CSTBox events export: the seed API.

``EventsExportJob``, ``Backlog`` and ``ExportError`` keep the documented CSTBox
export API (see DESIGN.md section 3), fixed where the original was broken.
Everything else (configuration, formats, transports, the export process, the
daemon) lives in the sub-modules.  Names are imported on first use (PEP 562),
so that ``cbx-export --help`` does not pay for modules it does not need.
"""

__version__ = '1.0.0'

ERR_NONE = 0
ERR_PREPARE = 100
ERR_EXPORT_EVENTS = 200
ERR_SEND = 300
DEFAULT_LOCATION_ROOT = '/var/lib/cstbox/export/backlog'

_LAZY = {
    'Backlog': 'backlog',
    'EventsExportJob': 'job',
    'ExportError': 'errors', 'ConfigError': 'errors', 'EventStoreError': 'errors',
    'TransportError': 'errors', 'TemporaryError': 'errors', 'PermanentError': 'errors',
    'BacklogError': 'errors', 'LockError': 'errors',
}

__all__ = sorted(_LAZY) + ['ERR_NONE', 'ERR_PREPARE', 'ERR_EXPORT_EVENTS', 'ERR_SEND',
                           'DEFAULT_LOCATION_ROOT']


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError('module %r has no attribute %r' % (__name__, name))
    import importlib     # here, not at the top: ``cbx-export --help`` does not need it
    value = getattr(importlib.import_module('.' + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
