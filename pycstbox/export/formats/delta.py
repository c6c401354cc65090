"""Parquet's DELTA_BINARY_PACKED encoding of integers (the ``timestamp`` column).

Sorted times make small deltas: a day of events every few milliseconds to seconds takes
1-2 bytes per timestamp instead of 8 (and gzip then finds little left to do).

Layout: a header ``varint(block size = 128)``, ``varint(miniblocks per block = 4)``,
``varint(value count)``, ``zigzag(first value)``; then, for each block of 128 deltas
(``value[i] - value[i - 1]``): ``zigzag(min delta)``, one byte per miniblock giving its bit
width, and the miniblocks of 32 deltas minus the min delta, bit-packed as in
:func:`.rle.pack`.  The last block's missing miniblocks have a width byte of 0 and no
body; its last miniblock is padded with zeros to 32 values.
"""

from .rle import pack
from .thrift import varint, zigzag

BLOCK = 128
MINIBLOCKS = 4
MINI = BLOCK // MINIBLOCKS


def encode(values):
    """DELTA_BINARY_PACKED bytes of the list of ints ``values`` (signed 64-bit)."""
    out = bytearray(varint(BLOCK) + varint(MINIBLOCKS) + varint(len(values)))
    out += zigzag(values[0] if values else 0)
    deltas = [b - a for a, b in zip(values, values[1:])]
    for start in range(0, len(deltas), BLOCK):
        block = deltas[start:start + BLOCK]
        low = min(block)
        out += zigzag(low)
        widths = bytearray(MINIBLOCKS)
        bodies = []
        for m in range(0, len(block), MINI):
            mini = [d - low for d in block[m:m + MINI]]
            mini += [0] * (MINI - len(mini))
            w = max(mini).bit_length()
            widths[m // MINI] = w
            bodies.append(pack(mini, w))
        out += widths
        out += b''.join(bodies)
    return bytes(out)
