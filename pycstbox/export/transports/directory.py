"""``dir`` transport: copy into a local directory (USB key, NFS mount...).

The file is copied to a temporary name in the destination (``.NAME.tmp``), fsynced,
renamed over ``NAME`` and the directory is fsynced: a crash or a full disk never leaves
a partial file under the final name.  A destination that is missing, not a directory or
read-only is permanent (someone must mount or fix it); a full disk is temporary.

Listing (``cbx-export audit``): ``listing`` gives names and sizes from one directory
scan; ``stat`` also hashes the file (SHA-256, read in chunks: local files are cheap).

Options: ``path`` (the destination directory).
"""

import errno
import hashlib
import logging
import os

from pycstbox.export.atomic import fsync_dir, is_temp_name
from pycstbox.export.transports import RemoteFile, Transport, temp_name

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024

_TEMPORARY = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR,
              errno.ESTALE, errno.ETIMEDOUT, errno.EBUSY, errno.ENOMEM, errno.EMFILE,
              errno.ENFILE}
_HINTS = {
    errno.ENOENT: 'the directory does not exist: mount the medium or create the directory',
    errno.ENOTDIR: 'the path is not a directory: fix path in the target configuration',
    errno.EROFS: 'the file system is read-only: remount it read-write or change path',
    errno.EACCES: 'permission denied: give the export user write access to the directory',
    errno.EPERM: 'operation not permitted: give the export user write access',
    errno.ENOSPC: 'no space left on the destination: free some space (will retry)',
    errno.EDQUOT: 'disk quota exceeded on the destination: free some space (will retry)',
}


class DirTransport(Transport):
    """Deliver files into a local directory (see the module docstring)."""

    type = 'dir'
    stat_checksum = True         # stat() hashes the local file

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.path = os.fspath(self.opt('path', ''))

    def _error(self, exc, what):
        hint = _HINTS.get(exc.errno, exc.strerror or str(exc))
        msg = 'cannot %s in %s: %s' % (what, self.path, hint)
        if exc.errno in _TEMPORARY:
            return self.temporary(msg)
        # the destination itself (missing, not a directory, no rights): every file is refused
        target = exc.errno in (errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR)
        return self.permanent(msg, scope='target' if target else 'file')

    def _check_destination(self):
        if not self.path:
            raise self.permanent('no path configured for the destination directory',
                                 scope='target')
        if not os.path.isdir(self.path):
            err = errno.ENOTDIR if os.path.exists(self.path) else errno.ENOENT
            raise self._error(OSError(err, os.strerror(err)), 'write')

    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Copy ``path`` to ``<dir>/<name>`` via a fsynced temporary file and a rename."""
        with self.open_source(path) as src:
            self._check_destination()
            final = os.path.join(self.path, name)
            tmp = os.path.join(self.path, temp_name(name))
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise self._error(exc, 'create %s' % temp_name(name)) from exc
            try:
                try:
                    while True:
                        chunk = src.read(CHUNK)
                        if not chunk:
                            break
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view):]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, final)
                fsync_dir(self.path)
            except OSError as exc:
                _unlink_quietly(tmp)
                raise self._error(exc, 'write %s' % name) from exc
            except BaseException:
                _unlink_quietly(tmp)
                raise
        log.debug('target %s: %s written to %s', self.name, name, self.path)

    def listing(self, prefix=''):
        """:class:`RemoteFile` (name, size) of the files under ``prefix``, one scan."""
        self._check_destination()
        sub, _, start = prefix.rpartition('/')
        base = os.path.join(self.path, sub) if sub else self.path
        try:
            with os.scandir(base) as entries:
                for e in entries:
                    if not e.name.startswith(start) or is_temp_name(e.name):
                        continue
                    try:
                        if e.is_file():
                            yield RemoteFile(sub + '/' + e.name if sub else e.name,
                                             e.stat().st_size)
                    except FileNotFoundError:     # removed while listed
                        continue
        except FileNotFoundError:
            if sub:
                return
            raise self._error(OSError(errno.ENOENT, 'no such directory'), 'list')
        except OSError as exc:
            raise self._error(exc, 'list the files') from exc

    def stat(self, key):
        """Size and SHA-256 of ``key``; None when absent."""
        h = hashlib.sha256()
        size = 0
        try:
            with open(os.path.join(self.path, key), 'rb') as f:
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    h.update(chunk)
                    size += len(chunk)
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:
            raise self._error(exc, 'read %s' % key) from exc
        return RemoteFile(key, size, h.hexdigest())

    def check(self):
        """The directory exists and a probe file can be created and removed in it."""
        self._check_destination()
        probe = os.path.join(self.path, temp_name('cbx-export-check.%d' % os.getpid()))
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            _unlink_quietly(probe)
            raise self._error(exc, 'write') from exc


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


TRANSPORT = DirTransport
