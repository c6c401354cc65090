"""Stream the events of a window into a file: the core of ``export`` and of the jobs.

``extract(events, fmt, fileobj, compress='none', tmpdir=None, progress=None, level=0) -> count``

``events`` is any iterable of :class:`pycstbox.evtdb.event.Event` (normally
``EventStoreClient.events(start, end, ...)``, which reads in pages); each event is
written as soon as it is read, so memory does not depend on the window length.
On error nothing is cleaned up in ``fileobj`` (the caller writes to a temporary
name and removes it); temporary files of the format are removed.
"""

EVERY = 4096    # events between two progress checks


def extract(events, fmt, fileobj, compress='none', tmpdir=None, progress=None, level=0):
    """Write ``events`` to the binary ``fileobj`` in format ``fmt``; returns the count.

    :raises KeyError: unknown format
    :raises ValueError: invalid ``compress`` for the format
    :raises ImportError: zstd without python3-zstandard (its message says to install it)
    Any error of the event iterable (``EventStoreError``) or of the output
    (``OSError``) propagates unchanged.
    """
    from pycstbox.export import formats
    writer = formats.open_writer(fmt, fileobj, compress, tmpdir, level)
    write = writer.write
    count = 0
    try:
        if progress is None or not progress.enabled:
            for event in events:
                write(event)
        else:
            for count, event in enumerate(events, 1):
                write(event)
                if not count % EVERY:
                    progress.update(count, event.timestamp)
    except BaseException:
        abort = getattr(writer, 'abort', None)
        if abort is not None:
            abort()
        raise
    return writer.close()


class _HashSink:
    """A write-only output that keeps only the SHA-256 and the size of what it is given."""

    def __init__(self):
        import hashlib
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        return len(data)

    def tell(self):
        return self.size

    def flush(self):
        pass


def digest(events, fmt, compress='none', tmpdir=None, level=0):
    """``(count, sha256 hex, size)`` of the file :func:`extract` would write: nothing stored.

    Exports are deterministic (same events, same bytes), so this is how ``audit --deep``
    tells whether the store still holds what was delivered.
    """
    sink = _HashSink()
    count = extract(events, fmt, sink, compress, tmpdir, level=level)
    return count, sink.hash.hexdigest(), sink.size
