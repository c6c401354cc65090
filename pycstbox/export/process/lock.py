"""One run at a time: ``flock`` on ``state_dir/lock``; one daemon per state directory.

Nothing is written to the lock file (flash): the holder is found in
``/proc/locks``.  The kernel releases a flock when its holder dies, so a killed
run never leaves a stale lock.

:class:`DaemonLock` is the single-instance lock of ``cbx-exportd``: a flock on
the state directory itself (opened read-only: no file to create, nothing
written, and it works on a read-only file system too), so that two daemons
never serve the same outboxes and backlog, whatever their runtime directories.

A state directory on a read-only file system (what an SD card is remounted as
after I/O errors) is reported in one line by :func:`state_dir_problem`; a full one
by :func:`state_dir_full` (not a reason to refuse to start: space may come back).
"""

import fcntl
import os

from pycstbox.export.atomic import makedirs_private
from pycstbox.export.errors import BacklogError, LockError


def state_dir_problem(state_dir):
    """One line saying why ``state_dir`` cannot be written to, or None."""
    path = os.path.abspath(state_dir)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        readonly = os.statvfs(path).f_flag & os.ST_RDONLY
    except OSError:
        return None
    if readonly:
        return ('the state directory %s is on a read-only file system (flash remounted '
                'read-only after errors?): nothing can be exported until it is writable; '
                'check "dmesg", then repair the file system and reboot' % state_dir)
    return None


#: below this many free bytes (or with no free inode) the state directory is full
FULL_BYTES = 64 * 1024


def state_dir_full(state_dir):
    """One line saying the file system of ``state_dir`` is full, or None."""
    path = os.path.abspath(state_dir)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    root = os.geteuid() == 0            # root may use the blocks reserved for it
    free = (st.f_bfree if root else st.f_bavail) * st.f_frsize
    inodes = st.f_ffree if root else st.f_favail
    if free >= FULL_BYTES and (inodes > 0 or st.f_files == 0):
        return None
    return ('the state directory %s is full (%s): due windows cannot be queued nor failed '
            'uploads kept; free space on that file system (see "df %s")'
            % (state_dir, 'no free inode' if free >= FULL_BYTES else '%d KiB free' % (free // 1024),
               state_dir))


def holder(path):
    """'pid N (program)' of the process holding a flock on ``path``, from /proc/locks."""
    try:
        st = os.stat(path)
        with open('/proc/locks') as f:
            lines = f.read().splitlines()
    except OSError:
        return 'unknown'
    for line in lines:
        parts = line.split()
        if len(parts) > 5 and parts[1] == 'FLOCK':
            pid, ident = parts[4], parts[5].split(':')
            if len(ident) == 3 and int(ident[2]) == st.st_ino:
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as c:
                        argv = c.read().split(b'\0')
                    prog = ' '.join(os.path.basename(a.decode(errors='replace'))
                                    for a in argv[:3] if a)[:80]
                except OSError:
                    prog = '?'
                return 'pid %s (%s)' % (pid, prog)
    return 'unknown'


def _unusable(state_dir, path, exc):
    return BacklogError(state_dir_problem(state_dir) or 'cannot open %s: %s; check the state '
                        'directory and its permissions' % (path, exc.strerror or exc))


class RunLock:
    """Context manager around an exclusive, non-blocking flock."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, 'lock')
        self._fd = None

    def holder(self):
        return holder(self.path)

    def acquire(self, blocking=False):
        """Take the lock; LockError when held, BacklogError when the state dir is unusable."""
        try:
            makedirs_private(self.state_dir)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _unusable(self.state_dir, self.path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            who = self.holder()
            raise LockError('another export run holds %s: %s; try again when it has '
                            'finished' % (self.path, who), holder=who) from None
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class DaemonLock:
    """The daemon's single-instance lock: flock on the state directory (see module docstring)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self._fd = None

    def acquire(self):
        """Take it; LockError when another daemon holds it, BacklogError when unusable."""
        try:
            makedirs_private(self.state_dir)
            fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise _unusable(self.state_dir, self.state_dir, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = holder(self.state_dir)
            raise LockError('another cbx-exportd already serves %s: %s'
                            % (self.state_dir, who), holder=who) from None
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
