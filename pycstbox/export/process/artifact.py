"""Where a job's file is staged before its upload: RAM first, flash only when needed.

A job writes its file into the runtime directory (``/run/cstbox-export``, a
tmpfs: no flash wear).  When the file grows past ``limit`` bytes (or half the
free space of the runtime directory, whichever is smaller) it moves to
``state_dir/spool/<job>/`` on flash and goes on growing there (a gateway has
little RAM).  When the upload fails, :meth:`Artifact.persist` moves it to the
spool too, so that the retry at the next slot does not depend on the event
store still holding the events.  A successful upload removes it.

Staged and spooled files are readable by their owner only: files 0600, the
directories this module creates 0700 (the runtime directory itself stays
world-readable for ``status.json``).

The SHA-256 and size of the file are computed once, while it is written
(:attr:`Artifact.sha256`, :attr:`Artifact.size`), for the delivery journal; a
file kept from an earlier attempt is hashed from disk, in chunks
(:meth:`Artifact.digest`).
"""

import hashlib
import logging
import os

from pycstbox.export.atomic import fsync_dir, list_names, makedirs_private

log = logging.getLogger(__name__)

#: bytes kept in the runtime directory before moving to flash
DEFAULT_LIMIT = 32 * 1024 * 1024


def _create(path, append=False):
    """A binary file object writing ``path``, created 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), 'ab' if append else 'wb')


class _SpillingFile:
    """A binary file object that moves from ``fast`` to ``slow`` past ``limit`` bytes."""

    def __init__(self, fast, slow, limit):
        self.path = fast
        self._slow = slow
        self._limit = limit
        self._f = _create(fast)
        self._size = 0
        self.hash = hashlib.sha256()

    def write(self, data):
        self._size += len(data)
        self.hash.update(data)
        if self._size > self._limit and self.path != self._slow:
            self._f.flush()
            self._f.close()
            makedirs_private(os.path.dirname(self._slow))
            with open(self.path, 'rb') as src, _create(self._slow) as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    dst.write(chunk)
            os.unlink(self.path)
            self.path = self._slow
            self._f = _create(self.path, append=True)
        return self._f.write(data)

    def flush(self):
        self._f.flush()

    def tell(self):
        return self._size

    def writable(self):
        return True

    def close(self):
        self._f.close()


class Artifact:
    """The staged file of one job window (see module docstring)."""

    def __init__(self, runtime_dir, spool_dir, name, limit=DEFAULT_LIMIT):
        self.name = name
        self.fast = os.path.join(runtime_dir, name)
        self.slow = os.path.join(spool_dir, name)
        self.limit = limit
        self.path = None
        self.sha256 = None          # lowercase hex, known once finished (or digest())
        self.size = None

    @property
    def persisted(self):
        return self.path == self.slow

    def open(self):
        """A writable binary file object for the job's output (starts in the runtime dir)."""
        try:
            makedirs_private(os.path.dirname(self.fast))
            # never fill the tmpfs: past half of its free space the file moves to flash
            st = os.statvfs(os.path.dirname(self.fast))
            limit = min(self.limit, st.f_bavail * st.f_frsize // 2)
            f = _SpillingFile(self.fast, self.slow, limit)
        except OSError:
            # no usable runtime directory: write to flash directly
            makedirs_private(os.path.dirname(self.slow))
            f = _SpillingFile(self.slow, self.slow, self.limit)
        self._file = f
        return f

    def finish(self):
        """Close the output; ``path`` is then the file to upload."""
        self._file.close()
        self.path = self._file.path
        self.sha256 = self._file.hash.hexdigest()
        self.size = self._file.tell()
        if self.path == self.slow:
            self._sync()

    def persist(self):
        """Make sure the file is on flash (for a retry at the next slot). Returns its path."""
        if self.path is None or self.path == self.slow:
            return self.path
        makedirs_private(os.path.dirname(self.slow))
        try:
            os.replace(self.path, self.slow)
        except OSError:             # runtime dir on another filesystem
            tmp = self.slow + '.part'
            with open(self.path, 'rb') as src, _create(tmp) as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    dst.write(chunk)
            os.replace(tmp, self.slow)
            os.unlink(self.path)
        self.path = self.slow
        self._sync()
        return self.path

    def _sync(self):
        fd = os.open(self.slow, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(os.path.dirname(self.slow))

    def digest(self):
        """(sha256 hex, size) of the file to upload: known from the writing, else read."""
        if self.sha256 is None and self.path is not None:
            h = hashlib.sha256()
            size = 0
            with open(self.path, 'rb') as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    size += len(chunk)
            self.sha256, self.size = h.hexdigest(), size
        return self.sha256, self.size

    def discard(self):
        """Remove the staged file wherever it is."""
        for p in {self.fast, self.slow, self.path}:
            if p:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
        self.path = None
        self.sha256 = self.size = None


def owner(name):
    """The backlog id a staged, spooled or kept file belongs to: ``'<id>.<ext>'`` -> ``'<id>'``.

    An id may end in ``.N`` (a requeued dead letter's, see ``DeadLetters.free_id``):
    ``'20261120T000000Z.2.csv.gz'`` -> ``'20261120T000000Z.2'``.
    """
    parts = name.split('.')
    i = 1
    while i < len(parts) - 1 and parts[i].isdigit():
        i += 1
    return '.'.join(parts[:i])


def sweep(staging_root, spool_root, backlog_root):
    """Remove the files of ``staging_root/<job>/`` and ``spool_root/<job>/`` that no entry
    of ``backlog_root/<job>/`` names (a file is named ``<jobid>.<ext>``).

    A run killed between the end of an upload and the removal of its file, or a window
    dropped from the backlog, leaves such a file.  Call it under the run lock: no other
    run is using them.  Returns the paths removed.
    """
    removed = []
    for root in (staging_root, spool_root):
        for job in list_names(root):
            ids = {n[:-5] for n in list_names(os.path.join(backlog_root, job))
                   if n.endswith('.json')}
            d = os.path.join(root, job)
            for name in list_names(d):
                path = os.path.join(d, name)
                if owner(name) in ids or not os.path.isfile(path):
                    continue
                try:
                    os.unlink(path)
                    removed.append(path)
                except OSError as exc:
                    log.warning('cannot remove the orphan file %s: %s', path, exc)
    if removed:
        log.info('removed %d file(s) that no pending window names: %s', len(removed),
                 ', '.join(removed))
    return removed
