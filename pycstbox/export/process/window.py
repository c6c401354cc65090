"""Export windows: half-open ``[start, end)`` intervals aligned to a period in a time zone.

Alignment rules:

- a period of whole days (``1d``, ``7d``) starts at local midnight in ``tz``; a
  ``1d`` window is 23 h or 25 h long on DST days;
- a shorter period (it must divide a day) is counted in elapsed time from local
  midnight: ``1h`` gives 23 or 25 windows on DST days, never a gap or an overlap.

All datetimes handed in and out are aware; results are UTC.  A window is due
when ``end + delay <= now``.  Nothing here reads the clock.
"""

import datetime
from typing import NamedTuple

UTC = datetime.timezone.utc
DAY = datetime.timedelta(days=1)
#: a clock before this is a box whose RTC lost its time
SANE_CLOCK = datetime.datetime(2020, 1, 1, tzinfo=UTC)


class Window(NamedTuple):
    start: datetime.datetime
    end: datetime.datetime

    def __str__(self):
        return '[%s, %s)' % (self.start.strftime('%Y-%m-%dT%H:%M:%SZ'),
                             self.end.strftime('%Y-%m-%dT%H:%M:%SZ'))


def _local_midnight(t, tz):
    """UTC instant of local midnight starting the local day that contains ``t``."""
    local = t.astimezone(tz)
    midnight = datetime.datetime(local.year, local.month, local.day, tzinfo=tz)
    return midnight.astimezone(UTC)


def _next_midnight(midnight_utc, tz):
    local = midnight_utc.astimezone(tz).date() + DAY
    return datetime.datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)


def window_containing(t, period, tz):
    """The window of ``period`` (timedelta) in ``tz`` that contains the instant ``t``."""
    if t.tzinfo is None:
        raise ValueError('window_containing needs an aware datetime')
    if period <= datetime.timedelta(0):
        raise ValueError('period must be positive')
    midnight = _local_midnight(t, tz)
    if period >= DAY:
        days = period // DAY
        local_day = midnight.astimezone(tz).date()
        offset = local_day.toordinal() % days
        first = local_day - datetime.timedelta(days=offset)
        start = datetime.datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
        last = first + datetime.timedelta(days=days)
        end = datetime.datetime(last.year, last.month, last.day, tzinfo=tz).astimezone(UTC)
        return Window(start, end)
    n = (t.astimezone(UTC) - midnight) // period
    start = midnight + n * period
    end = min(start + period, _next_midnight(midnight, tz))
    return Window(start, end)


def next_window(w, period, tz):
    """The window that follows ``w``."""
    return window_containing(w.end, period, tz)


def first_window(start_date, period, tz):
    """The first window at or after local midnight of ``start_date`` (a ``date``)."""
    t = datetime.datetime(start_date.year, start_date.month, start_date.day, tzinfo=tz)
    w = window_containing(t.astimezone(UTC), period, tz)
    return w if w.start >= t else next_window(w, period, tz)


def due_windows(period, delay, tz, *, now, watermark=None, start_date=None, limit=100000):
    """Windows due at ``now`` that start at or after ``watermark``, oldest first.

    Without a watermark the first window is the one of ``start_date`` when
    given, else only the last closed (due) window.  Returns ``[]`` when the
    clock is not sane (before 2020) or went back behind the watermark.
    ``limit`` bounds the list whatever the clock did.
    """
    if now < SANE_CLOCK:
        return []
    last_due = window_containing(now - delay, period, tz)
    # last_due contains now - delay: it is not closed yet unless it ends exactly there
    if last_due.end + delay > now:
        last_due = window_containing(last_due.start - datetime.timedelta(microseconds=1),
                                     period, tz)
    if watermark is not None:
        w = window_containing(watermark, period, tz)
        if w.start < watermark:
            w = next_window(w, period, tz)
    elif start_date is not None:
        w = first_window(start_date, period, tz)
    else:
        w = last_due
    out = []
    while w.end <= last_due.end and len(out) < limit:
        out.append(w)
        w = next_window(w, period, tz)
    return out


def next_due_time(period, delay, tz, *, now, watermark=None):
    """When the next window after ``watermark`` (or after now) becomes due."""
    if watermark is not None and watermark + delay > now:
        w = window_containing(watermark, period, tz)
        if w.start < watermark:
            w = next_window(w, period, tz)
    else:
        w = window_containing(max(now - delay, watermark or now - delay), period, tz)
        if w.end + delay <= now:
            w = next_window(w, period, tz)
    return w.end + delay
