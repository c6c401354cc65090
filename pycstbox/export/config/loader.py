"""The TOML configuration of cstbox-export (DESIGN section 6), parsed into frozen objects.

``load(path=None, environ=os.environ) -> Config``.  The main file is ``path``,
else ``$CBX_EXPORT_CONFIG``, else :data:`DEFAULT_PATH`; a relative path that does
not exist from the current directory is taken under ``/etc/cstbox``.  Drop-ins
``export.d/*.toml`` beside the main file are read after it, in name order:

- top-level keys and ``[eventstore]``/``[log]``/``[metrics]`` keys of a later file override
  earlier ones, key by key;
- ``[targets.X]`` / ``[jobs.X]`` add targets and jobs; the same name defined in two
  files is an error naming both.

When the main file was not named (no ``-c``, no variable) and the default file
does not exist, the built-in defaults are used (no targets, no jobs): a
technician can run ``cbx-export export`` on a box before configuring anything.

Every mistake raises :class:`ConfigError` with one line ``FILE: KEY: problem``.
A file holding a ``password`` readable by group or others logs a warning.
Schemas of the target options are in :mod:`pycstbox.export.config.schema`.
"""

import logging
import os
import re
import socket
from dataclasses import replace
from datetime import timezone

from pycstbox.export.config.duration import parse_duration
from pycstbox.export.config.model import (Config, EventStoreConfig, JobConfig, LogConfig,
                                          MetricsConfig, NetworkConfig, TargetConfig)
from pycstbox.export.config.schema import (EVENTSTORE, LOG, MAX_TIMEOUT, METRICS, NETWORK, TOP,
                                           Options,
                                           check_range, check_table, check_value)
from pycstbox.export.config.section import job as _job, target as _target
from pycstbox.export.errors import ConfigError
from pycstbox.export.redact import redact, secret_name

log = logging.getLogger(__name__)

CONFIG_DIR = '/etc/cstbox'
DEFAULT_PATH = CONFIG_DIR + '/export.toml'
ENV_VAR = 'CBX_EXPORT_CONFIG'
DROPIN_DIR = 'export.d'
_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*')
#: [metrics] textfile when not set: used when its directory exists (node_exporter installed)
DEFAULT_TEXTFILE = '/var/lib/prometheus/node-exporter/cstbox_export.prom'
#: overrides that default (tests and unprivileged runs: "" = off), never a configured value
METRICS_ENV_VAR = 'CBX_EXPORT_METRICS_TEXTFILE'
__all__ = ['load', 'parse_duration', 'Config', 'EventStoreConfig', 'LogConfig',
           'MetricsConfig', 'TargetConfig', 'JobConfig', 'DEFAULT_PATH', 'ConfigError', 'resolve_path']


def resolve_path(path=None, environ=os.environ):
    """(main file path, named explicitly?) for ``path``/``$CBX_EXPORT_CONFIG``/default."""
    explicit = path or environ.get(ENV_VAR) or ''
    if not explicit:
        return DEFAULT_PATH, False
    if not os.path.isabs(explicit) and not os.path.exists(explicit):
        return os.path.join(CONFIG_DIR, explicit), True
    return os.path.abspath(explicit), True


def load(path=None, environ=os.environ):
    """Read, merge and validate the configuration. :raises ConfigError:"""
    main, explicit = resolve_path(path, environ)
    files = []
    if os.path.exists(main) or explicit:
        files.append(main)
    dropins = os.path.join(os.path.dirname(main), DROPIN_DIR)
    if os.path.isdir(dropins):
        files.extend(os.path.join(dropins, n) for n in sorted(os.listdir(dropins))
                     if n.endswith('.toml') and not n.startswith('.'))
    settings, origin, targets, jobs = {}, {}, {}, {}
    for fname in files:
        raw = _read(fname)
        check_table(raw, TOP, fname, '')
        for section, into in (('targets', targets), ('jobs', jobs)):
            table = raw.pop(section, {})
            check_value(table, dict, fname, section)
            for name, body in table.items():
                key = '%s.%s' % (section, name)
                if name in into:
                    raise ConfigError('defined twice, here and in %s' % into[name][0], fname, key)
                if not _NAME.fullmatch(name) or name in ('.', '..'):
                    raise ConfigError('invalid name: use letters, digits, "_", "-" and "."',
                                      fname, key)
                check_value(body, dict, fname, key)
                into[name] = (fname, body)
        for section, schema in (('eventstore', EVENTSTORE), ('log', LOG), ('metrics', METRICS),
                                ('network', NETWORK)):
            body = raw.pop(section, {})
            check_value(body, dict, fname, section)
            check_table(body, schema, fname, section)
            for key, value in body.items():
                settings['%s.%s' % (section, key)] = value
                origin['%s.%s' % (section, key)] = fname
        for key, value in raw.items():
            settings[key] = value
            origin[key] = fname
    cfg = _build(settings, origin, targets, jobs, tuple(files))
    return replace(cfg, metrics=_metrics(settings, origin, environ),
                   network=NetworkConfig(_get(settings, origin, 'network.bus', str, '')))


def _read(fname):
    import tomllib
    try:
        with open(fname, 'rb') as f:
            raw = tomllib.load(f)
            mode = os.fstat(f.fileno()).st_mode
    except FileNotFoundError as exc:
        raise ConfigError('file not found (create it from the sample, or check -c / %s)'
                          % ENV_VAR, fname) from exc
    except OSError as exc:
        raise ConfigError('cannot read the file: %s' % exc.strerror, fname) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError('invalid TOML: %s' % exc, fname) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError('invalid TOML: not UTF-8 text', fname) from exc
    if mode & 0o077:
        for name, body in raw.get('targets', {}).items():
            for k in _secrets_in(body):
                log.warning('%s: targets.%s.%s: the file is readable by other users '
                            '(mode %04o): chmod 600 it, or use %s', fname, name, k,
                            mode & 0o7777, 'password_file' if k in ('password', 'url', 'headers')
                            else k + '_file')
    return raw


def _secrets_in(body):
    """The keys of a target table that hold a secret (a password, URL credentials...)."""
    if not isinstance(body, dict):
        return []
    found = [k for k in ('password', 'secret_access_key', 'session_token') if body.get(k)]
    if isinstance(body.get('url'), str) and redact(body['url']) != body['url']:
        found.append('url')
    if isinstance(body.get('headers'), dict) and any(map(secret_name, body['headers'])):
        found.append('headers')
    return found


def _get(settings, origin, key, kind, default):
    value = settings.get(key, default)
    check_value(value, kind, origin.get(key, ''), key)
    return value


def _no_zone_files():
    """A hint when no zone file at all can be found ('' when they are there)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo('Etc/UTC')
    except (ZoneInfoNotFoundError, ValueError):
        return ': no zone files are installed, install the tzdata package'
    return ''


def _build(settings, origin, targets, jobs, files):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    g = lambda key, kind, default: _get(settings, origin, key, kind, default)  # noqa: E731
    site = g('site', str, '') or _hostname()
    if not _NAME.fullmatch(site):
        raise ConfigError('invalid site %r: it is used in file names, use letters, digits, '
                          '"_", "-" and "."' % site, origin.get('site'), 'site')
    state_dir = g('state_dir', str, '/var/lib/cstbox/export')
    if not os.path.isabs(state_dir):
        raise ConfigError('must be an absolute path, not %r' % state_dir,
                          origin.get('state_dir'), 'state_dir')
    tzname = g('timezone', str, 'UTC')
    try:
        tz = ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if tzname in ('UTC', 'Etc/UTC'):     # needs no zone file (tzdata may be missing)
            tz = timezone.utc
        else:
            raise ConfigError('unknown time zone %r (use a name such as "UTC" or "Europe/Paris")%s'
                              % (tzname, _no_zone_files()), origin.get('timezone'),
                              'timezone') from exc
    timeout = g('eventstore.timeout', (int, float), 60.0)
    check_range(timeout, 0, MAX_TIMEOUT, origin.get('eventstore.timeout'), 'eventstore.timeout',
                ' s', low_open=True)
    channel = g('eventstore.channel', str, 'sensor') or 'sensor'
    if not re.fullmatch(r'[A-Za-z0-9_]+', channel):
        raise ConfigError('invalid channel %r: it is a D-Bus object path element (letters, '
                          'digits and "_"), e.g. "sensor"' % channel,
                          origin.get('eventstore.channel'), 'eventstore.channel')
    eventstore = EventStoreConfig(g('eventstore.address', str, ''), channel,
                                  g('eventstore.flush', bool, True), float(timeout),
                                  *_read_root(g, origin))
    level = g('log.level', str, 'INFO').upper()
    if level not in ('DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL'):
        raise ConfigError('unknown level %r (use DEBUG, INFO, WARNING, ERROR or CRITICAL)'
                          % level, origin.get('log.level'), 'log.level')
    logcfg = LogConfig('WARNING' if level == 'WARN' else level,
                       g('log.syslog', bool, False), g('log.file', str, ''))
    built_targets = {n: _target(n, f, body) for n, (f, body) in targets.items()}
    built_jobs = {n: _job(n, f, body, built_targets) for n, (f, body) in jobs.items()}
    return Config(site, state_dir, tzname, tz, eventstore, logcfg,
                  Options(built_targets), Options(built_jobs), files)


def _metrics(settings, origin, environ):
    """[metrics]: textfile absolute and ending in .prom, or '' (off); the default when unset."""
    if 'metrics.textfile' not in settings:
        if METRICS_ENV_VAR in environ:
            return MetricsConfig(environ[METRICS_ENV_VAR])
        return MetricsConfig(DEFAULT_TEXTFILE if os.path.isdir(os.path.dirname(DEFAULT_TEXTFILE))
                             else '')
    path = settings['metrics.textfile']
    if path and not (os.path.isabs(path) and path.endswith('.prom')):
        raise ConfigError('must be an absolute path ending in .prom (node_exporter\'s textfile '
                          'collector reads only *.prom files), or "" for no metrics, not %r'
                          % path, origin.get('metrics.textfile'), 'metrics.textfile')
    return MetricsConfig(path)


def _read_root(g, origin):
    """``[eventstore] read`` and ``root``, checked. :raises ConfigError:"""
    from pycstbox.export.config.schema import READ_MODES
    read = g('eventstore.read', str, 'auto')
    if read not in READ_MODES:
        raise ConfigError('must be "auto" (the day files when root is readable, else D-Bus), '
                          '"dbus" or "files", not %r' % read, origin.get('eventstore.read'),
                          'eventstore.read')
    root = g('eventstore.root', str, EVENTSTORE['root'][1])
    if not os.path.isabs(root):
        raise ConfigError('must be an absolute path (the directory holding <channel>/'
                          'YYMMDD.evt-log), not %r' % root, origin.get('eventstore.root'),
                          'eventstore.root')
    return read, root


def _hostname():
    name = socket.gethostname().split('.')[0]
    return name if _NAME.fullmatch(name or '') else 'cstbox'
