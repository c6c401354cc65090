"""Column chunks of a Parquet file: pages, encodings, statistics (used by :mod:`.parquet`).

``Chunks(write)`` writes front to back through ``write`` (the output may be a pipe) and
counts the bytes written (``pos``: the offsets the footer needs).  ``chunk()`` writes one
column chunk of a row group (an optional dictionary page, then one v1 data page, each GZIP
compressed) and returns ``(ColumnChunk struct, uncompressed size, compressed size)``;
``strings()`` chooses dictionary or plain encoding for a :class:`Strings` column (the
smaller) and writes it.  Statistics: null count, and min/max when given (string min/max
longer than :data:`STATS_MAX` bytes are left out).
"""

import struct
import zlib
from collections import Counter

from . import thrift as t
from .rle import hybrid, width

LEVEL = 6
STATS_MAX = 256            # longer string min/max are left out of the statistics

INT64, DOUBLE, BYTE_ARRAY = 2, 5, 6
REQUIRED, OPTIONAL = 0, 1
UTF8, TIMESTAMP_MILLIS = 0, 9
PLAIN, PLAIN_DICTIONARY, RLE, DELTA_BINARY_PACKED = 0, 2, 3, 5
GZIP = 2
DATA_PAGE, DICTIONARY_PAGE = 0, 2

_pack_len = struct.Struct('<I').pack


def encode_text(text):
    """UTF-8 bytes of ``text``; lone surrogates escaped (:mod:`.parquet` docstring)."""
    try:
        return text.encode('utf-8')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace')


class Strings:
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


class Chunks:
    """Pages and column chunks written front to back, with their offsets."""

    def __init__(self, write):
        self._write = write
        self.pos = 0

    def emit(self, data):
        """Write ``data`` at :attr:`pos`."""
        self._write(data)
        self.pos += len(data)

    def page(self, kind, raw, header):
        """Write one page; returns (offset, uncompressed size, compressed size) with header."""
        body = _gzip(raw)
        head = t.encode([(1, t.I32, kind), (2, t.I32, len(raw)), (3, t.I32, len(body))]
                        + header)
        offset = self.pos
        self.emit(head)
        self.emit(body)
        return offset, len(head) + len(raw), len(head) + len(body)

    def chunk(self, column, n, values, nulls, present, stats, dictionary=None, entries=0,
              encoding=PLAIN):
        """Write a column chunk (optional dictionary page, one data page): its ColumnChunk."""
        name, ptype = column[0], column[1]
        start = self.pos
        usize = csize = 0
        dict_offset = None
        encodings = {encoding}
        if dictionary is not None:
            dict_offset, u, c = self.page(DICTIONARY_PAGE, dictionary, [
                (7, t.STRUCT, [(1, t.I32, entries), (2, t.I32, PLAIN_DICTIONARY)])])
            usize, csize = u, c
            encoding = PLAIN_DICTIONARY
            encodings = {PLAIN_DICTIONARY}
        raw = values
        if column[2] == OPTIONAL:
            raw = _levels(present) + values
            encodings.add(RLE)
        data_offset, u, c = self.page(DATA_PAGE, raw, [(5, t.STRUCT, [
            (1, t.I32, n), (2, t.I32, encoding), (3, t.I32, RLE), (4, t.I32, RLE)])])
        usize += u
        csize += c
        meta = [(1, t.I32, ptype), (2, (t.LIST, t.I32), sorted(encodings)),
                (3, (t.LIST, t.BINARY), [name]), (4, t.I32, GZIP), (5, t.I64, n),
                (6, t.I64, usize), (7, t.I64, csize), (9, t.I64, data_offset),
                (11, t.I64, dict_offset), (12, t.STRUCT, _stats(nulls, *stats))]
        return [(2, t.I64, start), (3, t.STRUCT, meta)], usize, csize

    def strings(self, column, col, n):
        """Write the :class:`Strings` ``col`` of ``n`` rows, dictionary encoded when smaller."""
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
            return self.chunk(column, n, data, n - len(used), present, stats,
                              dictionary, len(values))
        data = b''.join(_pack_len(len(values[i])) + values[i] for i in used)
        return self.chunk(column, n, data, n - len(used), present, stats)
