"""Shared parts of the formats: the ``Format`` base class and value/time encoding.

Values (``Event.value``) are written as text in every text format the same way
(:func:`value_text`), and read back with :func:`decode_value`:

============  ===========================  ==========================================
Python value  written as                   read back
============  ===========================  ==========================================
``None``      empty field                  ``''`` -> ``None``
``True``      ``True`` / ``False``         exactly ``True`` / ``False`` -> bool
``int``       decimal digits (``-42``)     ``[-+]?[0-9]+`` -> int
``float``     ``repr()``: ``0.1``,         a float literal, ``nan``, ``inf``, ``-inf``
              ``1e-300``, ``-0.0``,        -> float (``float(text)``): no precision lost
              ``nan``, ``inf``, ``-inf``
``str``       the text itself              anything else -> str
============  ===========================  ==========================================

A ``str`` value that reads like a number, a boolean or nothing (``'42'``,
``'True'``, ``''``) cannot come out of the event store: the store keeps values as
text and its client decodes them with these same rules.  The rules are therefore
lossless for every event the store can hand out.

Timestamps are UTC; text formats keep milliseconds (truncated, never rounded up,
so that the second is unchanged), ``dwh-zip`` keeps whole seconds.
"""

import io
import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
_DAY = timedelta(days=1)
BATCH = 2000            # events formatted before one write to the output

_INT = re.compile(r'[-+]?[0-9]+')
_FLOAT = re.compile(r'[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|nan|inf)')


def value_text(value):
    """The text of a value in every text format (see the module docstring)."""
    if value is None:
        return ''
    if value is True:
        return 'True'
    if value is False:
        return 'False'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def decode_value(text):
    """Inverse of :func:`value_text`: ``'21.5'`` -> 21.5, ``'True'`` -> True, ``''`` -> None."""
    if text == '':
        return None
    if text == 'True':
        return True
    if text == 'False':
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


class SecondText:
    """``'%Y-%m-%d %H:%M:%S'`` (``sep`` between date and time) of UTC datetimes, kept for
    the last second seen: consecutive events mostly share their second.  No datetime
    method per event (``replace``, ``isoformat``: several microseconds each): the date
    text is kept for the day, the time is made from the hour, minute and second."""

    __slots__ = ('sep', 'lo', 'hi', 'day', 'key', 'last')

    def __init__(self, sep):
        self.sep = sep
        self.lo = self.hi = None
        self.day = self.last = ''
        self.key = -1

    def text(self, ts):
        """The text of aware UTC ``ts`` up to the second."""
        lo = self.lo
        if lo is None or not lo <= ts < self.hi:
            self._day(ts)
        hour, minute, second = ts.hour, ts.minute, ts.second
        key = (hour * 60 + minute) * 60 + second
        if key != self.key:
            self.key = key
            self.last = '%s%02d:%02d:%02d' % (self.day, hour, minute, second)
        return self.last

    def _day(self, ts):
        self.lo = lo = datetime(ts.year, ts.month, ts.day, tzinfo=ts.tzinfo)
        self.hi = lo + _DAY
        self.day = '%04d-%02d-%02d%s' % (ts.year, ts.month, ts.day, self.sep)
        self.key = -1


def utc(ts):
    """The timestamp as an aware UTC datetime (a naive one is taken as UTC)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    if ts.utcoffset():
        return ts.astimezone(UTC)
    return ts


class Format:
    """A streaming writer of events to a binary file object.

    Subclasses set ``name``, ``extension``, ``compressible`` and implement
    :meth:`_line` (text formats) or override :meth:`write`/:meth:`close`.
    ``close()`` finishes the stream, does not close ``fileobj`` and returns
    the number of events written.  Memory does not grow with the event count.
    """

    name = ''
    extension = ''
    compressible = True
    compressed_as = ''      # what a format that is not compressible already is (messages)
    header = ''
    encoding = 'utf-8'

    def __init__(self, fileobj, tmpdir=None):
        self._out = fileobj
        self._tmpdir = tmpdir
        self._lines = []
        self.count = 0
        self._closed = False
        if self.header:
            self._out.write(self.header.encode(self.encoding))

    def write(self, event):
        """Add one event to the stream."""
        self._lines.append(self._line(event))
        self.count += 1
        if len(self._lines) >= BATCH:
            self._flush()

    def _line(self, event):
        raise NotImplementedError

    def _flush(self):
        if self._lines:
            self._out.write(''.join(self._lines).encode(self.encoding))
            self._lines.clear()

    def close(self):
        """Write what is buffered; returns the number of events written."""
        if not self._closed:
            self._flush()
            self._closed = True
        return self.count


class CsvFormat(Format):
    """Base of the formats written through the ``csv`` module (quoting done in C)."""

    dialect = {}

    def __init__(self, fileobj, tmpdir=None):
        import csv
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, **self.dialect)
        self._pending = 0
        Format.__init__(self, fileobj, tmpdir)

    def write(self, event):
        self._writer.writerow(self._row(event))
        self.count += 1
        self._pending += 1
        if self._pending >= BATCH:
            self._flush()

    def _row(self, event):
        raise NotImplementedError

    def _flush(self):
        if self._pending:
            self._out.write(self._buf.getvalue().encode(self.encoding))
            self._buf.seek(0)
            self._buf.truncate()
            self._pending = 0
