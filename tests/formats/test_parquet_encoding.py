"""Parquet's integer encodings against decoders written here from the format's spec.

The real readers (DuckDB, pyarrow) check whole files in test_parquet; these hypothesis
tests check the encoders on arbitrary inputs (runs, literals, widths, signed 64-bit
deltas) without a subprocess, so they can try thousands of combinations.
"""

from hypothesis import given, settings, strategies as st

from pycstbox.export.formats import delta, rle

FAST = settings(max_examples=300, deadline=None)


def read_varint(data, pos):
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def unpack(data, pos, count, width):
    """``count`` values of ``width`` bits, least significant bit first, from ``data[pos:]``."""
    nbytes = (count * width + 7) // 8
    big = int.from_bytes(data[pos:pos + nbytes], 'little')
    mask = (1 << width) - 1
    return [(big >> (i * width)) & mask for i in range(count)], pos + nbytes


def decode_hybrid(data, width, count):
    out = []
    pos = 0
    size = (width + 7) // 8
    while len(out) < count:
        header, pos = read_varint(data, pos)
        if header & 1:
            values, pos = unpack(data, pos, (header >> 1) * 8, width)
            out += values
        else:
            out += [int.from_bytes(data[pos:pos + size], 'little')] * (header >> 1)
            pos += size
    assert pos == len(data)                 # nothing left over
    return out[:count]


def decode_delta(data):
    block, pos = read_varint(data, 0)
    minis, pos = read_varint(data, pos)
    count, pos = read_varint(data, pos)
    first, pos = read_varint(data, pos)
    value = (first >> 1) ^ -(first & 1)
    out = [value] if count else []
    per_mini = block // minis
    while len(out) < count:
        low, pos = read_varint(data, pos)
        low = (low >> 1) ^ -(low & 1)
        widths = data[pos:pos + minis]
        pos += minis
        for w in widths:
            if len(out) >= count:
                break
            deltas, pos = unpack(data, pos, per_mini, w)
            for d in deltas:
                if len(out) < count:
                    value = value + low + d
                    out.append(value)
    assert pos == len(data)
    return out


runs = st.lists(st.tuples(st.integers(0, 2 ** 12 - 1), st.integers(1, 40)), max_size=40)


@FAST
@given(runs, st.integers(0, 12))
def test_hybrid_decodes_to_the_values(pieces, extra_bits):
    """RLE/bit-packed hybrid: any mix of runs and literals, any width, decodes exactly."""
    values = [v for v, n in pieces for _ in range(n)]
    width = rle.width(max(values, default=0)) + extra_bits % 3
    assert decode_hybrid(rle.hybrid(values, width), width, len(values)) == values


@FAST
@given(st.lists(st.integers(-2 ** 62, 2 ** 62), max_size=600)
       | st.lists(st.integers(0, 5), max_size=600).map(lambda d: [sum(d[:i]) for i in range(len(d))]))
def test_delta_decodes_to_the_values(values):
    """DELTA_BINARY_PACKED: any 64-bit values (sorted times, jumps, equal values) decode exactly."""
    assert decode_delta(delta.encode(values)) == values
