"""CSTBox events export: the seed API.

``EventsExportJob``, ``Backlog`` and ``ExportError`` keep the documented CSTBox
export API (see DESIGN.md section 3), fixed where the original was broken.
Everything else (configuration, formats, transports, the export process, the
daemon) lives in the sub-modules and is imported on demand.
"""

from .backlog import Backlog
from .errors import (BacklogError, ConfigError, EventStoreError, ExportError, LockError,
                     PermanentError, TemporaryError, TransportError)
from .job import EventsExportJob

__version__ = '1.0.0'

ERR_NONE = EventsExportJob.ERR_NONE
ERR_PREPARE = EventsExportJob.ERR_PREPARE
ERR_EXPORT_EVENTS = EventsExportJob.ERR_EXPORT_EVENTS
ERR_SEND = EventsExportJob.ERR_SEND

DEFAULT_LOCATION_ROOT = Backlog.DEFAULT_LOCATION_ROOT

__all__ = [
    'Backlog', 'EventsExportJob', 'ExportError', 'ConfigError', 'EventStoreError',
    'TransportError', 'TemporaryError', 'PermanentError', 'BacklogError', 'LockError',
    'ERR_NONE', 'ERR_PREPARE', 'ERR_EXPORT_EVENTS', 'ERR_SEND', 'DEFAULT_LOCATION_ROOT',
]
