"""Reading a window of events straight from the day files: the fast path of ``read = "files"``.

:func:`read_day` yields, for one day file, exactly the events that the store's own
reader yields for the same time range and filters (CSTBox's ``evtdbd`` and
``cbx-evtdb``, :class:`pycstbox.evtdb.fsys.DayIndex`, read over D-Bus by
:class:`~pycstbox.evtdb.client.EventStoreClient`): same events, same order, same
decoded values, same ``data`` dicts.  The reader's rules, followed here:

- lines are split on ``\\n`` only, trailing ``\\r`` are stripped (CRLF files), and a
  line that does not split on TAB into exactly five fields is skipped (empty lines too);
- a short timestamp is padded with zeros (``261127-0815`` is 08:15:00.000000); a line
  whose timestamp cannot be read is skipped; a line stamped for another day is ignored
  (CSTBox's writer could put an event into the wrong file at a month change);
- a line whose data is not a JSON object is skipped (counted); ``null`` values are dropped;
- events come out in time order, equal timestamps in file order;
- the last line, even without its final newline, is read like any other when the day is
  *closed* (a later day exists or its end is well past: the caller says).  On a day still
  open such a line may be half written: it is left for a later read and, when it falls
  in the window asked (the reader would return it as it is), the day goes over D-Bus.

Two passes over the file, no lock:

1. :class:`DayScan` checks, block by block (1 MiB), that the lines the reader keeps are
   in time order.  A block whose lines all start with a complete timestamp of this day
   (one regular expression count) and are sorted as bytes needs nothing more: for such
   lines byte order is time order.  Any other block (a short timestamp, a line of
   another day, garbage...) has the timestamp of each of its lines computed as the
   reader does.  The first timestamp of each block is noted, so that the second pass
   starts near the window.
2. :func:`read_day` decodes the lines of the window (per-second cache of the timestamp,
   cache of the ``data`` JSON texts), from the block before the first one at or after
   ``start`` to the first one at or after ``end``.

A day whose kept lines are not in time order (the reader sorts the whole day: that
costs memory here), that holds NUL bytes (the D-Bus service cannot send them), is not
a regular file, cannot be read, or whose unfinished last line falls in the window of a
day still open raises :class:`Unusable` *before* any of its events is yielded: the
caller then reads that day over D-Bus.  Data that the D-Bus service cannot send (an
integer beyond 64 bits, a NUL or a lone surrogate in a JSON string) is an
:class:`~pycstbox.export.errors.EventStoreError`, as on the D-Bus path.
"""

import bisect
import json
import os
import re
import stat
from datetime import datetime, timedelta, timezone

from pycstbox.evtdb import fsys
from pycstbox.evtdb.event import Event, decode_value
from pycstbox.export.errors import EventStoreError

UTC = timezone.utc
BLOCK = 1 << 20                    # bytes read at once
_INT64 = (-2 ** 63, 2 ** 63 - 1)
_DAY = 10 ** 12                    # timestamp key // _DAY = yymmdd
_new = tuple.__new__
_fromiso = datetime.fromisoformat
_BAD = object()
_UNSENDABLE = re.compile(r'[\x00\ud800-\udfff]')


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

    :raises OverflowError: data the D-Bus service cannot send (a reply holding it fails)
    """
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return None
    except RecursionError as exc:
        raise OverflowError('data nested too deep') from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        return None
    data = {str(k): _strip_none(v) for k, v in data.items() if v is not None and k != 'value'}
    if '\\u' in text and _UNSENDABLE.search(json.dumps(data, ensure_ascii=False)):
        raise OverflowError('a NUL or a lone surrogate in a JSON string')
    return data


class DayScan:
    """Result of the first pass over a day file (see the module docstring).

    :param closed: the day is over: its last line is read even without a newline
    """

    def __init__(self, path, day, closed=True):
        self.path, self.day, self.closed = path, day, closed
        self.prefix = '%02d%02d%02d-' % (day.year % 100, day.month, day.day)
        self.want = fsys.day_key(day)
        self.tail_key = None          # key of an unfinished last line the reader keeps
        self._odd = re.compile(b'\n(?!' + re.escape(self.prefix.encode('ascii')) +
                               rb'[0-9]{6}\.[0-9]{6}\t)').finditer
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

    def key(self, line):
        """Timestamp key of a line (bytes, no newline) the reader keeps for this day, else None."""
        if line.count(b'\t') != 4:
            return None
        try:
            key = fsys.timestamp_key(line[:line.index(b'\t')].decode('ascii'))
        except (ValueError, UnicodeDecodeError):
            return None
        return key if key // _DAY == self.want else None

    def _scan(self, f, size):
        """Check the order; note (offset, first key) of each block; set ``end``."""
        offsets, firsts = [], []
        pos, last, tail = 0, -1, b''      # last: key of the last kept line so far
        key = self.key
        while pos < size:
            chunk = f.read(min(BLOCK, size - pos))
            if not chunk:
                break
            base = pos - len(tail)
            pos += len(chunk)
            chunk = tail + chunk
            if pos >= size and self.closed:
                tail = b''                # a closed day: its last line, newline or not
            else:
                cut = chunk.rfind(b'\n') + 1
                chunk, tail = chunk[:cut], chunk[cut:]
            if not chunk:
                continue
            if b'\0' in chunk:
                raise Unusable('%s holds NUL bytes' % self.path)
            lines = chunk.split(b'\n')
            if chunk.endswith(b'\n'):
                lines.pop()
            odd = self._odd_lines(chunk, len(lines))
            if not odd and (lines == sorted(lines) or _sorted([ln[:21] for ln in lines])):
                pass                      # complete timestamps of this day, in order
            elif not _sorted(self._heads(lines, odd)):
                keys = [k for k in map(key, lines) if k is not None]
                if not _sorted(keys):     # (the exact check, when the cheap one failed)
                    raise Unusable('%s: lines are not in time order' % self.path)
            first, end = _first_key(key, lines), _first_key(key, reversed(lines))
            if first is not None:
                if first < last:
                    raise Unusable('%s: lines are not in time order' % self.path)
                last = end
            offsets.append(base)
            firsts.append(last if first is None else first)
        if tail:
            self.tail_key = key(tail)
            if self.tail_key is not None and self.tail_key < last:
                raise Unusable('%s: lines are not in time order' % self.path)
        self.end = pos - len(tail)
        self.offsets, self.firsts = offsets, firsts

    def _odd_lines(self, chunk, count):
        """Indexes of the lines of ``chunk`` that do not start with a complete timestamp
        of this day (short timestamps, other days, garbage, empty lines)."""
        odd, pos, index = [], 0, 0
        for m in self._odd(b'\n' + chunk):
            index += chunk.count(b'\n', pos, m.start())
            pos = m.start()
            if index < count:
                odd.append(index)
        return odd

    def _heads(self, lines, odd):
        """Timestamps (canonical bytes) of the lines, the odd ones read as the reader does
        (left out when it skips them): sorted when the kept lines are in time order."""
        heads = [line[:20] for line in lines]
        for i in odd:
            k = self.key(lines[i])
            heads[i] = None if k is None else b'%06d-%06d.%06d' % (
                k // _DAY, k // 1000000 % 1000000, k % 1000000)
        return [h for h in heads if h is not None]

    def check_tail(self, lo, hi):
        """:raises Unusable: the unfinished last line of an open day falls in ``[lo, hi)``."""
        if self.tail_key is not None and \
                fsys.key_of_datetime(lo) <= self.tail_key < fsys.key_of_datetime(hi):
            raise Unusable('%s: its last line, unfinished (no newline yet) on a day still '
                           'open, falls in the window' % self.path)

    def start_offset(self, lo_key):
        """Offset of a block at or before the first kept line whose key is ``>= lo_key``."""
        i = bisect.bisect_left(self.firsts, lo_key)
        return self.offsets[max(i - 1, 0)] if self.offsets else 0

    def close(self):
        f = getattr(self, 'file', None)
        if f is not None:
            f.close()
            self.file = None


def _first_key(key, lines):
    for line in lines:
        k = key(line)
        if k is not None:
            return k
    return None


def _sorted(items):
    return items == sorted(items)


def read_day(scan, lo, hi, types=None, names=None, stats=None, data_cache=None):
    """Yield the events of the scanned day file with ``lo <= timestamp < hi`` (aware UTC).

    ``types``/``names``: optional sets of var_types/var_names.  Lines that the reader
    skips are skipped here too, and counted in ``stats['skipped']`` when they lie
    between the window's first and last lines; lines of another day met on the way
    are counted in ``stats['foreign']``.
    """
    stats = {} if stats is None else stats
    stats.setdefault('skipped', 0)
    stats.setdefault('foreign', 0)
    cache = {} if data_cache is None else data_cache
    second = base = None              # the last full timestamp's second and its ISO text
    prefix = scan.prefix
    f = scan.file
    pos = scan.start_offset(fsys.key_of_datetime(lo))
    f.seek(pos)
    end = scan.end
    pending = 0                       # lines skipped since the last line before lo
    while pos < end:
        raw = f.read(min(BLOCK, end - pos))
        if not raw:
            raise EventStoreError('%s shrank while it was read' % scan.path)
        if pos + len(raw) < end:
            cut = raw.rfind(b'\n') + 1
            if cut == 0:              # a line longer than a block
                raw = (raw + f.readline())[:end - pos]
                cut = len(raw)
            if cut != len(raw):
                f.seek(pos + cut)
                raw = raw[:cut]
        pos += len(raw)
        text = raw.decode('utf-8', 'replace')
        lines = text.split('\n')
        if '\r' in text:
            lines = [line.rstrip('\r') for line in lines]
        for line in lines:
            fields = line.split('\t')
            if len(fields) != 5:
                if line.strip():
                    pending += 1
                continue
            t = fields[0]
            if len(t) == 20 and t[13] == '.' and t[:13] == second:
                m = t[14:]
                if not (m.isdigit() and m.isascii()):
                    pending += 1
                    continue
                ts = _fromiso(base + m + '+00:00')
            else:
                iso = _slow_iso(t, prefix)
                if iso is None:
                    pending += 1
                    continue
                if iso is False:
                    stats['foreign'] += 1
                    continue
                ts = _fromiso(iso + '+00:00')
                if len(t) == 20 and t[13] == '.':
                    second, base = t[:13], iso[:20]
            if ts < lo:
                pending = 0
                continue
            if ts >= hi:
                return
            if pending:
                stats['skipped'] += pending
                pending = 0
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
    stats['skipped'] += pending


def _slow_iso(t, prefix):
    """ISO text of a day-file timestamp of this day (None: unreadable; False: another day)."""
    try:
        key = fsys.timestamp_key(t)
    except ValueError:
        return None
    if '%06d-' % (key // _DAY) != prefix:
        return False
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
