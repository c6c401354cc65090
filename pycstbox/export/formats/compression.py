"""Compression of a format's output: ``none``, ``gzip`` (level 6) or ``zstd`` (level 8).

Both are deterministic: the same events always give the same bytes (a resend is
byte-identical, ``audit --deep`` compares SHA-256).

- gzip: the header carries no file name and a zero time.  Read back with
  ``gzip.open(path, 'rt', encoding='utf-8', newline='')``.
- zstd (Debian's ``python3-zstandard``, a Recommends of the package): one frame, written
  as a stream, with fixed frame parameters: no content size (unknown while streaming, so
  never written: the compression parameters are those of an unknown size, whatever the
  window holds), no dictionary id, a content checksum, one thread.  The bytes depend only
  on the events, the level and the zstd library (an upgrade of libzstd may change them;
  the content never changes).  Read back with ``zstd -d`` or
  ``zstandard.ZstdDecompressor().stream_reader(f)`` (the frame has no content size:
  ``ZstdDecompressor().decompress(data)`` needs ``max_output_size``).

Levels (job key ``compress_level``, 0 = the default): gzip 1-9 (default 6), zstd 1-19
(default 8).  zstd 8 was chosen on a generated day (``cbx-evtdb generate``, 12 sensors,
60 s): 0.80x the size of gzip 6 for csv, 0.82x for jsonl (on the 1M-event day of
bench/compression.py: 0.79x and 0.74x, for 1.5x and 1.6x gzip's CPU); zstd's own default
(3) gives 0.99x / 1.03x, 6 gives 0.87x / 0.89x (too close to the 0.9x goal), and levels
above 12 cost 5x to 100x the CPU of gzip.
"""

NAMES = ('none', 'gzip', 'zstd')
LEVEL = 6
EXTENSIONS = {'none': '', 'gzip': '.gz', 'zstd': '.zst'}
#: compression -> (lowest, highest, default) level
LEVELS = {'gzip': (1, 9, 6), 'zstd': (1, 19, 8)}
ZSTD_MISSING = ('compress = "zstd" needs the zstandard library, which is not installed: '
                'apt-get install python3-zstandard (or use compress = "gzip")')


def level_of(compress, level=0):
    """The level used for ``compress`` (``level`` 0 or None: its default)."""
    if compress not in LEVELS:
        return 0
    return level or LEVELS[compress][2]


def zstd_missing():
    """``ZSTD_MISSING`` when the zstandard library cannot be imported, else ``''``."""
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return ZSTD_MISSING
    return ''


class GzipStream:
    """A binary writable that gzips into ``fileobj`` (left open by ``close()``)."""

    def __init__(self, fileobj, level=LEVEL):
        import gzip
        self._gz = gzip.GzipFile(filename='', mode='wb', compresslevel=level,
                                 fileobj=fileobj, mtime=0)

    def write(self, data):
        return self._gz.write(data)

    def flush(self):
        self._gz.flush()

    def close(self):
        self._gz.close()


class ZstdStream:
    """A binary writable that writes one zstd frame into ``fileobj`` (left open by ``close()``).

    :raises ImportError: python3-zstandard is missing (the message says to install it)
    """

    def __init__(self, fileobj, level=LEVELS['zstd'][2]):
        try:
            import zstandard
        except ImportError as exc:
            raise ImportError(ZSTD_MISSING) from exc
        params = zstandard.ZstdCompressionParameters.from_level(
            level, write_content_size=False, write_checksum=True, write_dict_id=False,
            threads=0)
        cctx = zstandard.ZstdCompressor(compression_params=params)
        self._out = fileobj
        self._z = cctx.compressobj()

    def write(self, data):
        chunk = self._z.compress(data)
        if chunk:
            self._out.write(chunk)
        return len(data)

    def flush(self):
        pass                     # a flush would end a block early: bytes would depend on it

    def close(self):
        if self._z is not None:
            self._out.write(self._z.flush())
            self._z = None


def open_stream(compress, fileobj, level=0):
    """The compressing writable of ``compress`` (``gzip`` or ``zstd``) around ``fileobj``."""
    level = level_of(compress, level)
    if compress == 'gzip':
        return GzipStream(fileobj, level)
    return ZstdStream(fileobj, level)
