"""``parquet``: one Apache Parquet file per window, typed columns (DESIGN section 9).

Columns (flat schema, in this order; documented for users in ``docs/formats.md``):

=============  ==========================================  ====================================
column         Parquet type                                holds
=============  ==========================================  ====================================
``timestamp``  INT64 TIMESTAMP(MILLIS, UTC-adjusted),      the event time, UTC, milliseconds
               required                                    (truncated, as the text formats)
``var_type``   BYTE_ARRAY STRING, required                 the variable type
``var_name``   BYTE_ARRAY STRING, required                 the variable name
``value``      DOUBLE, optional                            the value when it is a number:
                                                           int and float as double, booleans
                                                           1/0; NaN and +-inf kept; null
                                                           when the value is not a number
``text``       BYTE_ARRAY STRING, optional                 the value's text when ``value``
                                                           does not hold it exactly: strings,
                                                           booleans (``True``/``False``, so 1
                                                           and True stay apart), integers no
                                                           double holds (beyond 2**53: their
                                                           digits); null otherwise
``unit``       BYTE_ARRAY STRING, required                 the unit, ``''`` when absent
=============  ==========================================  ====================================

A ``None`` value is null in both ``value`` and ``text``.  An integer too large for a
double (beyond 1.8e308) has a null ``value`` and its digits in ``text``.  NaN is a
double NaN (engines: ``avg`` of a column holding NaN is NaN; filter with
``NOT isnan(value)``); it is left out of the min/max statistics, as the format asks.
A string holding a lone surrogate (which the D-Bus store cannot send) is written with a
backslash escape (``\\udce9``): Parquet strings must be valid UTF-8.

Layout (:mod:`.parquetchunk` writes the column chunks): format version 1, one row group
per :data:`ROWS` events (or fewer when the strings buffered pass :data:`ROW_GROUP_BYTES`),
one v1 data page per column chunk,
every page GZIP compressed (zlib, level 6: every reader has it).  ``timestamp`` is
DELTA_BINARY_PACKED (:mod:`.delta`), ``value`` PLAIN; a string column is dictionary
encoded (dictionary page, PLAIN_DICTIONARY indices, :mod:`.rle`) when that is smaller
than plain, per row group.  Each column chunk has statistics (null count, min/max) and the
file declares the type-defined column order, so engines can skip row groups.
``created_by`` is ``cstbox-export version X.Y.Z``: no time, no host; the same events
always give the same bytes.  Memory is bounded by one row group; the output is written
front to back (it may be a pipe); the file cannot be gzipped again (``compress`` must
be ``none``).

Reading back: ``pyarrow.parquet.read_table(path)``, or DuckDB ``read_parquet(path)``.
"""

import struct
from datetime import datetime

from pycstbox.export import __version__

from . import delta, thrift as t
from .base import UTC, Format, utc
from .parquetchunk import (BYTE_ARRAY, DELTA_BINARY_PACKED, DOUBLE, INT64, OPTIONAL, REQUIRED,
                           TIMESTAMP_MILLIS, UTF8, Chunks, Strings)

ROWS = 65536
ROW_GROUP_BYTES = 32 * 1024 * 1024
CREATED_BY = 'cstbox-export version %s' % __version__
MAGIC = b'PAR1'
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXACT = 2 ** 53            # integers a double holds exactly

STRING = [(1, t.STRUCT, [])]
TIMESTAMP = [(8, t.STRUCT, [(1, t.BOOL, True), (2, t.STRUCT, [(1, t.STRUCT, [])])])]
# name, physical type, repetition, converted type, logical type
COLUMNS = (('timestamp', INT64, REQUIRED, TIMESTAMP_MILLIS, TIMESTAMP),
           ('var_type', BYTE_ARRAY, REQUIRED, UTF8, STRING),
           ('var_name', BYTE_ARRAY, REQUIRED, UTF8, STRING),
           ('value', DOUBLE, OPTIONAL, None, None),
           ('text', BYTE_ARRAY, OPTIONAL, UTF8, STRING),
           ('unit', BYTE_ARRAY, REQUIRED, UTF8, STRING))

_pack_len = struct.Struct('<I').pack
_pack_double = struct.Struct('<d').pack
_pack_long = struct.Struct('<q').pack


def number(value):
    """``(value column, text column)`` of an event value (see the module docstring)."""
    cls = value.__class__
    if cls is float:
        return value, None
    if cls is bool:
        return (1.0, 'True') if value else (0.0, 'False')
    if value is None:
        return None, None
    if isinstance(value, int):
        value = int(value)
        if -EXACT <= value <= EXACT:
            return float(value), None
        try:
            as_float = float(value)
        except OverflowError:
            return None, str(value)
        return as_float, (None if int(as_float) == value else str(value))
    if isinstance(value, float):
        return float(value), None
    return None, str(value)


class Parquet(Format):
    name = 'parquet'
    extension = 'parquet'
    compressible = False
    compressed_as = 'compressed inside (GZIP pages)'

    def __init__(self, fileobj, tmpdir=None):
        Format.__init__(self, fileobj, tmpdir)
        self._file = Chunks(fileobj.write)
        self._groups = []       # RowGroup structs of the footer
        self._keys = {}         # (var_type, var_name, unit) -> their indices in the row group
        self._file.emit(MAGIC)
        self._start_group()

    def _start_group(self):
        self._times = []
        self._numbers = []
        self._var_type, self._var_name = Strings(), Strings()
        self._text, self._unit = Strings(), Strings()
        self._keys.clear()

    def write(self, event):
        """Add one event to the row group; a full row group is written out."""
        ts = event.timestamp
        if ts.tzinfo is not UTC:
            ts = utc(ts)
        d = ts - EPOCH
        self._times.append(d.days * 86400000 + d.seconds * 1000 + d.microseconds // 1000)
        key = (event.var_type, event.var_name, event.unit)
        idx = self._keys.get(key)
        if idx is None:
            idx = self._keys[key] = (self._var_type.add(key[0]), self._var_name.add(key[1]),
                                     self._unit.add(key[2]))
        self._var_type.rows.append(idx[0])
        self._var_name.rows.append(idx[1])
        self._unit.rows.append(idx[2])
        value = event.value
        if value.__class__ is float:
            self._numbers.append(value)
            self._text.rows.append(None)
        else:
            num, text = number(value)
            self._numbers.append(num)
            self._text.rows.append(None if text is None else self._text.add(text))
        self.count += 1
        if len(self._times) >= ROWS or (
                self._text.size + self._var_name.size + self._var_type.size
                + self._unit.size >= ROW_GROUP_BYTES):
            self._flush_group()

    def _flush_group(self):
        n = len(self._times)
        if not n:
            return
        out = self._file
        start = out.pos
        chunks = []
        times = self._times
        columns = iter(COLUMNS)
        chunks.append(out.chunk(next(columns), n, delta.encode(times), 0, None,
                                (_pack_long(min(times)), _pack_long(max(times))),
                                encoding=DELTA_BINARY_PACKED))
        chunks.append(out.strings(next(columns), self._var_type, n))
        chunks.append(out.strings(next(columns), self._var_name, n))
        numbers = self._numbers
        present = [0 if v is None else 1 for v in numbers]
        kept = [v for v in numbers if v is not None]
        finite = [v for v in kept if v == v]
        stats = ()
        if finite:
            low, high = min(finite), max(finite)
            stats = (_pack_double(-0.0 if low == 0 else low),
                     _pack_double(0.0 if high == 0 else high))
        chunks.append(out.chunk(next(columns), n, struct.pack('<%dd' % len(kept), *kept),
                                n - len(kept), present, stats))
        chunks.append(out.strings(next(columns), self._text, n))
        chunks.append(out.strings(next(columns), self._unit, n))
        usize = sum(c[1] for c in chunks)
        csize = sum(c[2] for c in chunks)
        self._groups.append([(1, (t.LIST, t.STRUCT), [c[0] for c in chunks]),
                             (2, t.I64, usize), (3, t.I64, n), (5, t.I64, start),
                             (6, t.I64, csize), (7, t.I16, len(self._groups))])
        self._start_group()

    def _footer(self):
        schema = [[(4, t.BINARY, 'schema'), (5, t.I32, len(COLUMNS))]]
        for name, ptype, repetition, converted, logical in COLUMNS:
            schema.append([(1, t.I32, ptype), (3, t.I32, repetition), (4, t.BINARY, name),
                           (6, t.I32, converted), (10, t.STRUCT, logical)])
        return t.encode([(1, t.I32, 1), (2, (t.LIST, t.STRUCT), schema),
                         (3, t.I64, self.count), (4, (t.LIST, t.STRUCT), self._groups),
                         (6, t.BINARY, CREATED_BY),
                         (7, (t.LIST, t.STRUCT), [[(1, t.STRUCT, [])]] * len(COLUMNS))])

    def close(self):
        """Write the last row group and the footer; returns the event count."""
        if not self._closed:
            self._closed = True
            self._flush_group()
            meta = self._footer()
            self._file.emit(meta + _pack_len(len(meta)) + MAGIC)
        return self.count
