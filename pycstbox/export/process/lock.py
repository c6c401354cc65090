"""One run at a time: ``flock`` on ``state_dir/lock``.

Nothing is written to the lock file (flash): the holder is found in
``/proc/locks``.  The kernel releases a flock when its holder dies, so a killed
run never leaves a stale lock.
"""

import fcntl
import os

from pycstbox.export.errors import LockError


class RunLock:
    """Context manager around an exclusive, non-blocking flock."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, 'lock')
        self._fd = None

    def holder(self):
        """'pid N (program)' of the process holding the lock, from /proc/locks."""
        try:
            st = os.stat(self.path)
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

    def acquire(self, blocking=False):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            holder = self.holder()
            raise LockError('another export run holds %s: %s; try again when it has '
                            'finished' % (self.path, holder), holder=holder) from None
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
