"""Atomic, durable small-file writes for flash storage.

``write_atomic(path, data)``: temp file in the same directory, write, fsync,
rename over the final name, fsync of the directory: two fsyncs, and a crash at
any point leaves either the old content or the new one, never a mix.  When the
file already holds exactly ``data`` nothing is written at all (flash wear).
Temp files start with ``.`` and end with ``.tmp`` so that listings can skip them.
"""

import os

TMP_PREFIX = '.'
TMP_SUFFIX = '.tmp'


def is_temp_name(name):
    """True for names written by :func:`write_atomic` before their rename."""
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def fsync_dir(path):
    """fsync a directory, so that a rename or an unlink in it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def same_content(path, data):
    """True when the file at ``path`` exists and holds exactly ``data`` (bytes)."""
    try:
        if os.path.getsize(path) != len(data):
            return False
        with open(path, 'rb') as f:
            return f.read() == data
    except OSError:
        return False


def write_atomic(path, data, mode=0o644, durable=True, skip_unchanged=True):
    """Replace the file ``path`` by ``data`` (bytes or str) atomically.

    :param bool durable: fsync the file and its directory (a promise depends on it)
    :param bool skip_unchanged: do nothing when the file already holds ``data``
    :returns: True when the file was written, False when it was already up to date
    :raises OSError: on any failure; the temp file is removed, the old file is intact
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    path = os.fspath(path)
    if skip_unchanged and same_content(path, data):
        return False
    directory, base = os.path.split(path)
    tmp = os.path.join(directory, '%s%s.%d%s' % (TMP_PREFIX, base, os.getpid(), TMP_SUFFIX))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(directory or '.')
    return True


def remove_durable(path, durable=True):
    """Remove ``path`` and make the removal durable. ``FileNotFoundError`` if absent."""
    path = os.fspath(path)
    os.unlink(path)
    if durable:
        fsync_dir(os.path.dirname(path) or '.')


def makedirs_private(path):
    """Create ``path`` and its missing parents readable by their owner only (0700).

    Directories that exist already keep their mode (a technician's choice).
    """
    makedirs_durable(path, 0o700)


def makedirs_durable(path, mode=0o777):
    """Create ``path`` and its missing parents (``mode``, less the umask), each one made
    durable in its parent (fsync): a file made durable in it later must not vanish with
    its folder at a power cut.  Nothing is written when ``path`` exists already.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip('/'))
    if parent and parent != path:
        makedirs_durable(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    fsync_dir(parent or '.')


def remove_stale_temps(folder):
    """Remove the temp files of :func:`write_atomic` left in ``folder`` by writers that are
    gone (a power cut, kill -9): their pid, the last part of the name, is not running or is
    ours (a previous boot's).  Returns the names removed; nothing written when none."""
    removed = []
    for n in list_names(folder):
        if not is_temp_name(n):
            continue
        pid = n[:-len(TMP_SUFFIX)].rsplit('.', 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(folder, n))
            removed.append(n)
        except OSError:
            pass
    return removed


def pid_alive(pid):
    """True while process ``pid`` exists (the writer of a temporary file is still at work)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def list_names(path):
    """The sorted entry names of directory ``path``; [] when it is missing or unreadable."""
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
