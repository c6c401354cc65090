"""``excel-csv``: the ``csv`` columns for spreadsheets (DESIGN section 9).

::

    "timestamp";"msec";"var_type";"var_name";"value";"units"
    "2026-11-27 13:45:12";123;"temperature";"temp_living";21.5;"degC"

- UTF-8 without BOM, ``;`` separated, lines end with ``\\r\\n``.
- Every non-numeric field is quoted (``"``, inner quotes doubled), the header too;
  numbers (``msec``, int and float values, including ``nan``/``inf``) and booleans
  (``True``/``False``, which spreadsheets read as booleans) are not quoted.
- ``None`` is an empty quoted field ``""``; a missing unit is ``""``.
- Floats keep ``repr()`` precision with a ``.`` decimal point, whatever the locale.

Reading back: ``csv.reader(f, delimiter=';')`` (default quoting), skip the header,
``base.decode_value(row[4])`` (see :mod:`pycstbox.export.formats.base`).
"""

import csv as _csv

from .base import CsvFormat, utc
from .csv import Csv


class ExcelCsv(Csv):
    """The ``csv`` header and columns, another dialect and value quoting."""

    name = 'excel-csv'
    extension = 'csv'
    dialect = {'delimiter': ';', 'lineterminator': '\r\n', 'quoting': _csv.QUOTE_NONNUMERIC}
    write = CsvFormat.write          # through _row below, not csv's inlined row

    def _row(self, event):
        ts = utc(event.timestamp)
        value = event.value
        if value is None:
            value = ''
        elif not isinstance(value, (int, float)):
            value = str(value)
        # QUOTE_NONNUMERIC: numbers (bool included) bare, str quoted; floats use repr()
        return (ts.isoformat(' ', 'seconds')[:19], ts.microsecond // 1000,
                event.var_type, event.var_name, value, event.unit)
