"""``csv``: the CSTBox CSV exporter's columns (DESIGN section 9).

::

    timestamp,msec,var_type,var_name,value,units
    2026-11-27 13:45:12,123,temperature,temp_living,21.5,degC

- UTF-8, comma separated, lines end with ``\\r\\n`` (RFC 4180); a field holding a comma, a
  quote, a CR or a newline is quoted (``"``, inner quotes doubled), as RFC 4180
  and Python's ``csv`` module do.
- ``timestamp`` is ``%Y-%m-%d %H:%M:%S`` in UTC, ``msec`` the milliseconds
  (0..999, truncated).
- ``value``: see :mod:`pycstbox.export.formats.base` (``None`` -> empty,
  booleans ``True``/``False``, floats with ``repr()``: ``nan``, ``inf``, ``-0.0``).
- ``units``: empty when the event has none.

Reading back: ``csv.reader(open(path, newline='', encoding='utf-8'))``, skip the
header, then ``base.decode_value(row[4])``.
"""

import csv as _csv
import io

from .base import BATCH, UTC, CsvFormat, SecondText, utc, value_text


class Csv(CsvFormat):
    name = 'csv'
    extension = 'csv'
    dialect = {'lineterminator': '\r\n'}

    def __init__(self, fileobj, tmpdir=None):
        CsvFormat.__init__(self, fileobj, tmpdir)
        self._writer.writerow(('timestamp', 'msec', 'var_type', 'var_name', 'value', 'units'))
        self._pending = 1
        self._put = self._buf.write
        self._second = SecondText(' ')
        self._fragments = {}     # (var_type, var_name, unit) -> their fields, as csv writes them

    def write(self, event):
        """One row, as ``csv.writer`` writes :meth:`_row`, for less CPU: the quoted text
        of a variable's fields is made once by ``csv.writer`` itself and kept; numbers
        never need quoting; other values go through ``csv.writer``."""
        ts, var_type, var_name, value, unit, _ = event      # (one unpacking, no properties)
        if ts.tzinfo is not UTC:
            ts = utc(ts)
        key = (var_type, var_name, unit)
        parts = self._fragments.get(key)
        if parts is None:
            parts = self._fragment(key)
        cls = value.__class__
        if cls is float or cls is int or cls is bool:
            text = str(value)
        elif value is None:
            text = ''
        else:
            text = self._field(str(value))
        self._put('%s,%d,%s,%s,%s\r\n' % (self._second.text(ts), ts.microsecond // 1000,
                                          parts[0], text, parts[1]))
        self.count += 1
        self._pending += 1
        if self._pending >= BATCH:
            self._flush()

    def _field(self, text):
        """``text`` as one field of a row of ``csv.writer`` (quoted when it needs it)."""
        out = io.StringIO()
        _csv.writer(out, **self.dialect).writerow((text, ''))
        return out.getvalue()[:-3]          # without ",\r\n"

    def _fragment(self, key):
        var_type, var_name, unit = key
        out = io.StringIO()
        _csv.writer(out, **self.dialect).writerow((var_type, var_name))
        parts = (out.getvalue()[:-2], self._field(unit))
        if len(self._fragments) >= 4096:
            self._fragments.clear()
        self._fragments[key] = parts
        return parts

    def _row(self, event):
        ts = utc(event.timestamp)
        return (ts.isoformat(' ', 'seconds')[:19], ts.microsecond // 1000,
                event.var_type, event.var_name, value_text(event.value), event.unit)
