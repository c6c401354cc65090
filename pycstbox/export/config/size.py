"""Sizes in the configuration: ``"64MiB"``, ``"8 MB"``, ``"512k"``, ``1048576``.

Units: none or ``B`` (bytes), ``k``/``K``/``KiB`` (1024), ``KB`` (1000), ``M``/``MiB``
(1024²), ``MB`` (1000²), ``G``/``GiB`` (1024³), ``GB`` (1000³); case-insensitive for
the binary ones.  ``parse_size`` raises ``ValueError`` with a readable reason.
"""

import re

_UNITS = {'': 1, 'b': 1, 'k': 1024, 'kib': 1024, 'kb': 1000, 'm': 1024 ** 2, 'mib': 1024 ** 2,
          'mb': 1000 ** 2, 'g': 1024 ** 3, 'gib': 1024 ** 3, 'gb': 1000 ** 3}
_SIZE = re.compile(r'\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*')


def parse_size(value):
    """Bytes of ``value`` (an int, or a string such as ``"64MiB"``). :raises ValueError:"""
    if isinstance(value, bool):
        raise ValueError('must be a size such as "64MiB", not %r' % value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError('must not be negative')
        return value
    m = _SIZE.fullmatch(str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError('must be a size such as "64MiB", "8MiB" or "512KiB", not %r' % value)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
