"""``tsv``: one event per line, no header (DESIGN section 9).

::

    2026/11/27 13:45:12.123<TAB>temperature<TAB>temp_living<TAB>21.5<TAB>degC

- UTF-8, fields separated by one TAB, lines end with ``\\n``; the time is UTC
  ``%Y/%m/%d %H:%M:%S.mmm`` (milliseconds truncated).
- No quoting exists in this line format, so four characters are escaped with a
  backslash in every field: backslash -> ``\\\\``, TAB -> ``\\t``, newline -> ``\\n``,
  carriage return -> ``\\r``.  Nothing else is escaped.  A line therefore always
  splits into exactly 5 fields.
- ``value``: see :mod:`pycstbox.export.formats.base`; a missing unit is an empty field.

Reading back: ``line.rstrip('\\n').split('\\t')``, then :func:`unescape` on each
field and ``base.decode_value`` on the value.
"""

import re

from .base import Format, utc, value_text

_ESCAPES = {'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_NEEDS = re.compile(r'[\\\t\n\r]')
_ESCAPED = re.compile(r'\\[\\tnr]')


def escape(text):
    """Escape backslash, TAB, LF and CR in a field (see the module docstring)."""
    if _NEEDS.search(text) is None:
        return text
    return _NEEDS.sub(lambda m: _ESCAPES[m.group()], text)


def unescape(field):
    """Inverse of :func:`escape`."""
    if '\\' not in field:
        return field
    return _ESCAPED.sub(lambda m: _UNESCAPES[m.group()], field)


class Tsv(Format):
    name = 'tsv'
    extension = 'tsv'

    def _line(self, event):
        ts = utc(event.timestamp).isoformat(' ', 'milliseconds')
        return '%s%s\t%s\t%s\t%s\t%s\n' % (
            ts[:10].replace('-', '/'), ts[10:23], escape(event.var_type), escape(event.var_name),
            escape(value_text(event.value)), escape(event.unit))
