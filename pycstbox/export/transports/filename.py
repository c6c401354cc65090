"""File names as each protocol and the logs can carry them.

An outbox file may be called anything the file system allows: line breaks,
control characters, bytes that are not UTF-8 (``os.listdir`` gives those back
as lone surrogates, ``\\udc80``-``\\udcff``).  Such a name must neither break a
protocol (an FTP command line, an HTTP header, a multipart header), nor forge a
log line, nor stop the upload of the other files.

- :func:`printable` is for logs and messages: control characters and undecodable
  bytes become ``\\xNN`` (a name can no longer start a new log line);
- :func:`wire_name` is the remote name (FTP file name, multipart ``filename``):
  control characters and undecodable bytes become ``%NN``; every other character,
  ``%`` included, is kept, so an ordinary name arrives unchanged;
- :func:`header_value` is for an opaque header value (``Idempotency-Key``): every
  byte outside visible ASCII, and ``%``, becomes ``%NN`` (one key per name).
"""

_SURROGATES = range(0xdc80, 0xdd00)


def _odd(ch):
    """True for a control character (C0, DEL, C1) or an undecodable byte."""
    o = ord(ch)
    return o < 0x20 or 0x7f <= o < 0xa0 or o in _SURROGATES


def _byte(ch):
    o = ord(ch)
    return o - 0xdc00 if o in _SURROGATES else o


def printable(text):
    """``text`` safe for one log line: control characters and odd bytes as ``\\xNN``."""
    text = str(text)
    if not any(_odd(c) for c in text):
        return text
    return ''.join('\\x%02x' % _byte(c) if _odd(c) else c for c in text)


def wire_name(name):
    """The name sent to a receiver: control characters and odd bytes as ``%NN``."""
    if not any(_odd(c) for c in name):
        return name
    out = []
    for c in name:
        if ord(c) in _SURROGATES:
            out.append('%%%02X' % _byte(c))
        elif _odd(c):
            out.append(''.join('%%%02X' % b for b in c.encode('utf-8')))
        else:
            out.append(c)
    return ''.join(out)


def header_value(text):
    """``text`` as an HTTP header value: visible ASCII only, the rest (and ``%``) as ``%NN``."""
    if all(0x21 <= ord(c) <= 0x7e and c != '%' for c in text):
        return text
    data = text.encode('utf-8', 'surrogateescape')
    return ''.join(chr(b) if 0x21 <= b <= 0x7e and b != 0x25 else '%%%02X' % b for b in data)
