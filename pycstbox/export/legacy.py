"""Reading CSTBox legacy backlog files (``*.blog``: protocol-0 pickles of dicts).

Old boxes kept failed jobs in ``/var/spool/cstbox/export/<backlog>/<jobid>.blog``.
Unpickling is code execution, so these files are read with a restricted
unpickler that admits only plain data (dict, list, tuple, str, bytes, int,
float, bool, None) and ``datetime.date/datetime/time/timedelta``.  Any other
global (``os.system``, ``builtins.eval``, ``subprocess.Popen``...) is refused
with :class:`LegacyError` naming the file, before anything runs.
"""

import datetime
import io
import os
import pickle

from pycstbox.export.errors import ExportError

_ALLOWED = {
    ('datetime', 'date'): datetime.date,
    ('datetime', 'datetime'): datetime.datetime,
    ('datetime', 'time'): datetime.time,
    ('datetime', 'timedelta'): datetime.timedelta,
}


def _encode(text, encoding='utf-8'):
    """``_codecs.encode`` as used by Python 3 protocol-0 pickles of dates (latin1 only)."""
    if not isinstance(text, str) or encoding != 'latin1':
        raise pickle.UnpicklingError('forbidden use of _codecs.encode')
    return text.encode('latin1')


_ALLOWED[('_codecs', 'encode')] = _encode

#: largest legacy file read (they hold a small dict)
MAX_SIZE = 1 << 20


class LegacyError(ExportError):
    """A legacy backlog file was refused or could not be read."""

    temporary = False


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        cls = _ALLOWED.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError('forbidden global %s.%s' % (module, name))
        return cls


def loads(data, source='<data>'):
    """Decode a legacy pickle. :raises LegacyError: when refused or invalid."""
    try:
        value = _RestrictedUnpickler(io.BytesIO(data), encoding='latin1').load()
    except pickle.UnpicklingError as exc:
        raise LegacyError('%s: refused: %s (only plain data and dates are accepted)'
                          % (source, exc)) from exc
    except Exception as exc:  # noqa: BLE001 -- any decoding failure of untrusted data
        raise LegacyError('%s: not a readable legacy backlog entry: %s: %s'
                          % (source, type(exc).__name__, exc)) from exc
    if not isinstance(value, dict):
        raise LegacyError('%s: refused: holds a %s, not a dict' % (source, type(value).__name__))
    return value


def load(path):
    """Read one ``.blog`` file. :raises LegacyError: when refused, too big or unreadable."""
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_SIZE + 1)
    except OSError as exc:
        raise LegacyError('%s: cannot read: %s' % (path, exc.strerror or exc)) from exc
    if len(data) > MAX_SIZE:
        raise LegacyError('%s: refused: larger than %d bytes' % (path, MAX_SIZE))
    return loads(data, source=path)


def scan(directory):
    """Yield ``(backlog name, job id, path)`` for every ``*.blog`` under ``directory``.

    ``directory`` is either one legacy backlog (holding ``.blog`` files) or the
    spool root holding one sub-directory per backlog.
    """
    entries = sorted(os.listdir(directory))
    direct = [e for e in entries if e.endswith('.blog')]
    if direct:
        name = os.path.basename(os.path.normpath(directory))
        for e in direct:
            yield name, e[:-len('.blog')], os.path.join(directory, e)
        return
    for sub in entries:
        subdir = os.path.join(directory, sub)
        if os.path.isdir(subdir) and not os.path.islink(subdir):
            for e in sorted(os.listdir(subdir)):
                if e.endswith('.blog'):
                    yield sub, e[:-len('.blog')], os.path.join(subdir, e)
