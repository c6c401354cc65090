"""Which files of an outbox folder may be sent, and when.

- temporary names (``.*``, ``*.tmp``, ``*.part``: a writer's name before the rename)
  are ignored (:func:`is_temp_name`);
- only regular files owned by the daemon's user or root are sent (:func:`problem`);
- a file found by a scan (daemon start-up, inotify queue overflow) rather than
  by an inotify event (closed after writing, renamed in) may be half written by
  a process still at work: it is sent only once it is *quiet*: no process has it
  open for writing (``/proc/*/fd`` and the flags in ``/proc/*/fdinfo``,
  :func:`writers`) and it was not modified for :data:`QUIET` seconds
  (:func:`wait_needed`).
"""

import os
import stat
import time

#: seconds without modification before a scanned file counts as finished
QUIET = 3.0
TEMP_SUFFIXES = ('.tmp', '.part')
DIR_MODE = 0o750


def is_temp_name(name):
    """True for names a writer uses before renaming the file in."""
    return name.startswith('.') or name.endswith(TEMP_SUFFIXES)


def ensure_dir(path):
    """Create the outbox folder (mode 0750) when missing; leave an existing one alone."""
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, DIR_MODE)


def problem(st, uid):
    """Why the file ``st`` describes must not be sent by user ``uid``, or None."""
    if stat.S_ISLNK(st.st_mode):
        return 'it is a symbolic link (only regular files are sent)'
    if stat.S_ISDIR(st.st_mode):
        return 'it is a directory (only regular files are sent)'
    if not stat.S_ISREG(st.st_mode):
        return 'it is not a regular file'
    if st.st_uid not in (uid, 0):
        return ('it belongs to uid %d, not to the service user (uid %d) or root'
                % (st.st_uid, uid))
    return None


def writers(directory):
    """Names of the files directly in ``directory`` that some process has open for writing."""
    prefix = os.path.join(os.path.realpath(directory), '')   # /proc shows resolved paths
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
