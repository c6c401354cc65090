"""Is a file found by a directory scan finished?  Quiet = not written to any more.

inotify tells when a file is closed after writing or renamed in; a file found by
a scan (daemon start-up, inotify queue overflow) has no such event, and may be
half written by a process that is still at work.  Such a file is sent only once
it is *quiet*: no process has it open for writing (``/proc/*/fd`` and the flags
in ``/proc/*/fdinfo``) and it was not modified for :data:`QUIET` seconds.
"""

import os
import time

#: seconds without modification before a scanned file counts as finished
QUIET = 3.0


def writers(directory):
    """Names of the files directly in ``directory`` that some process has open for writing."""
    prefix = os.path.join(directory, '')
    found = set()
    try:
        pids = [p for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        fd_dir = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:           # gone, or not ours to look at
            continue
        for fd in fds:
            try:
                target = os.readlink('%s/%s' % (fd_dir, fd))
            except OSError:
                continue
            if not target.startswith(prefix) or '/' in target[len(prefix):]:
                continue
            if _open_for_writing(pid, fd):
                found.add(target[len(prefix):])
    return found


def _open_for_writing(pid, fd):
    try:
        with open('/proc/%s/fdinfo/%s' % (pid, fd)) as f:
            for line in f:
                if line.startswith('flags:'):
                    return int(line.split()[1], 8) & os.O_ACCMODE != os.O_RDONLY
    except (OSError, ValueError, IndexError):
        pass
    return False


def wait_needed(st, busy, now=None):
    """Seconds to wait before the file ``st`` may be sent (0: quiet now).

    :param busy: True when the file is open for writing (see :func:`writers`)
    """
    if busy:
        return QUIET
    age = (time.time() if now is None else now) - st.st_mtime
    if -1.0 < age < QUIET:         # a modification time in the future: the clock moved
        return QUIET - max(age, 0.0)
    return 0.0
