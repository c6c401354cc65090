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

from .base import BATCH, UTC, CsvFormat, SecondText, utc, value_text


class Csv(CsvFormat):
    name = 'csv'
    extension = 'csv'
    dialect = {'lineterminator': '\r\n'}

    def __init__(self, fileobj, tmpdir=None):
        CsvFormat.__init__(self, fileobj, tmpdir)
        self._writer.writerow(('timestamp', 'msec', 'var_type', 'var_name', 'value', 'units'))
        self._pending = 1
        self._writerow = self._writer.writerow
        self._second = SecondText(' ')

    def write(self, event):
        """One row; :meth:`_row` inlined (the hot loop of an export)."""
        ts = event.timestamp
        if ts.tzinfo is not UTC:
            ts = utc(ts)
        value = event.value
        self._writerow((self._second.text(ts), ts.microsecond // 1000, event.var_type,
                        event.var_name, '' if value is None else str(value), event.unit))
        self.count += 1
        self._pending += 1
        if self._pending >= BATCH:
            self._flush()

    def _row(self, event):
        ts = utc(event.timestamp)
        return (ts.isoformat(' ', 'seconds')[:19], ts.microsecond // 1000,
                event.var_type, event.var_name, value_text(event.value), event.unit)
