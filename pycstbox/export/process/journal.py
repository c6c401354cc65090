"""The delivery journal: ``state_dir/journal/<job>.jsonl``, one JSON line per delivered window.

Written by the runner *before* the window's backlog entry is deleted (DESIGN
section 12), read by ``cbx-export audit``::

    {"jobid": "261127000000", "start": "2026-11-27T00:00:00Z", "end": "2026-11-28T00:00:00Z",
     "target": "usb", "name": "lyon-b12_daily_...csv.gz", "key": "lyon-b12_daily_...csv.gz",
     "bytes": 123456, "sha256": "9f86d0...", "events": 17280,
     "delivered_at": "2026-11-28T00:15:03Z"}

An empty window has ``"events": 0`` and no ``name``/``key``/``bytes``/``sha256``;
``s3_checksum`` is added when the receiver gave a checksum.

- Appending opens with ``O_APPEND``, writes the whole line with one ``write`` and
  fsyncs: a crash loses at most the line being written, never an earlier one.
- A kill during the append may leave a torn last line: the reader skips any line that
  is not a complete JSON object (counted in :attr:`Journal.skipped`), and the next
  append starts on a new line, so the torn bytes never spoil a good line.
- Each line's fields are checked as the state reader checks its file (:func:`check`):
  times as written (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``), ``events`` and ``bytes`` whole
  numbers >= 0, ``sha256`` 64 lowercase hex digits, strings where strings are
  written.  A line that fails is skipped and reported (a warning naming the file, the
  line and the field), never fatal: whatever the file holds, audit and status work.
- A crash between the append and the deletion of the backlog entry leaves the window
  pending: it is sent again and journaled twice.  :meth:`Journal.latest` keeps the
  last line of each job id.
- Past :data:`LIMIT` bytes the file is renamed ``<job>.jsonl.1`` (replacing the older
  generation) and a new one started: at most about 2 MiB of flash per job.
"""

import datetime
import json
import logging
import os
import re

from pycstbox.export.atomic import fsync_dir, makedirs_durable

log = logging.getLogger(__name__)

UTC = datetime.timezone.utc
LIMIT = 1024 * 1024
#: the fields of a line, in the order written
FIELDS = ('jobid', 'start', 'end', 'target', 'name', 'key', 'bytes', 'sha256', 'events',
          'delivered_at', 's3_checksum')


#: a time as :func:`iso` writes it
TIME = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z\Z')
SHA256 = re.compile(r'[0-9a-f]{64}\Z')


def iso(t):
    """``2026-11-27T00:00:00Z`` (UTC, whole seconds unless there is a fraction)."""
    t = t.astimezone(UTC)
    if t.microsecond:
        return t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_time(text):
    """Inverse of :func:`iso` (aware UTC)."""
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00')).astimezone(UTC)


def _count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _time(rec, field):
    v = rec.get(field)
    if not isinstance(v, str) or not TIME.match(v):
        raise ValueError('%s is not a time as the journal writes it (YYYY-MM-DDTHH:MM:SSZ)'
                         % field)
    try:
        return parse_time(v)
    except ValueError:
        raise ValueError('%s is not a valid time' % field) from None


def check(rec):
    """A journal line (a decoded JSON value) with ``start``/``end`` parsed; raises
    ValueError naming the first field of the wrong type."""
    if not isinstance(rec, dict):
        raise ValueError('not a JSON object')
    if not isinstance(rec.get('jobid'), str) or not rec['jobid']:
        raise ValueError('jobid is not a string')
    start, end = _time(rec, 'start'), _time(rec, 'end')
    if end <= start:
        raise ValueError('end is not after start')
    _time(rec, 'delivered_at')
    if not isinstance(rec.get('target'), str):
        raise ValueError('target is not a string')
    if not _count(rec.get('events')):
        raise ValueError('events is not a whole number >= 0')
    full = rec['events'] > 0
    for field in ('name', 'key', 's3_checksum'):
        v = rec.get(field)
        if not (isinstance(v, str) or v is None and (field != 'name' or not full)):
            raise ValueError('%s is not a string' % field)
    v = rec.get('bytes')
    if not (_count(v) or v is None and not full):
        raise ValueError('bytes is not a whole number >= 0')
    v = rec.get('sha256')
    if not (isinstance(v, str) and SHA256.match(v) or v is None and not full):
        raise ValueError('sha256 is not 64 lowercase hexadecimal digits')
    return dict(rec, start=start, end=end)


def record(jobid, start, end, target, *, events, delivered_at, name=None, key=None,
           size=None, sha256=None, s3_checksum=None):
    """A journal line (as a dict, fields in :data:`FIELDS` order)."""
    rec = {'jobid': jobid, 'start': iso(start), 'end': iso(end), 'target': target}
    if events:
        rec.update(name=name, key=key or name, bytes=size, sha256=sha256)
    rec['events'] = events
    rec['delivered_at'] = iso(delivered_at)
    if s3_checksum:
        rec['s3_checksum'] = s3_checksum
    return rec


class Journal:
    """The journal of one job (see module docstring)."""

    def __init__(self, state_dir, job, limit=LIMIT):
        self.dir = os.path.join(state_dir, 'journal')
        self.path = os.path.join(self.dir, job + '.jsonl')
        self.old = self.path + '.1'
        self.job = job
        self.limit = limit
        self.skipped = 0

    # -- writing -------------------------------------------------------------------

    def append(self, rec):
        """Append ``rec`` (a dict) as one line, durably.  Raises OSError."""
        line = (json.dumps(rec, ensure_ascii=False, separators=(',', ':')) + '\n').encode()
        created = not os.path.exists(self.path)
        if created:
            makedirs_durable(self.dir)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and size + len(line) > self.limit:
                os.close(fd)
                fd = -1
                os.replace(self.path, self.old)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                             0o644)
                created, size = True, 0
            if size and os.pread(fd, 1, size - 1) != b'\n':
                line = b'\n' + line          # after a torn line: start a new one
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            if fd >= 0:
                os.close(fd)
        if created:
            fsync_dir(self.dir)

    # -- reading -------------------------------------------------------------------

    def read(self):
        """Every complete record, oldest generation first (torn or bad lines skipped)."""
        self.skipped = 0
        for path in (self.old, self.path):
            try:
                f = open(path, 'rb')
            except FileNotFoundError:
                continue
            with f:
                for number, raw in enumerate(f, 1):
                    try:
                        yield decode(raw)
                    except ValueError as exc:
                        if raw.strip():
                            self.skipped += 1
                            log.warning('journal %s line %d skipped: %s', path, number, exc)

    def latest(self):
        """``{jobid: record}``: the last line of each job id (a resend replaces)."""
        out = {}
        for rec in self.read():
            out[rec['jobid']] = rec
        return out


def decode(raw):
    """The record of one raw line (bytes); raises ValueError saying what is wrong."""
    if not raw.endswith(b'\n'):
        raise ValueError('incomplete (no end of line: torn by a crash?)')
    try:
        rec = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError('not JSON') from None
    return check(rec)
