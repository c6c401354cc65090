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

Layout: format version 1, one row group per :data:`ROWS` events (or fewer when the
strings buffered pass :data:`ROW_GROUP_BYTES`), one v1 data page per column chunk,
every page GZIP compressed (zlib, level 6: every reader has it).  A string column is
dictionary encoded (dictionary page, PLAIN_DICTIONARY indices) when that is smaller than
plain, per row group.  Each column chunk has statistics (null count, min/max) and the
file declares the type-defined column order, so engines can skip row groups.
``created_by`` is ``cstbox-export version X.Y.Z``: no time, no host; the same events
always give the same bytes.  Memory is bounded by one row group; the output is written
front to back (it may be a pipe); the file cannot be gzipped again (``compress`` must
be ``none``).

Reading back: ``pyarrow.parquet.read_table(path)``, or DuckDB ``read_parquet(path)``.
"""

import struct
import zlib
from collections import Counter
from datetime import datetime

from pycstbox.export import __version__

from . import thrift as t
from .base import UTC, Format, utc
from .rle import hybrid, width

ROWS = 65536
ROW_GROUP_BYTES = 32 * 1024 * 1024
LEVEL = 6
CREATED_BY = 'cstbox-export version %s' % __version__
MAGIC = b'PAR1'
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATS_MAX = 256            # longer string min/max are left out of the statistics
EXACT = 2 ** 53            # integers a double holds exactly

INT64, DOUBLE, BYTE_ARRAY = 2, 5, 6
REQUIRED, OPTIONAL = 0, 1
UTF8, TIMESTAMP_MILLIS = 0, 9
PLAIN, PLAIN_DICTIONARY, RLE = 0, 2, 3
GZIP = 2
DATA_PAGE, DICTIONARY_PAGE = 0, 2

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


def encode_text(text):
    """UTF-8 bytes of ``text``; lone surrogates escaped (see the module docstring)."""
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace')


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


class _Strings:
    """One string column of the row group being built: distinct values and indices."""

    __slots__ = ('index', 'values', 'rows', 'size')

    def __init__(self):
        self.index = {}
        self.values = []        # UTF-8 bytes, by index
        self.rows = []          # an index per row (None: null)
        self.size = 0

    def add(self, text):
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.values)
            data = encode_text(text)
            self.values.append(data)
            self.size += len(data)
        return i


def _gzip(data):
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
    return z.compress(data) + z.flush()


def _levels(present):
    """Definition levels (bit width 1) with their 4-byte length, as a v1 page holds them."""
    data = hybrid(present, 1)
    return _pack_len(len(data)) + data


def _stats(nulls, low=None, high=None):
    if low is not None and (len(low) > STATS_MAX or len(high) > STATS_MAX):
        low = high = None
    return [(3, t.I64, nulls), (5, t.BINARY, high), (6, t.BINARY, low)]


class Parquet(Format):
    name = 'parquet'
    extension = 'parquet'
    compressible = False
    compressed_as = 'compressed inside (GZIP pages)'

    def __init__(self, fileobj, tmpdir=None):
        Format.__init__(self, fileobj, tmpdir)
        self._pos = 0
        self._groups = []       # RowGroup structs of the footer
        self._keys = {}         # (var_type, var_name, unit) -> their indices in the row group
        self._emit(MAGIC)
        self._start_group()

    def _emit(self, data):
        self._out.write(data)
        self._pos += len(data)

    def _start_group(self):
        self._times = []
        self._numbers = []
        self._var_type, self._var_name = _Strings(), _Strings()
        self._text, self._unit = _Strings(), _Strings()
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

    # -- column chunks ---------------------------------------------------------------------

    def _page(self, kind, raw, header):
        """Write one page; returns (offset, uncompressed size, compressed size) with header."""
        body = _gzip(raw)
        head = t.encode([(1, t.I32, kind), (2, t.I32, len(raw)), (3, t.I32, len(body))]
                        + header)
        offset = self._pos
        self._emit(head)
        self._emit(body)
        return offset, len(head) + len(raw), len(head) + len(body)

    def _chunk(self, column, n, values, nulls, present, stats, dictionary=None, entries=0):
        """Write a column chunk (optional dictionary page, one data page): its ColumnChunk."""
        name, ptype = column[0], column[1]
        start = self._pos
        usize = csize = 0
        dict_offset = None
        encoding = PLAIN
        encodings = {PLAIN}
        if dictionary is not None:
            dict_offset, u, c = self._page(DICTIONARY_PAGE, dictionary, [
                (7, t.STRUCT, [(1, t.I32, entries), (2, t.I32, PLAIN_DICTIONARY)])])
            usize, csize = u, c
            encoding = PLAIN_DICTIONARY
            encodings = {PLAIN_DICTIONARY}
        raw = values
        if column[2] == OPTIONAL:
            raw = _levels(present) + values
            encodings.add(RLE)
        data_offset, u, c = self._page(DATA_PAGE, raw, [(5, t.STRUCT, [
            (1, t.I32, n), (2, t.I32, encoding), (3, t.I32, RLE), (4, t.I32, RLE)])])
        usize += u
        csize += c
        meta = [(1, t.I32, ptype), (2, (t.LIST, t.I32), sorted(encodings)),
                (3, (t.LIST, t.BINARY), [name]), (4, t.I32, GZIP), (5, t.I64, n),
                (6, t.I64, usize), (7, t.I64, csize), (9, t.I64, data_offset),
                (11, t.I64, dict_offset), (12, t.STRUCT, _stats(nulls, *stats))]
        return [(2, t.I64, start), (3, t.STRUCT, meta)], usize, csize

    def _strings(self, column, col, n):
        rows = col.rows
        present = [0 if i is None else 1 for i in rows] if column[2] == OPTIONAL else None
        used = [i for i in rows if i is not None] if present is not None else rows
        values = col.values
        stats = (min(values), max(values)) if values else ()
        counts = Counter(used)
        plain_size = sum((4 + len(values[i])) * c for i, c in counts.items())
        bits = width(len(values) - 1) if values else 1
        dict_size = sum(4 + len(v) for v in values) + len(used) * bits // 8 + 64
        if values and dict_size < plain_size:
            dictionary = b''.join(_pack_len(len(v)) + v for v in values)
            data = bytes([bits]) + hybrid(used, bits)
            return self._chunk(column, n, data, n - len(used), present, stats,
                               dictionary, len(values))
        data = b''.join(_pack_len(len(values[i])) + values[i] for i in used)
        return self._chunk(column, n, data, n - len(used), present, stats)

    def _flush_group(self):
        n = len(self._times)
        if not n:
            return
        start = self._pos
        chunks = []
        times = self._times
        columns = iter(COLUMNS)
        chunks.append(self._chunk(next(columns), n, struct.pack('<%dq' % n, *times), 0, None,
                                  (_pack_long(min(times)), _pack_long(max(times)))))
        chunks.append(self._strings(next(columns), self._var_type, n))
        chunks.append(self._strings(next(columns), self._var_name, n))
        numbers = self._numbers
        present = [0 if v is None else 1 for v in numbers]
        kept = [v for v in numbers if v is not None]
        finite = [v for v in kept if v == v]
        stats = ()
        if finite:
            low, high = min(finite), max(finite)
            stats = (_pack_double(-0.0 if low == 0 else low),
                     _pack_double(0.0 if high == 0 else high))
        chunks.append(self._chunk(next(columns), n, struct.pack('<%dd' % len(kept), *kept),
                                  n - len(kept), present, stats))
        chunks.append(self._strings(next(columns), self._text, n))
        chunks.append(self._strings(next(columns), self._unit, n))
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
            self._emit(meta + _pack_len(len(meta)) + MAGIC)
        return self.count
