"""The first pass of the day-file fast path: is the day file safe to read, and where.

:class:`DayScan` checks, block by block (1 MiB), that the lines the store's reader keeps
(:mod:`pycstbox.evtdb.dayread` lists its rules) are in time order, and notes the first
timestamp of each block so that :func:`~pycstbox.evtdb.dayread.read_day` starts near the
window.  A block whose lines all start with a complete timestamp of this day and sort as
bytes needs nothing more (for such lines byte order is time order); a block with odd lines
(short timestamps, other days, garbage, empty lines) has only those lines' timestamps
computed as the reader does, and every line's only when that cheap check fails.
Whatever cannot be read safely raises :class:`Unusable`: that day goes over D-Bus.
"""

import bisect
import os
import re
import stat

from pycstbox.evtdb import fsys

BLOCK = 1 << 20                    # bytes read at once
_DAY = 10 ** 12                    # timestamp key // _DAY = yymmdd


class Unusable(Exception):
    """The day file cannot be read safely here: read this day over D-Bus instead."""


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


__all__ = ['BLOCK', 'DayScan', 'Unusable']
