"""CSTBox day files (the ``fsys`` event store): reading, writing, indexing.

Layout: ``<root>/<channel>/YYMMDD.evt-log``, one file per UTC day, one event per
line, five tab-separated fields::

    151104-081542.123000<TAB>temperature<TAB>temp_living<TAB>21.5<TAB>{"unit": "degC"}

The reader is tolerant like CSTBox's: a short timestamp is padded with zeros, a
line that does not split into exactly five fields (or whose timestamp or data
cannot be parsed) is skipped and counted.  Each line is filtered by its *own*
timestamp: CSTBox's writer could put an event in the wrong day file at a month
change, so a line stamped for another day is ignored (and counted apart).
"""

import bisect
import json
import logging
import mmap
import os
import re
from array import array
from datetime import datetime

log = logging.getLogger(__name__)

FILE_EXT = '.evt-log'
TS_FORMAT = '%y%m%d-%H%M%S.%f'
_NAME_RE = re.compile(r'([0-9]{6})\.evt-log\Z')


def file_name(day):
    """``date(2015, 11, 4)`` -> ``'151104.evt-log'``."""
    return '%02d%02d%02d%s' % (day.year % 100, day.month, day.day, FILE_EXT)


def day_path(root, channel, day):
    """Path of the day file of ``day`` for ``channel`` (whether it exists or not)."""
    return os.path.join(root, channel, file_name(day))


def available_days(root, channel):
    """Sorted dates that have a day file in ``<root>/<channel>`` (none if no directory)."""
    try:
        names = os.listdir(os.path.join(root, channel))
    except FileNotFoundError:
        return []
    days = []
    for name in names:
        m = _NAME_RE.match(name)
        if m:
            try:
                days.append(datetime.strptime(m.group(1), '%y%m%d').date())
            except ValueError:
                log.warning('ignoring %s: not a valid day file name', name)
    return sorted(days)


def timestamp_key(text):
    """Integer sort key ``yymmddHHMMSSffffff`` of a day-file timestamp.

    A short timestamp is padded with zeros (``'151104-081542.12'`` is 42.120000 s,
    ``'151104-0815'`` is 08:15:00).

    :raises ValueError: when ``text`` is not a valid day-file timestamp
    """
    s = text
    if len(s) < 20:
        if '.' not in s:
            s = s.ljust(13, '0') + '.'
        s = s.ljust(20, '0')
    digits = s[:6] + s[7:13] + s[14:20]
    if (len(s) != 20 or s[6] != '-' or s[13] != '.'
            or not (digits.isascii() and digits.isdigit())):
        raise ValueError('bad timestamp %r' % text)
    key = int(digits)
    if (key // 10000000000) % 100 > 23 or (key // 100000000) % 100 > 59 \
            or (key // 1000000) % 100 > 59:
        raise ValueError('bad time of day in timestamp %r' % text)
    return key


def day_key(day):
    """The ``yymmdd`` integer of a date (``timestamp_key(...) // 10**12`` of its events)."""
    return (day.year % 100) * 10000 + day.month * 100 + day.day


def key_of_datetime(ts):
    """Sort key of a naive UTC datetime (same scale as :func:`timestamp_key`)."""
    return int(ts.strftime('%y%m%d%H%M%S%f'))


def bus_timestamp(key):
    """Sort key -> ``'%Y-%m-%d %H:%M:%S.%f'`` (years 2000-2099)."""
    s = '%018d' % key
    return '20%s-%s-%s %s:%s:%s.%s' % (s[0:2], s[2:4], s[4:6], s[6:8], s[8:10],
                                       s[10:12], s[12:18])


def format_line(ts, var_type, var_name, value, data):
    """One day-file line (with its newline) for an event.

    :param ts: naive UTC datetime
    :param value: stored as ``str(value)``
    :param data: the dict without 'value', or its JSON text
    """
    if not isinstance(data, str):
        data = json.dumps(data)
    return '%s\t%s\t%s\t%s\t%s\n' % (ts.strftime(TS_FORMAT), var_type, var_name,
                                     value, data)


class DayWriter:
    """Appends lines to the day files of one channel, one open file at a time."""

    def __init__(self, root, channel='sensor'):
        self._dir = os.path.join(root, channel)
        os.makedirs(self._dir, exist_ok=True)
        self._day = None
        self._file = None

    def write(self, ts, var_type, var_name, value, data):
        """Append one event (``ts`` naive UTC) to the file of its own day."""
        day = ts.date()
        if day != self._day:
            self.close()
            self._file = open(os.path.join(self._dir, file_name(day)), 'a',
                              encoding='utf-8', newline='\n')
            self._day = day
        self._file.write(format_line(ts, var_type, var_name, value, data))

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
            self._day = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def parse_fields(fields):
    """Decode the 5 text fields of a line -> ``(key, var_type, var_name, value, data)``.

    :raises ValueError: bad timestamp or data that is not a JSON object
    """
    key = timestamp_key(fields[0])
    data = json.loads(fields[4]) if fields[4] else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError('data is not a JSON object')
    return key, fields[1], fields[2], fields[3], data


class DayIndex:
    """A day file indexed by timestamp, for fast reads of any time range.

    Holds two compact arrays (sort key and byte offset of each valid line of the
    day, sorted by timestamp) and a read-only memory map of the file: about 20
    bytes per event, whatever the size of the lines.  ``skipped`` counts the lines
    that could not be read, ``foreign`` the lines stamped for another day.
    """

    def __init__(self, path, day):
        self.path = path
        st = os.stat(path)
        self.signature = (st.st_size, st.st_mtime_ns)
        self.skipped = 0
        self.foreign = 0
        self.keys = array('q')
        self.offsets = array('q')
        self._ends = array('q')
        self._map = None
        want = day_key(day)
        keys, offsets, ends = self.keys, self.offsets, self._ends
        pos = 0
        with open(path, 'rb') as f:
            for line in f:
                start = pos
                pos += len(line)
                if line.count(b'\t') != 4:
                    if line.strip():
                        self.skipped += 1
                    continue
                try:
                    key = timestamp_key(line[:line.index(b'\t')].decode('ascii'))
                except (ValueError, UnicodeDecodeError):
                    self.skipped += 1
                    continue
                if key // 1000000000000 != want:
                    self.foreign += 1
                    continue
                keys.append(key)
                offsets.append(start)
                ends.append(pos)
            if keys and any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
                order = sorted(range(len(keys)), key=keys.__getitem__)
                self.keys = array('q', (keys[i] for i in order))
                self.offsets = array('q', (offsets[i] for i in order))
                self._ends = array('q', (ends[i] for i in order))
            if pos:
                self._map = mmap.mmap(f.fileno(), pos, access=mmap.ACCESS_READ)
        if self.skipped or self.foreign:
            log.warning('%s: %d unreadable line(s) skipped, %d line(s) of another day '
                        'ignored', path, self.skipped, self.foreign)

    def __len__(self):
        return len(self.keys)

    def span(self, lo_key=None, hi_key=None):
        """Index range ``(i, j)`` of the events with ``lo_key <= key <= hi_key``."""
        i = 0 if lo_key is None else bisect.bisect_left(self.keys, lo_key)
        j = len(self.keys) if hi_key is None else bisect.bisect_right(self.keys, hi_key)
        return i, max(i, j)

    def lines(self, i, j):
        """The decoded text of events ``i`` to ``j - 1``, as lists of 5 fields."""
        mm, offsets, ends = self._map, self.offsets, self._ends
        for k in range(i, j):
            yield mm[offsets[k]:ends[k]].decode('utf-8', 'replace').rstrip('\r\n').split('\t')

    def close(self):
        if self._map is not None:
            self._map.close()
            self._map = None


def read_day(root, channel, day, var_type='', var_name='', counters=None):
    """Yield ``(naive datetime, var_type, var_name, value_str, data)`` of a day file.

    Lines in file order, filtered by their own day and by the optional filters;
    unreadable lines are skipped and counted in ``counters['skipped']``.  A day
    without file yields nothing.
    """
    counters = {} if counters is None else counters
    counters.setdefault('skipped', 0)
    want = day_key(day)
    try:
        f = open(day_path(root, channel, day), encoding='utf-8', errors='replace')
    except FileNotFoundError:
        return
    with f:
        for line in f:
            fields = line.rstrip('\r\n').split('\t')
            if len(fields) != 5:
                if line.strip():
                    counters['skipped'] += 1
                continue
            if (var_type and fields[1] != var_type) or (var_name and fields[2] != var_name):
                continue
            try:
                key, vt, vn, value, data = parse_fields(fields)
            except ValueError:
                counters['skipped'] += 1
                continue
            if key // 1000000000000 != want:
                continue
            yield (datetime.strptime(bus_timestamp(key), '%Y-%m-%d %H:%M:%S.%f'),
                   vt, vn, value, data)


__all__ = ['FILE_EXT', 'file_name', 'day_path', 'available_days', 'timestamp_key',
           'day_key', 'key_of_datetime', 'bus_timestamp', 'format_line', 'DayWriter',
           'parse_fields', 'DayIndex', 'read_day']
