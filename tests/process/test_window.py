"""Windows aligned to a period in a time zone; due times; catch-up bounds."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from pycstbox.export.process.window import (Window, due_windows, first_window, next_due_time,
                                    next_window, window_containing)

UTC = datetime.timezone.utc
PARIS = ZoneInfo('Europe/Paris')
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)
M15 = datetime.timedelta(minutes=15)


def T(s):
    return datetime.datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_day_window_utc():
    """A 1d window in UTC runs from midnight to midnight."""
    assert window_containing(T('2026-11-27 13:45'), D, UTC) == Window(T('2026-11-27 00:00'),
                                                                      T('2026-11-28 00:00'))


@pytest.mark.parametrize('day,hours', [('2026-03-29', 23), ('2026-10-25', 25), ('2026-11-27', 24)])
def test_day_window_dst_length(day, hours):
    """A 1d window in Europe/Paris is 23 h or 25 h long on DST days, from local midnight."""
    w = window_containing(T(day + ' 12:00'), D, PARIS)
    assert w.end - w.start == hours * H
    assert w.start.astimezone(PARIS).hour == 0 and w.end.astimezone(PARIS).hour == 0


@pytest.mark.parametrize('day,count', [('2026-03-29', 23), ('2026-10-25', 25)])
def test_hourly_windows_tile_a_dst_day(day, count):
    """Hourly windows of a DST day tile it with no gap and no overlap."""
    day_w = window_containing(T(day + ' 12:00'), D, PARIS)
    w = window_containing(day_w.start, H, PARIS)
    n = 0
    while w.start < day_w.end:
        nxt = next_window(w, H, PARIS)
        assert nxt.start == w.end
        w, n = nxt, n + 1
    assert n == count


def test_quarter_hour_alignment():
    """15m windows start on quarter hours."""
    w = window_containing(T('2026-11-27 13:52:10'), M15, UTC)
    assert w == Window(T('2026-11-27 13:45'), T('2026-11-27 14:00'))


def test_multi_day_period_is_stable():
    """A 7d window is the same whatever instant inside it is asked."""
    a = window_containing(T('2026-11-23 01:00'), 7 * D, UTC)
    assert all(window_containing(a.start + k * D, 7 * D, UTC) == a for k in range(7))


def test_due_only_after_delay():
    """A window is due when end + delay <= now."""
    assert due_windows(D, M15, UTC, now=T('2026-11-28 00:14'), watermark=T('2026-11-27 00:00')) == []
    assert due_windows(D, M15, UTC, now=T('2026-11-28 00:15'),
                       watermark=T('2026-11-27 00:00')) == [Window(T('2026-11-27 00:00'),
                                                                   T('2026-11-28 00:00'))]


def test_without_watermark_only_last_closed_window():
    """With no watermark and no start, only the last closed window is due."""
    assert due_windows(D, M15, UTC, now=T('2026-11-28 09:00')) == [
        Window(T('2026-11-27 00:00'), T('2026-11-28 00:00'))]


def test_start_date_catch_up():
    """With a start date every window since then is due, oldest first."""
    ws = due_windows(D, M15, UTC, now=T('2026-11-28 09:00'), start_date=datetime.date(2026, 11, 20))
    assert [w.start.day for w in ws] == list(range(20, 28))
    assert first_window(datetime.date(2026, 11, 20), D, UTC).start == T('2026-11-20 00:00')


def test_insane_clock_creates_nothing():
    """A clock before 2020 gives no window."""
    assert due_windows(D, M15, UTC, now=T('1970-01-02 00:00'), start_date=datetime.date(1970, 1, 1)) == []


def test_clock_behind_watermark_creates_nothing():
    """A clock that went back behind the watermark gives no window."""
    assert due_windows(D, M15, UTC, now=T('2026-11-25 09:00'), watermark=T('2026-11-28 00:00')) == []


def test_limit_bounds_the_list():
    """The number of windows returned is bounded whatever the clock did."""
    assert len(due_windows(M15, M15, UTC, now=T('2030-01-01 00:00'),
                           watermark=T('2026-01-01 00:00'), limit=500)) == 500


def test_next_due_time():
    """The next due time is the end + delay of the first window after the watermark."""
    assert next_due_time(D, M15, UTC, now=T('2026-11-28 09:00'), watermark=T('2026-11-28 00:00')) \
        == T('2026-11-29 00:15')
    assert next_due_time(H, M15, UTC, now=T('2026-11-28 09:20'), watermark=None) \
        == T('2026-11-28 10:15')


def test_naive_datetime_refused():
    """Naive datetimes are refused (UTC must be explicit)."""
    with pytest.raises(ValueError):
        window_containing(datetime.datetime(2026, 11, 27), D, UTC)
