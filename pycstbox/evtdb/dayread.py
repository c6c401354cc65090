"""Reading a window of events straight from the day files: the fast path of ``read = "files"``.

:func:`read_day` yields, for one day file, exactly the events that the D-Bus
path (``cbx-evtdb`` serving that file, read by :class:`~pycstbox.evtdb.client.
EventStoreClient`) yields for the same time range and filters: same order,
same decoded values, same ``data`` dicts.  It does so in two passes over the
complete lines present when the file was opened (a line still being appended,
without its newline, is left for a later read), holding no lock:

1. a scan checks, with cheap byte comparisons, that the lines are in time order
   (lines are compared as bytes: for valid timestamps this never hides a line
   older than the one before it) and notes the first timestamp of each block,
   so that the second pass starts near the window;
2. the lines of the window are decoded (per-second cache of the timestamp, cache
   of the ``data`` JSON texts), from the first one at or after ``start`` to the
   first one at or after ``end``.

A day file that is not in time order, holds NUL bytes, is not a regular file
or cannot be read raises :class:`Unusable` *before* any of its events is
yielded: the caller then reads that day over D-Bus.  Data that the D-Bus path
cannot carry (an integer beyond 64 bits) is an
:class:`~pycstbox.export.errors.EventStoreError`, as on the D-Bus path.
"""

import bisect
import json
import os
import stat
from datetime import datetime, timedelta, timezone

from pycstbox.evtdb import fsys
from pycstbox.evtdb.event import Event, decode_value
from pycstbox.export.errors import EventStoreError

UTC = timezone.utc
BLOCK = 1 << 20                    # bytes read at once
_INT64 = (-2 ** 63, 2 ** 63 - 1)
_INT32 = (-2 ** 31, 2 ** 31 - 1)
_new = tuple.__new__
_fromiso = datetime.fromisoformat
_BAD = object()


class Unusable(Exception):
    """The day file cannot be read safely here: read this day over D-Bus instead."""


def _strip_none(value):
    """What the D-Bus path makes of a stored JSON value: None dropped in dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value if v is not None]
    if isinstance(value, int) and not isinstance(value, bool) and \
            not _INT64[0] <= value <= _INT64[1]:
        raise OverflowError('integer %d does not fit in 64 bits' % value)
    return value


def decode_data(text):
    """The ``data`` dict of an event as the D-Bus path gives it; None for a malformed text.

    :raises OverflowError: an integer the D-Bus service cannot send
    """
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        return None
    return {str(k): _strip_none(v) for k, v in data.items() if v is not None and k != 'value'}


class DayScan:
    """Result of the first pass over a day file (see the module docstring)."""

    def __init__(self, path, day):
        self.path, self.day = path, day
        self.prefix = '%02d%02d%02d-' % (day.year % 100, day.month, day.day)
        try:
            f = open(path, 'rb')
        except FileNotFoundError:
            self.missing = True
            return
        except OSError as exc:
            raise Unusable('%s: %s' % (path, exc.strerror or exc)) from exc
        self.missing = False
        self.file = f
        try:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise Unusable('%s is not a regular file' % path)
            self.identity = (st.st_dev, st.st_ino)
            self._scan(f, st.st_size)
        except OSError as exc:
            f.close()
            raise Unusable('%s: %s' % (path, exc.strerror or exc)) from exc
        except Unusable:
            f.close()
            raise

    def _scan(self, f, size):
        """Check the order; note (offset, first timestamp text) of each block; set ``end``."""
        offsets, heads = [], []       # heads: first 20 bytes of the first line of each block
        pos, prev, tail = 0, b'', b''
        while pos < size:
            chunk = f.read(min(BLOCK, size - pos))
            if not chunk:
                break
            pos += len(chunk)
            chunk = tail + chunk
            cut = chunk.rfind(b'\n') + 1
            chunk, tail = chunk[:cut], chunk[cut:]
            if not chunk:
                continue
            if b'\0' in chunk:
                raise Unusable('%s holds NUL bytes' % self.path)
            lines = chunk.split(b'\n')
            lines.pop()                       # after the last newline
            if lines != sorted(lines):            # cheap when sorted; else compare the
                keys = [line[:21] for line in lines]   # timestamps only (+ the TAB)
                if keys != sorted(keys):
                    raise Unusable('%s: lines are not in time order' % self.path)
            if prev > lines[0][:21]:
                raise Unusable('%s: lines are not in time order' % self.path)
            offsets.append(pos - len(tail) - len(chunk))
            heads.append(lines[0][:20])
            prev = lines[-1][:21]
        self.end = pos - len(tail)            # complete lines only
        self.offsets, self.heads = offsets, heads

    def start_offset(self, lo_text):
        """Offset of a block at or before the first line at or after ``lo_text`` (canonical)."""
        # a block whose first line is >= lo_text (as bytes) cannot hold a line older than
        # lo_text after it; the block before it may: start there
        # (compared with lo_text without its trailing zeros: a short timestamp such as
        # 261127-0815 is 08:15:00.000000 but sorts before 261127-081500.000000)
        i = bisect.bisect_left(self.heads, lo_text.rstrip('0.').encode('ascii'))
        return self.offsets[max(i - 1, 0)] if self.offsets else 0

    def close(self):
        f = getattr(self, 'file', None)
        if f is not None:
            f.close()
            self.file = None


def read_day(scan, lo, hi, types=None, names=None, stats=None, data_cache=None):
    """Yield the events of the scanned day file with ``lo <= timestamp < hi`` (aware UTC).

    ``types``/``names``: optional sets of var_types/var_names.  Lines that cannot be
    read are skipped and counted in ``stats['skipped']`` when they fall in the range.
    """
    stats = {} if stats is None else stats
    stats.setdefault('skipped', 0)
    cache = {} if data_cache is None else data_cache
    second = base = None              # the last full timestamp's second and its ISO text
    prefix = scan.prefix
    lo_text = lo.strftime('%y%m%d-%H%M%S.%f')
    f = scan.file
    pos = scan.start_offset(lo_text)
    f.seek(pos)
    end = scan.end
    while pos < end:
        raw = f.read(min(BLOCK, end - pos))
        if not raw:
            raise EventStoreError('%s shrank while it was read' % scan.path)
        cut = raw.rfind(b'\n') + 1
        if cut == 0:                  # a line longer than a block
            raw = raw + f.readline()
            cut = len(raw)
        if cut != len(raw):
            f.seek(pos + cut)
            raw = raw[:cut]
        pos += cut
        for line in raw.decode('utf-8', 'replace').split('\n'):
            fields = line.split('\t')
            if len(fields) != 5:
                continue
            t = fields[0]
            if len(t) == 20 and t[13] == '.' and t[:13] == second:
                m = t[14:]
                if not (m.isdigit() and m.isascii()):
                    continue
                ts = _fromiso(base + m + '+00:00')
            else:
                iso = _slow_iso(t, prefix)
                if iso is None:
                    continue
                ts = _fromiso(iso + '+00:00')
                if len(t) == 20 and t[13] == '.':
                    second, base = t[:13], iso[:20]
            if ts < lo:
                continue
            if ts >= hi:
                return
            if (types is not None and fields[1] not in types) or \
                    (names is not None and fields[2] not in names):
                continue
            text = fields[4]
            data = cache.get(text)
            if data is None:
                try:
                    data = decode_data(text)
                except OverflowError as exc:
                    raise EventStoreError('%s: %s: the D-Bus event store cannot send this '
                                          'event either' % (scan.path, exc)) from exc
                if len(cache) > 4096:
                    cache.clear()
                cache[text] = data = _BAD if data is None else data
            if data is _BAD:
                stats['skipped'] += 1
                continue
            unit = data.get('unit', '')
            yield _new(Event, (ts, fields[1], fields[2], decode_value(fields[3]),
                               unit if unit.__class__ is str else str(unit), data))


def _slow_iso(t, prefix):
    """ISO text of a day-file timestamp of this day (None: unreadable or another day)."""
    try:
        key = fsys.timestamp_key(t)
    except ValueError:
        return None
    if '%06d-' % (key // 10 ** 12) != prefix:
        return None
    return fsys.bus_timestamp(key)


def day_range(start, end):
    """``(day, lo, hi)`` of each UTC day touched by ``[start, end)`` (aware UTC datetimes)."""
    day = start.date()
    while True:
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if day_start >= end:
            return
        nxt = day_start + timedelta(days=1)
        yield day, max(start, day_start), min(end, nxt)
        day = nxt.date()
