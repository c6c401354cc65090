"""Schemas of the configuration tables and the generic checks behind them.

A schema maps each allowed key to ``(kind, default)``; ``REQUIRED`` as default
makes the key mandatory.  Kinds: ``str``, ``bool``, ``int``, ``NUMBER`` (int or
float), ``STRLIST`` (list of strings), ``STRMAP`` (table of strings),
``BOOL_OR_STR`` (``verify``), ``DATE`` (TOML date or ``"YYYY-MM-DD"``), ``dict``.
"""

import logging
import math
import re
from collections.abc import Mapping
from datetime import date

from pycstbox.export.redact import redact, secret_name
from pycstbox.export.errors import ConfigError

log = logging.getLogger(__name__)

REQUIRED = object()
NUMBER = (int, float)
STRLIST = 'list of strings'
STRMAP = 'table of strings'
BOOL_OR_STR = 'true, false or a CA bundle path'
DATE = 'date'
SIZE = 'size'
#: longest timeout of any network or event store operation, in seconds
MAX_TIMEOUT = 3600

TOP = {'site': (str, ''), 'state_dir': (str, '/var/lib/cstbox/export'),
       'timezone': (str, 'UTC'), 'eventstore': (dict, {}), 'log': (dict, {}),
       'targets': (dict, {}), 'jobs': (dict, {}), 'metrics': (dict, {}),
       'network': (dict, {})}
EVENTSTORE = {'address': (str, ''), 'channel': (str, 'sensor'), 'flush': (bool, True),
              'timeout': (NUMBER, 60.0), 'read': (str, 'auto'),
              'root': (str, '/var/db/cstbox/events')}
#: [eventstore] read: how events are read (the day files need a flush over D-Bus first)
READ_MODES = ('auto', 'dbus', 'files')
LOG = {'level': (str, 'INFO'), 'syslog': (bool, False), 'file': (str, '')}
METRICS = {'textfile': (str, None)}     # None: the default (DESIGN section 13)
NETWORK = {'bus': (str, '')}            # where NetworkManager is asked "metered?" ("" = system)
JOB = {'target': (str, REQUIRED), 'period': (str, '1d'), 'delay': (str, '15m'),
       'format': (str, 'csv'), 'compress': (str, 'none'), 'var_types': (STRLIST, []),
       'var_names': (STRLIST, []), 'start': (DATE, None), 'max_try': (int, 3),
       'retry_delay': (NUMBER, 10), 'max_age': (str, '90d'), 'enabled': (bool, True),
       'compress_level': (int, 0)}

_SECRET = {'password': (str, ''), 'password_file': (str, '')}
TARGET_SCHEMAS = {
    'dir': {'path': (str, REQUIRED)},
    'http': {'url': (str, REQUIRED), 'method': (str, 'POST'), 'field': (str, 'file'),
             'username': (str, ''), **_SECRET, 'verify': (BOOL_OR_STR, True),
             'timeout': (NUMBER, 60), 'connect_timeout': (NUMBER, 10), 'headers': (STRMAP, {})},
    'ftp': {'host': (str, REQUIRED), 'port': (int, 21), 'user': (str, 'anonymous'), **_SECRET,
            'directory': (str, ''), 'tls': (bool, False), 'passive': (bool, True),
            'verify': (BOOL_OR_STR, True), 'timeout': (NUMBER, 60)},
    'sftp': {'host': (str, REQUIRED), 'port': (int, 22), 'user': (str, REQUIRED), **_SECRET,
             'key_file': (str, ''), 'directory': (str, ''), 'known_hosts': (str, ''),
             'timeout': (NUMBER, 60)},
    'serial': {'port': (str, REQUIRED), 'baudrate': (int, 115200), 'protocol': (str, 'ymodem'),
               'timeout': (NUMBER, 60)},
    's3': {'endpoint': (str, REQUIRED), 'region': (str, 'us-east-1'), 'bucket': (str, REQUIRED),
           'prefix': (str, ''), 'key': (str, '{prefix}site={site}/job={job}/date={date}/{name}'),
           'access_key_id': (str, ''), 'secret_access_key': (str, ''),
           'secret_access_key_file': (str, ''), 'session_token': (str, ''),
           'session_token_file': (str, ''), 'verify': (BOOL_OR_STR, True),
           'timeout': (NUMBER, 60), 'connect_timeout': (NUMBER, 10),
           'multipart_threshold': (SIZE, '64MiB'), 'part_size': (SIZE, '8MiB'),
           'overwrite': (bool, True),
           'addressing': (str, ''), 'profile': (str, ''), 'storage_class': (str, ''),
           'sse': (str, ''), 'sse_kms_key_id': (str, '')},
}
for _schema in TARGET_SCHEMAS.values():          # every target may have a byte budget
    _schema.update({'budget': (str, ''), 'budget_when': (str, 'always')})

_KIND_TEXT = {str: 'a string', bool: 'true or false', int: 'an integer', NUMBER: 'a number',
              dict: 'a table', STRLIST: 'a list of strings', STRMAP: 'a table of strings',
              BOOL_OR_STR: BOOL_OR_STR, DATE: 'a date such as 2026-11-01',
              SIZE: 'a size such as "64MiB"'}
_TOML_TYPE = {str: 'a string', bool: 'a boolean', int: 'an integer', float: 'a number',
              dict: 'a table', list: 'a list', date: 'a date'}


class Options(Mapping):
    """A read-only mapping whose ``repr()`` hides the values of ``secret`` keys."""

    def __init__(self, data, secret=()):
        self._data = dict(data)
        self._secret = frozenset(secret)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return '{%s}' % ', '.join(
            '%r: %s' % (k, "'***'" if k in self._secret and v else _shown(v))
            for k, v in self._data.items())

    __str__ = __repr__


def _shown(value):
    """repr() of an option value without URL credentials nor secret-looking header values."""
    if isinstance(value, str):
        return repr(redact(value))
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%r: %s' % (k, "'***'" if secret_name(k) else _shown(v))
                                  for k, v in value.items())
    return repr(value)


def _is(value, kind):
    if kind is bool:
        return isinstance(value, bool)
    if kind in (int, NUMBER):
        return isinstance(value, kind) and not isinstance(value, bool)
    if kind is STRLIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind is STRMAP:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind is BOOL_OR_STR:
        return isinstance(value, (bool, str))
    if kind is DATE:
        return value is None or isinstance(value, (date, str))
    if kind is SIZE:
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_value(value, kind, fname, key):
    """:raises ConfigError: when ``value`` is not of ``kind`` (or is nan / inf)."""
    if not _is(value, kind):
        got = next((t for c, t in _TOML_TYPE.items() if isinstance(value, c)), type(value).__name__)
        shown = '' if secret_name(key.rsplit('.', 1)[-1]) else ' (%r)' % (value,)
        raise ConfigError('must be %s, not %s%s' % (_KIND_TEXT[kind], got, shown), fname, key)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError('must be a finite number, not %r' % value, fname, key)


def check_range(value, low, high, fname, key, unit='', low_open=False):
    """:raises ConfigError: unless ``low <= value <= high`` (``low < value`` with ``low_open``)."""
    if (value > low if low_open else value >= low) and value <= high:
        return
    text = ('more than %g%s and at most %g%s' if low_open else 'between %g%s and %g%s') % (
        low, unit, high, unit)
    raise ConfigError('must be %s, not %r' % (text, value), fname, key)


def check_table(table, schema, fname, prefix, fill=False):
    """Check the keys and value types of ``table`` against ``schema``.

    :returns: with ``fill``, a new dict with every schema key (defaults filled)
    :raises ConfigError: unknown key (with a suggestion), wrong type, missing key
    """
    import difflib
    dotted = (prefix + '.') if prefix else ''
    for key, value in table.items():
        if key not in schema:
            match = difflib.get_close_matches(key, list(schema), n=1)
            hint = (' (did you mean %r?)' % match[0]) if match else (
                ' (known keys: %s)' % ', '.join(schema))
            raise ConfigError('unknown key%s' % hint, fname, dotted + key)
        check_value(value, schema[key][0], fname, dotted + key)
    if not fill:
        return table
    out = {}
    for key, (kind, default) in schema.items():
        if key in table:
            out[key] = table[key]
        elif default is REQUIRED:
            raise ConfigError('missing (required)', fname, dotted + key)
        else:
            out[key] = list(default) if isinstance(default, list) else (
                dict(default) if isinstance(default, dict) else default)
    return out


def validate_target(ttype, o, fname, key):
    """Checks of values that go beyond types. :raises ConfigError:"""
    def fail(k, msg):
        raise ConfigError(msg, fname, '%s.%s' % (key, k))

    for k in ('timeout', 'connect_timeout'):
        if k in o:
            check_range(o[k], 0, MAX_TIMEOUT, fname, '%s.%s' % (key, k), ' s', low_open=True)
    if 'port' in o and ttype != 'serial' and not 0 < o['port'] < 65536:
        fail('port', 'must be between 1 and 65535')
    if ttype == 'http':
        url = o['url']
        if not url.lower().startswith(('http://', 'https://')):
            fail('url', 'must start with http:// or https://, not %r' % redact(url))
        _check_url(url, fail)
        _check_headers(o['headers'], fail)
        if not _TOKEN.fullmatch(o['field']):
            fail('field', 'invalid form field name %r: letters, digits and - _ . only'
                 % o['field'])
        for k in ('username', 'password'):
            if not _latin1(o[k]):
                fail('password_file' if k == 'password' and o['password_file'] else k,
                     'holds characters HTTP Basic authentication cannot carry (only Latin-1 '
                     'ones)')
        o['method'] = o['method'].upper()
        if o['method'] not in ('POST', 'PUT'):
            fail('method', 'must be POST (multipart form) or PUT (raw body)')
        if url.lower().startswith('http://') and o['password']:
            log.warning('%s: %s.url: the password would be sent in clear over http://; '
                        'use https://', fname, key)
    elif ttype == 'serial':
        if o['protocol'] not in ('ymodem', 'xmodem'):
            fail('protocol', 'must be "ymodem" (exact size, recommended) or "xmodem" '
                             '(the last block is padded with 0x1A)')
        check_range(o['baudrate'], 50, 4000000, fname, key + '.baudrate')
    elif ttype == 'sftp' and not (o['password'] or o['key_file']):
        fail('key_file', 'set key_file (or password / password_file) to log in')
    elif ttype == 'dir' and not o['path']:
        fail('path', 'must not be empty')
    elif ttype == 's3':
        from pycstbox.export.config.s3check import validate_s3
        validate_s3(o, fail)
    from pycstbox.export.config.budget import validate as validate_budget
    validate_budget(o, fail)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _check_url(url, fail):
    """Host and port must parse: an URL that cannot be requested fails at load, not per run."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(url)
        parts.port                          # noqa: B018 -- raises ValueError when invalid
    except ValueError as exc:
        fail('url', 'invalid URL %r: %s' % (redact(url), exc))
    if not parts.hostname or any(c.isspace() or ord(c) < 32 for c in url):
        fail('url', 'invalid URL %r: no host name, or spaces / control characters (write '
                    'spaces as %%20)' % redact(url))


def _check_headers(headers, fail):
    """Header names are HTTP tokens, values have no control character (CR/LF...)."""
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            fail('headers', 'invalid header name %r: letters, digits and - only' % name)
        if any(ord(c) < 32 and c != '\t' or ord(c) == 127 for c in value):
            fail('headers', 'the value of header %s holds a control character (line break?)'
                 % name)
        if not _latin1(value):
            fail('headers', 'the value of header %s holds characters HTTP headers cannot carry '
                            '(only Latin-1 ones)' % name)


def _latin1(text):
    try:
        str(text).encode('latin-1')
    except UnicodeEncodeError:
        return False
    return True
