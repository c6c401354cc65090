"""``jsonl``: one JSON object per line (DESIGN section 9).

::

    {"ts": "2026-11-27T13:45:12.123Z", "var_type": "temperature", "var_name": "temp_living", "value": 21.5, "unit": "degC", "data": {"unit": "degC"}}

- UTF-8 (non-ASCII written as is, not ``\\u`` escaped), lines end with ``\\n``;
  a newline inside a string is escaped by JSON, so one line is one event.
- ``ts`` is UTC ISO 8601 with milliseconds (truncated) and ``Z``.
- ``value`` keeps its JSON type: string, integer, float (shortest repr, no precision
  lost), ``true``/``false``, ``null``.  NaN and infinities are written ``NaN``,
  ``Infinity``, ``-Infinity`` as Python's ``json`` and JavaScript do (strict
  parsers need an option for them).
- ``unit`` is ``""`` when absent; ``data`` is the stored dict (without ``value``);
  a value in it that JSON cannot represent is written as its ``str()``.

Reading back: ``json.loads(line)`` for each line.
"""

import json

from .base import Format, utc

_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class Jsonl(Format):
    name = 'jsonl'
    extension = 'jsonl'

    def _line(self, event):
        ts = utc(event.timestamp).isoformat('T', 'milliseconds')[:23] + 'Z'
        return _encode({'ts': ts, 'var_type': event.var_type, 'var_name': event.var_name,
                        'value': event.value, 'unit': event.unit,
                        'data': event.data if event.data is not None else {}}) + '\n'
