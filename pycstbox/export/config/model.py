"""The configuration as frozen objects (HACKING.md, "Configuration").

``Config`` holds the top-level settings, ``EventStoreConfig``, ``LogConfig``,
``MetricsConfig`` and one ``TargetConfig`` / ``JobConfig`` per table; they are
built and validated by :mod:`.loader` and :mod:`.section`.  A ``TargetConfig``
never shows its secrets (``repr``, ``str``).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from pycstbox.export.config.schema import Options


@dataclass(frozen=True)
class EventStoreConfig:
    address: str = ''
    channel: str = 'sensor'
    flush: bool = True
    timeout: float = 60.0
    read: str = 'auto'                     # auto | dbus | files (DESIGN section 6)
    root: str = '/var/db/cstbox/events'    # <root>/<channel>/YYMMDD.evt-log


@dataclass(frozen=True)
class LogConfig:
    level: str = 'INFO'
    syslog: bool = False
    file: str = ''


@dataclass(frozen=True)
class MetricsConfig:
    textfile: str = ''          # '' = no metrics


@dataclass(frozen=True)
class NetworkConfig:
    bus: str = ''               # D-Bus address of NetworkManager's bus; '' = the system bus


@dataclass(frozen=True)
class TargetConfig:
    name: str
    type: str
    options: Options = field(repr=False)

    def __repr__(self):
        return 'TargetConfig(name=%r, type=%r, options=%r)' % (self.name, self.type, self.options)

    __str__ = __repr__


@dataclass(frozen=True)
class JobConfig:
    name: str
    target: str
    period: timedelta = timedelta(days=1)
    delay: timedelta = timedelta(minutes=15)
    format: str = 'csv'
    compress: str = 'none'
    var_types: tuple = ()
    var_names: tuple = ()
    start: date | None = None
    max_try: int = 3
    retry_delay: float = 10.0
    max_age: timedelta = timedelta(days=90)
    enabled: bool = True
    compress_level: int = 0               # 0 = the compression's default (gzip 6, zstd 8)


@dataclass(frozen=True)
class Config:
    site: str
    state_dir: str
    timezone: str
    tz: object
    eventstore: EventStoreConfig
    log: LogConfig
    targets: Options
    jobs: Options
    files: tuple = ()
    metrics: MetricsConfig = MetricsConfig()
    network: NetworkConfig = NetworkConfig()
