"""The Thrift compact protocol, write side only: what a Parquet footer and page header need.

A struct is written from a list of ``(field id, type, value)`` in increasing field id
order; ``None`` values are left out (optional fields).  Types: :data:`BOOL`, :data:`I32`,
:data:`I64`, :data:`DOUBLE`, :data:`BINARY` (bytes or str, written as UTF-8),
:data:`STRUCT` (a nested list of fields), and ``(LIST, element type)`` with a Python
list (elements of the element type; structs as field lists).

Encoding (Apache Thrift's TCompactProtocol): a field header is one byte
``delta << 4 | type`` when the id grows by 1..15, else the type byte and the id as a
zigzag varint; integers are zigzag varints, doubles 8 bytes little-endian, binaries a
varint length and the bytes, a boolean field carries its value in its type nibble
(1 true, 2 false), a list a byte ``size << 4 | element type`` (size < 15) or
``0xF0 | element type`` then the size as a varint, and a struct ends with a 0 byte.
"""

import struct

BOOL = 1            # BOOLEAN_TRUE; BOOLEAN_FALSE is 2
BYTE = 3
I16 = 4
I32 = 5
I64 = 6
DOUBLE = 7
BINARY = 8
LIST = 9
STRUCT = 12

_pack_double = struct.Struct('<d').pack


def varint(n):
    """An unsigned LEB128 varint."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    """A signed integer as a zigzag varint (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)."""
    return varint((n << 1) ^ (n >> 63) if n < 0 else n << 1)


def _value(out, ftype, value):
    if ftype in (I16, I32, I64):
        out += zigzag(value)
    elif ftype == BINARY:
        if isinstance(value, str):
            value = value.encode('utf-8')
        out += varint(len(value))
        out += value
    elif ftype == STRUCT:
        _struct(out, value)
    elif ftype == DOUBLE:
        out += _pack_double(value)
    elif ftype == BYTE:
        out.append(value & 0xFF)
    else:
        raise ValueError('thrift type %r not supported' % (ftype,))


def _list(out, etype, items):
    n = len(items)
    code = 2 if etype == BOOL else etype        # a list of booleans: one byte each, 1 or 2
    if n < 15:
        out.append(n << 4 | code)
    else:
        out.append(0xF0 | code)
        out += varint(n)
    for item in items:
        if etype == BOOL:
            out.append(1 if item else 2)
        else:
            _value(out, etype, item)


def _struct(out, fields):
    last = 0
    for fid, ftype, value in fields:
        if value is None:
            continue
        if fid <= last:
            raise ValueError('thrift field ids must grow: %d after %d' % (fid, last))
        if isinstance(ftype, tuple):
            code = LIST
        elif ftype == BOOL:
            code = 1 if value else 2
        else:
            code = ftype
        delta = fid - last
        if delta <= 15:
            out.append(delta << 4 | code)
        else:
            out.append(code)
            out += zigzag(fid)
        last = fid
        if isinstance(ftype, tuple):
            _list(out, ftype[1], value)
        elif ftype != BOOL:
            _value(out, ftype, value)
    out.append(0)


def encode(fields):
    """The compact encoding of the struct ``fields`` (see the module docstring)."""
    out = bytearray()
    _struct(out, fields)
    return bytes(out)
