"""Output formats of the export, registered by name (DESIGN section 9).

::

    names() -> ['csv', 'tsv', 'excel-csv', 'jsonl', 'dwh-zip']
    get(name) -> Format subclass            KeyError for an unknown name
    extension(name, compress='none')        'csv', 'csv.gz', 'csv.zst', 'zip'
    open_writer(name, fileobj, compress='none', tmpdir=None, level=0) -> Format

A writer streams: ``write(event)`` for each event, then ``close()`` which
finishes the stream (and the gzip member or zstd frame), leaves ``fileobj`` open and returns
the number of events.  How each value type is written and read back is in each
format module's docstring; the shared value rules are in :mod:`.base`.
Adding a format: a module with a ``Format`` subclass, and one line in ``_REGISTRY``.

May import: the standard library and the seed modules (errors); never the
configuration, the process, D-Bus or the network.
"""

import importlib

from .compression import EXTENSIONS, NAMES as COMPRESS_NAMES

_REGISTRY = {
    'csv': ('csv', 'Csv'),
    'tsv': ('tsv', 'Tsv'),
    'excel-csv': ('excelcsv', 'ExcelCsv'),
    'jsonl': ('jsonl', 'Jsonl'),
    'dwh-zip': ('dwhzip', 'DwhZip'),
    'parquet': ('parquet', 'Parquet'),
}


def names():
    """The format names, as written in the configuration."""
    return list(_REGISTRY)


def get(name):
    """The ``Format`` class registered as ``name``; ``KeyError`` if there is none."""
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module('.' + module, __name__), cls)


def extension(name, compress='none'):
    """The file extension (without the dot) of ``name`` with ``compress``."""
    return get(name).extension + EXTENSIONS[compress]


class _Compressed:
    """A writer whose output goes through gzip or zstd: ``close()`` closes both."""

    def __init__(self, inner, stream, suffix):
        self._inner = inner
        self._stream = stream
        self.name = inner.name
        self.extension = inner.extension + suffix
        self.compressible = inner.compressible
        self.write = inner.write

    @property
    def count(self):
        return self._inner.count

    def close(self):
        count = self._inner.close()
        self._stream.close()
        return count

    def abort(self):
        abort = getattr(self._inner, 'abort', None)
        if abort is not None:
            abort()


def open_writer(name, fileobj, compress='none', tmpdir=None, level=0):
    """A ``Format`` writing to the binary ``fileobj`` (``level``: 0 = the compression's default).

    :raises KeyError: unknown format name
    :raises ValueError: unknown ``compress``, or compression asked for a format that is
        already compressed (``dwh-zip``)
    :raises ImportError: zstd without python3-zstandard (the message says to install it)
    """
    cls = get(name)
    if compress not in COMPRESS_NAMES:
        raise ValueError('unknown compression %r (use one of: %s)'
                         % (compress, ', '.join(COMPRESS_NAMES)))
    if compress == 'none':
        return cls(fileobj, tmpdir)
    if not cls.compressible:
        raise ValueError('format %s is already compressed: use compress = "none"' % name)
    from .compression import open_stream
    stream = open_stream(compress, fileobj, level)
    return _Compressed(cls(stream, tmpdir), stream, EXTENSIONS[compress])
