"""Parquet's RLE / bit-packing hybrid encoding (definition levels, dictionary indices).

``hybrid(values, width) -> bytes``: a run of 16 or more equal values is written as an
RLE run (``varint(count << 1)`` then the value in ``ceil(width / 8)`` bytes,
little-endian); the values between runs are bit-packed in groups of 8
(``varint(groups << 1 | 1)`` then the values, ``width`` bits each, least significant
bit first), the last group padded with zeros (the page's value count says where the
values end).  A literal stretch is topped up to a multiple of 8 with the first values of
the run that follows, so that only the very last group is ever padded.
"""

from itertools import groupby

from .thrift import varint

MIN_RUN = 16


def _packed(values, width, out):
    pad = -len(values) % 8
    if pad:
        values = values + [0] * pad
    top = max(values)
    table = [format(i, '0%db' % width) for i in range(top + 1)]
    bits = ''.join(map(table.__getitem__, reversed(values)))      # last value first
    out += varint(len(values) // 8 << 1 | 1)
    out += int(bits, 2).to_bytes(len(values) * width // 8, 'little')


def hybrid(values, width):
    """The RLE/bit-packed hybrid encoding of the non-negative ints ``values``."""
    out = bytearray()
    size = (width + 7) // 8
    literal = []
    for value, run in groupby(values):
        n = len(list(run))
        if n < MIN_RUN:
            literal.extend([value] * n)
            continue
        top_up = -len(literal) % 8
        if literal:
            literal.extend([value] * top_up)
            n -= top_up
            _packed(literal, width, out)
            literal = []
        out += varint(n << 1)
        out += value.to_bytes(size, 'little')
    if literal:
        _packed(literal, width, out)
    return bytes(out)


def width(top):
    """Bits needed for the values 0..``top`` (at least 1)."""
    return max(1, top.bit_length())
