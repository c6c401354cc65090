"""One ``[targets.X]`` or ``[jobs.X]`` table -> its frozen object, every value checked.

``target(name, fname, body) -> TargetConfig``: the type's schema (defaults filled),
secret files (``password_file``, ``secret_access_key_file``, ``session_token_file``,
relative to the config file) read in, a warning when one is readable by others.
``job(name, fname, body, targets) -> JobConfig``: durations, period dividing a day,
format and compression, and every value in a sane range (nothing computed from
them can overflow).  Mistakes raise ``ConfigError`` with ``FILE: KEY: problem``.
"""

import logging
import os
from datetime import date, timedelta

from pycstbox.export.config.duration import format_duration, parse_date, parse_duration
from pycstbox.export.config.model import JobConfig, TargetConfig
from pycstbox.export.config.schema import (JOB, TARGET_SCHEMAS, Options, check_range,
                                           check_table, check_value)
from pycstbox.export.errors import ConfigError

log = logging.getLogger(__name__)

#: target options whose values are secrets (hidden by repr, never logged)
SECRET_OPTIONS = ('password', 'secret_access_key', 'session_token')

#: sane ranges of job values (nothing computed from them can overflow)
MIN_PERIOD, MAX_PERIOD = timedelta(minutes=1), timedelta(days=366)
MAX_DELAY = timedelta(days=366)
MAX_AGE = timedelta(days=3660)
MAX_TRY = 20
MAX_RETRY_DELAY = 600
FIRST_START, LAST_START = date(2000, 1, 1), date(2099, 12, 31)


def target(name, fname, body):
    """The ``TargetConfig`` of table ``[targets.<name>]`` of file ``fname``."""
    key = 'targets.%s' % name
    ttype = body.get('type')
    if ttype is None:
        raise ConfigError('missing (one of: %s)' % ', '.join(TARGET_SCHEMAS), fname, key + '.type')
    check_value(ttype, str, fname, key + '.type')
    if ttype not in TARGET_SCHEMAS:
        raise ConfigError('unknown target type %r%s (use one of: %s)'
                          % (ttype, suggest(ttype, TARGET_SCHEMAS), ', '.join(TARGET_SCHEMAS)),
                          fname, key + '.type')
    schema = TARGET_SCHEMAS[ttype]
    options = check_table({k: v for k, v in body.items() if k != 'type'}, schema, fname, key,
                          fill=True)
    for secret in SECRET_OPTIONS:
        if secret + '_file' in schema:
            _secret_file(secret, options, body, fname, key)
    from pycstbox.export.config.schema import validate_target
    validate_target(ttype, options, fname, key)
    return TargetConfig(name, ttype, Options(options, secret=SECRET_OPTIONS))


def _secret_file(secret, options, body, fname, key):
    """Read ``<secret>_file`` (relative to the config file) into ``options[secret]``.

    A password keeps its spaces (only the line end is dropped); keys and tokens
    never hold white space, which is dropped around them.
    """
    sfile = options[secret + '_file']
    if sfile and body.get(secret):
        raise ConfigError('set %s or %s_file, not both' % (secret, secret), fname,
                          '%s.%s_file' % (key, secret))
    if not sfile:
        return
    sfile = os.path.join(os.path.dirname(fname), sfile)
    try:
        with open(sfile, encoding='utf-8') as f:
            text = f.read()
            options[secret] = text.rstrip('\r\n') if secret == 'password' else text.strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, 'strerror', None) or 'not UTF-8 text'
        raise ConfigError('cannot read %s: %s' % (sfile, why), fname,
                          '%s.%s_file' % (key, secret)) from exc
    options[secret + '_file'] = sfile
    warn_if_readable(sfile, fname, '%s.%s_file' % (key, secret))


def warn_if_readable(path, fname, key):
    """Log a warning when the secret file ``path`` is readable by group or others."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & 0o077:
        log.warning('%s: %s: %s is readable by other users (mode %04o): chmod 600 it',
                    fname, key, path, mode & 0o7777)


def job(name, fname, body, targets):
    """The ``JobConfig`` of table ``[jobs.<name>]`` (``targets``: the names defined)."""
    from pycstbox.export import formats
    key = 'jobs.%s' % name
    o = check_table(body, JOB, fname, key, fill=True)

    def duration(k, longest, allow_zero=False):
        try:
            return parse_duration(o[k], allow_zero, longest)
        except ValueError as exc:
            raise ConfigError(str(exc), fname, '%s.%s' % (key, k)) from exc

    if o['target'] not in targets:
        raise ConfigError('no target named %r%s (defined targets: %s)'
                          % (o['target'], suggest(o['target'], targets),
                             ', '.join(sorted(targets)) or 'none'), fname, key + '.target')
    period = duration('period', MAX_PERIOD)
    if period < MIN_PERIOD:
        raise ConfigError('%s is too short (at least %s: one file per window)'
                          % (o['period'], format_duration(MIN_PERIOD)), fname, key + '.period')
    secs = int(period.total_seconds())
    if 86400 % secs and secs % 86400:
        raise ConfigError('period %s neither divides a day evenly nor is whole days, so '
                          'windows could not start at midnight every day (use e.g. 15m, 1h, '
                          '2h, 3h, 4h, 6h, 8h, 12h, 1d)' % o['period'], fname, key + '.period')
    if o['format'] not in formats.names():
        raise ConfigError('unknown format %r%s (use one of: %s)'
                          % (o['format'], suggest(o['format'], formats.names()),
                             ', '.join(formats.names())), fname, key + '.format')
    if o['compress'] not in formats.COMPRESS_NAMES:
        raise ConfigError('unknown compression %r (use one of: %s)'
                          % (o['compress'], ', '.join(formats.COMPRESS_NAMES)),
                          fname, key + '.compress')
    if o['compress'] != 'none' and not formats.get(o['format']).compressible:
        raise ConfigError('format %s is already %s: use compress = "none"'
                          % (o['format'], formats.get(o['format']).compressed_as),
                          fname, key + '.compress')
    _check_level(o, fname, key)
    start = o['start']
    if start is not None:
        try:
            start = parse_date(start)
        except ValueError as exc:
            raise ConfigError(str(exc), fname, key + '.start') from exc
        if not FIRST_START <= start <= LAST_START:
            raise ConfigError('must be between %s and %s, not %s' % (FIRST_START, LAST_START,
                                                                      start), fname, key + '.start')
    check_range(o['max_try'], 1, MAX_TRY, fname, key + '.max_try')
    check_range(o['retry_delay'], 0, MAX_RETRY_DELAY, fname, key + '.retry_delay', ' s')
    delay, max_age = duration('delay', MAX_DELAY, True), duration('max_age', MAX_AGE)
    if max_age <= period + delay:
        raise ConfigError('%s must be longer than period + delay (%s): every window would be '
                          'given up before it could be retried' % (
                              o['max_age'], format_duration(period + delay)), fname,
                          key + '.max_age')
    return JobConfig(name, o['target'], period, delay, o['format'],
                     o['compress'], tuple(o['var_types']), tuple(o['var_names']), start,
                     o['max_try'], float(o['retry_delay']), max_age, o['enabled'],
                     o['compress_level'])


def _check_level(o, fname, key):
    """``compress_level``: 0 (the default) or within the compression's levels."""
    from pycstbox.export.formats.compression import LEVELS
    level = o['compress_level']
    if not level:
        return
    if o['compress'] not in LEVELS:
        raise ConfigError('compress = "%s" has no level: remove compress_level, or set '
                          'compress = "gzip" or "zstd"' % o['compress'], fname,
                          key + '.compress_level')
    low, high, default = LEVELS[o['compress']]
    if not low <= level <= high:
        raise ConfigError('%s levels are %d to %d (0 = the default, %d), not %d'
                          % (o['compress'], low, high, default, level), fname,
                          key + '.compress_level')


def suggest(word, known):
    """" (did you mean ...?)" for the closest of ``known``, or ""."""
    import difflib
    match = difflib.get_close_matches(word, list(known), n=1)
    return ' (did you mean %r?)' % match[0] if match else ''
