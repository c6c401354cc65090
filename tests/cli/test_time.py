"""Times typed by a technician (--from/--to) and the progress line."""

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from pycstbox.export.config.duration import parse_instant
from pycstbox.export.cli.progress import Progress

UTC = timezone.utc
PARIS = ZoneInfo('Europe/Paris')


@pytest.mark.parametrize('text,want', [
    ('2026-11-27', datetime(2026, 11, 26, 23, tzinfo=UTC)),
    ('2026-11-27T13:00', datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ('2026-11-27 13:00:00', datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ('2026-11-27T13:00:00.250', datetime(2026, 11, 27, 12, 0, 0, 250000, tzinfo=UTC)),
    ('2026-11-27T13:00Z', datetime(2026, 11, 27, 13, tzinfo=UTC)),
    ('2026-11-27T13:00+01:00', datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ('2026-11-27 13:00:00-0230', datetime(2026, 11, 27, 15, 30, tzinfo=UTC)),
    ('2026-07-01', datetime(2026, 6, 30, 22, tzinfo=UTC)),
])
def test_accepted_forms(text, want):
    """Dates, times and optional zones are read; without a zone, in the given time zone."""
    assert parse_instant(text, PARIS) == want


@pytest.mark.parametrize('text', ['27/11/2026', '2026-13-01', '2026-11-27T25:00', 'today', ''])
def test_refused_forms(text):
    """Anything else is a ValueError showing the accepted forms."""
    with pytest.raises(ValueError, match='YYYY-MM-DD'):
        parse_instant(text, PARIS)


def test_progress_on_terminal_only():
    """The progress line is drawn (with rate and position) only when enabled (a tty)."""
    clock = iter([0.0, 1.0, 1.0, 1.0, 2.0, 2.0]).__next__
    start, end = datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
    out = io.StringIO()
    p = Progress(start, end, stream=out, enabled=True, clock=clock)
    p.update(5000, datetime(2026, 11, 27, 12, tzinfo=UTC))
    assert out.getvalue() == '\r5,000 events, 5,000/s, at 2026-11-27 12:00:00 UTC (50%)'
    p.finish()
    assert out.getvalue().endswith('\r')
    quiet = io.StringIO()
    p = Progress(start, end, stream=quiet)        # StringIO is not a tty
    p.update(5000, start)
    p.finish()
    assert quiet.getvalue() == '' and not p.enabled
