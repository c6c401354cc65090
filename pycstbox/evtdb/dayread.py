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

1. :class:`~pycstbox.evtdb.dayscan.DayScan` checks that the lines the reader keeps are
   in time order (cheaply: see its module) and notes the first timestamp of each block,
   so that the second pass starts near the window.
2. :func:`read_day` decodes the lines of the window (per-second cache of the timestamp,
   cache of the ``data`` JSON texts), from the block before the first one at or after
   ``start`` to the first one at or after ``end``.

A day whose kept lines are not in time order (the reader sorts the whole day: that
costs memory here), that holds NUL bytes (the D-Bus service cannot send them), is not
a regular file, cannot be read, or whose unfinished last line falls in the window of a
day still open raises :class:`~pycstbox.evtdb.dayscan.Unusable` *before* any of its events is yielded: the
caller then reads that day over D-Bus.  Data that the D-Bus service cannot send (an
integer beyond 64 bits, a NUL or a lone surrogate in a JSON string) is an
:class:`~pycstbox.export.errors.EventStoreError`, as on the D-Bus path.
"""

import json
import re
from datetime import datetime, timedelta, timezone

from pycstbox.evtdb import fsys
from pycstbox.evtdb.dayscan import BLOCK
from pycstbox.evtdb.event import Event, decode_value
from pycstbox.export.errors import EventStoreError

UTC = timezone.utc
_INT64 = (-2 ** 63, 2 ** 63 - 1)
_DAY = 10 ** 12                    # timestamp key // _DAY = yymmdd
_new = tuple.__new__
_fromiso = datetime.fromisoformat
_BAD = object()
_UNSENDABLE = re.compile(r'[\x00\ud800-\udfff]')


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
