"""Compression of a format's output: ``none`` or ``gzip`` (level 6).

The gzip header carries no file name and a zero time, so the same events always
give the same bytes (a resend is byte-identical).  Read back with
``gzip.open(path, 'rt', encoding='utf-8', newline='')``.
"""

NAMES = ('none', 'gzip')
LEVEL = 6
EXTENSIONS = {'none': '', 'gzip': '.gz'}


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
