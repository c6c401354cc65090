"""A persistent, crash-safe backlog of export jobs (seed API ``Backlog``).

One directory per backlog (``<root>/<name>/``), one file per pending job
(``<job_id>.json``).  Contract (see DESIGN.md section 3):

- a mapping of job id -> parms: ``b[id] = parms``, ``b[id]``, ``del b[id]``
  (``KeyError`` when absent), ``len``, ``is_empty()``, iteration in sorted id
  order (chronological, job ids being time stamps), ``items()``/``iteritems()``,
  ``clear()``, ``delete()`` (``OSError`` when not empty);
- job ids fully match ``[A-Za-z0-9_.-]+`` and are not ``.``/``..``: nothing can
  be written outside the directory;
- persistence goes through ``_store()``/``_load()``; the default is JSON (never
  pickle: a backlog directory must not be a way to run code), with ``date`` and
  ``datetime`` values tagged so they come back exactly;
- each write is atomic and durable (temp file, fsync, rename, fsync of the
  directory) and skipped when the entry already holds the same content;
- an entry that cannot be parsed is moved to ``<backlog>/corrupt/``, logged and
  listed in ``corrupted``; it never stops the other entries.
"""

import datetime
import json
import logging
import os
import re

from pycstbox.export.atomic import (fsync_dir, is_temp_name, makedirs_durable, pid_alive,
                                     remove_durable, write_atomic)
from pycstbox.export.errors import BacklogError

log = logging.getLogger(__name__)

ENTRY_FORMAT = 'cstbox-export-backlog/1'
_TAGS = ('$date', '$datetime', '$time', '$dict')


class CorruptEntry(ValueError):
    """An entry's content cannot be decoded (raised by ``_load``)."""


def encode_value(value):
    """Turn job parms into JSON-able data, tagging dates and datetimes."""
    if isinstance(value, datetime.datetime):
        return {'$datetime': value.isoformat()}
    if isinstance(value, datetime.date):
        return {'$date': value.isoformat()}
    if isinstance(value, datetime.time):
        return {'$time': value.isoformat()}
    if isinstance(value, dict):
        enc = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError('backlog parms keys must be strings, not %r' % (k,))
            enc[k] = encode_value(v)
        if len(enc) == 1 and next(iter(enc)) in _TAGS:
            return {'$dict': enc}
        return enc
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError('cannot store a %s in a backlog entry' % type(value).__name__)


def entry_bytes(job_id, parms):
    """The bytes of the entry file of ``job_id`` (also the format of dead-lettered jobs)."""
    doc = {'format': ENTRY_FORMAT, 'job_id': job_id, 'parms': encode_value(parms)}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False).encode('utf-8') + b'\n'


def decode_value(data):
    """Inverse of :func:`encode_value`."""
    if isinstance(data, dict):
        if len(data) == 1:
            tag, inner = next(iter(data.items()))
            if tag == '$datetime':
                return datetime.datetime.fromisoformat(inner)
            if tag == '$date':
                return datetime.date.fromisoformat(inner)
            if tag == '$time':
                return datetime.time.fromisoformat(inner)
            if tag == '$dict':
                return {k: decode_value(v) for k, v in inner.items()}
        return {k: decode_value(v) for k, v in data.items()}
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    return data


def read_entry(path, job_id=None):
    """The parms of the entry file ``path`` (a backlog entry or a dead-lettered one).

    :raises OSError: unreadable; :raises CorruptEntry: not an entry (of ``job_id``)
    """
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptEntry('not valid JSON (%d bytes): %s' % (len(raw), exc)) from exc
    if not isinstance(doc, dict) or doc.get('format') != ENTRY_FORMAT or 'parms' not in doc:
        raise CorruptEntry('not a backlog entry (wrong shape)')
    if job_id is not None and doc.get('job_id') != job_id:
        raise CorruptEntry('entry is for job %r, not %r' % (doc.get('job_id'), job_id))
    try:
        return decode_value(doc['parms'])
    except (TypeError, ValueError, AttributeError) as exc:
        raise CorruptEntry('bad value in entry: %s' % exc) from exc


class Backlog:
    """A named backlog of pending jobs, one JSON file per job."""

    DEFAULT_LOCATION_ROOT = '/var/lib/cstbox/export/backlog'
    FILE_EXTENSION = '.json'
    CORRUPT_DIR = 'corrupt'

    _job_id_re = re.compile(r'[A-Za-z0-9_.-]+')

    def __init__(self, name, root=None):
        """
        :param str name: the backlog name (a plain directory name)
        :param str root: parent directory (default ``DEFAULT_LOCATION_ROOT``), created if needed
        :raises ValueError: when the name is invalid or the path unusable
        """
        if not name or not isinstance(name, str) or not self._job_id_re.fullmatch(name) \
                or name in ('.', '..'):
            raise ValueError('invalid backlog name: %r' % (name,))
        path = os.path.join(root if root else self.DEFAULT_LOCATION_ROOT, name)
        try:
            makedirs_durable(path)
        except OSError as exc:
            raise ValueError('invalid path: %s (%s)' % (path, exc.strerror or exc)) from exc
        if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
            raise ValueError('invalid path: %s (not a writable directory)' % path)
        self._name = name
        self._location = path
        self.corrupted = []
        self._remove_stale_temp_files()

    # -- naming -------------------------------------------------------------

    @property
    def name(self):
        return self._name

    @property
    def location(self):
        return self._location

    @classmethod
    def check_job_id(cls, job_id):
        """:raises ValueError: unless ``job_id`` is a safe, non-empty file name."""
        if not isinstance(job_id, str):
            raise ValueError('job id must be a string, not %s' % type(job_id).__name__)
        if job_id in ('.', '..') or not cls._job_id_re.fullmatch(job_id):
            raise ValueError('invalid job id: %r' % (job_id,))

    _check_job_id = check_job_id      # name used by the original API

    def _fpath(self, job_id):
        return os.path.join(self._location, job_id + self.FILE_EXTENSION)

    # -- persistence override points -----------------------------------------

    def _store(self, job_id, parms):
        """Write the entry of ``job_id`` (atomic, durable, skipped when unchanged)."""
        write_atomic(self._fpath(job_id), entry_bytes(job_id, parms), mode=0o640)

    def _load(self, job_id):
        """Read the entry of ``job_id``.

        :raises FileNotFoundError: when absent
        :raises CorruptEntry: when the content is not a valid entry
        """
        return read_entry(self._fpath(job_id), job_id)

    # -- mapping ----------------------------------------------------------------

    def __setitem__(self, job_id, parms):
        """Add or update an entry (durable when this returns)."""
        self.check_job_id(job_id)
        try:
            self._store(job_id, parms)
        except OSError as exc:
            raise BacklogError('cannot write backlog entry %s/%s: %s'
                               % (self._location, job_id, exc.strerror or exc)) from exc

    def __getitem__(self, job_id):
        """Return the parms of an entry.

        :raises KeyError: when absent, or when corrupt (the entry is then set aside)
        """
        self.check_job_id(job_id)
        try:
            return self._load(job_id)
        except FileNotFoundError:
            raise KeyError(job_id) from None
        except CorruptEntry as exc:
            self.set_aside(job_id, str(exc))
            raise KeyError(job_id) from exc

    def __delitem__(self, job_id):
        """Remove an entry (durably). :raises KeyError: when absent."""
        self.check_job_id(job_id)
        try:
            remove_durable(self._fpath(job_id))
        except FileNotFoundError:
            raise KeyError(job_id) from None

    def __contains__(self, job_id):
        try:
            self.check_job_id(job_id)
        except ValueError:
            return False
        return os.path.isfile(self._fpath(job_id))

    def _ids(self):
        ext = self.FILE_EXTENSION
        try:
            names = os.listdir(self._location)
        except FileNotFoundError:
            return []
        return sorted(n[:-len(ext)] for n in names
                      if n.endswith(ext) and not is_temp_name(n) and not n.startswith('.')
                      and self._job_id_re.fullmatch(n[:-len(ext)]))

    def __len__(self):
        return len(self._ids())

    def is_empty(self):
        return not self._ids()

    def __iter__(self):
        """Job ids, oldest (smallest) first."""
        return iter(self._ids())

    def items(self):
        """(job id, parms) pairs, oldest first; corrupt entries are set aside and skipped."""
        for job_id in self._ids():
            try:
                yield job_id, self[job_id]
            except KeyError:
                continue

    iteritems = items

    def keys(self):
        return self._ids()

    def clear(self):
        """Remove every entry (no shell involved)."""
        for job_id in self._ids():
            try:
                os.unlink(self._fpath(job_id))
            except FileNotFoundError:
                pass
        fsync_dir(self._location)

    def delete(self):
        """Remove the (empty) backlog directory. :raises OSError: when not empty."""
        corrupt = os.path.join(self._location, self.CORRUPT_DIR)
        if os.path.isdir(corrupt) and not os.listdir(corrupt) and self.is_empty():
            os.rmdir(corrupt)
        os.rmdir(self._location)

    # -- corrupt entries and leftovers -------------------------------------------

    def corrupt_entries(self):
        """Names of the files set aside in ``corrupt/`` (sorted)."""
        try:
            return sorted(n for n in os.listdir(os.path.join(self._location, self.CORRUPT_DIR))
                          if not n.endswith('.error'))
        except FileNotFoundError:
            return []

    def set_aside(self, job_id, reason):
        """Move the entry of ``job_id`` to ``corrupt/`` with ``reason`` in its ``.error``."""
        src = self._fpath(job_id)
        dest_dir = os.path.join(self._location, self.CORRUPT_DIR)
        os.makedirs(dest_dir, exist_ok=True)
        dest = os.path.join(dest_dir, os.path.basename(src))
        n = 1
        while os.path.exists(dest):
            dest = os.path.join(dest_dir, '%s.%d' % (os.path.basename(src), n))
            n += 1
        try:
            os.replace(src, dest)
            write_atomic(dest + '.error', reason + '\n', skip_unchanged=False)
            fsync_dir(self._location)
        except OSError as exc:
            log.error('backlog %s: corrupt entry %s could not be set aside: %s',
                      self._name, job_id, exc)
        log.error('backlog %s: entry %s is unreadable (%s); moved to %s', self._name, job_id,
                  reason, dest)
        self.corrupted.append((job_id, reason))

    def _remove_stale_temp_files(self):
        for n in os.listdir(self._location):
            if not is_temp_name(n):
                continue
            pid = n[:-len('.tmp')].rsplit('.', 1)[-1]
            if pid.isdigit() and pid_alive(int(pid)) and int(pid) != os.getpid():
                continue
            try:
                os.unlink(os.path.join(self._location, n))
            except OSError:
                pass

    def __repr__(self):
        return 'Backlog(%r, root=%r)' % (self._name, os.path.dirname(self._location))

