"""Parquet's RLE / bit-packing hybrid encoding (definition levels, dictionary indices).

``hybrid(values, width) -> bytes``: a run of 16 or more equal values is written as an
RLE run (``varint(count << 1)`` then the value in ``ceil(width / 8)`` bytes,
little-endian); the values between runs are bit-packed in groups of 8
(``varint(groups << 1 | 1)`` then the values, ``width`` bits each, least significant
bit first), the last group padded with zeros (the page's value count says where the
values end).  A literal stretch is topped up to a multiple of 8 with the first values of
the run that follows, so that only the very last group is ever padded.
"""

import re
from itertools import groupby

from .thrift import varint

MIN_RUN = 16
_RUN = re.compile(rb'(.)\1{%d,}' % (MIN_RUN - 1), re.S)      # MIN_RUN equal bytes or more


def pack(values, width):
    """The non-negative ints ``values`` (a multiple of 8 of them), ``width`` bits each, least
    significant bit first: Parquet's bit packing (bit-packed runs, DELTA_BINARY_PACKED)."""
    if not width:
        return b''
    top = max(values)
    if top < 4 * len(values):           # a table of the texts of 0..top (dictionary indices)
        table = [format(i, '0%db' % width) for i in range(top + 1)]
        bits = ''.join(map(table.__getitem__, reversed(values)))      # last value first
    else:
        spec = '0%db' % width
        bits = ''.join([format(v, spec) for v in reversed(values)])
    return int(bits, 2).to_bytes(len(values) * width // 8, 'little')


def _packed(values, width, out):
    pad = -len(values) % 8
    if pad:
        values = values + [0] * pad
    out += varint(len(values) // 8 << 1 | 1)
    out += pack(values, width)


def runs(values, width):
    """``[(start, end)]`` of the stretches of ``MIN_RUN`` or more equal values, in order."""
    if width <= 8:                  # found by the regular expression engine, in C
        return [m.span() for m in _RUN.finditer(bytes(values))]
    out = []
    pos = 0
    for _, run in groupby(values):
        n = len(list(run))
        if n >= MIN_RUN:
            out.append((pos, pos + n))
        pos += n
    return out


def hybrid(values, width):
    """The RLE/bit-packed hybrid encoding of the non-negative ints ``values``."""
    out = bytearray()
    size = (width + 7) // 8
    pos = 0
    for start, end in runs(values, width):
        if start > pos:
            literal = values[pos:start]
            top_up = -len(literal) % 8          # <= 7: the run keeps more than 8 values
            literal += values[start:start + top_up]
            start += top_up
            _packed(literal, width, out)
        out += varint((end - start) << 1)
        out += values[start].to_bytes(size, 'little')
        pos = end
    if pos < len(values):
        _packed(values[pos:], width, out)
    return bytes(out)


def width(top):
    """Bits needed for the values 0..``top`` (at least 1)."""
    return max(1, top.bit_length())
