"""Clock faults: a gateway clock that jumps ahead, or is corrected back, loses nothing.

Gateways often have no RTC, or one that drifts; NTP may come up late or set a
clock years ahead.  What a wrong clock must never do: dead-letter real windows
"by age", queue windows of the future (they cannot hold data, and exporting them
empty moves the watermark past real windows), or stop exports for years.

The job state keeps the clock of the run that last advanced the watermark
(``seen``) and, while a suspicious jump is held, when it started (``jump``).
:func:`judge` compares the current run's clock with them:

- ``NORMAL``: go on (a box off for a few days catches up as usual);
- ``HOLD``: the clock moved forward more than ``max_age`` since ``seen``: nothing
  is queued or dead-lettered by age for that job until the clock has stayed
  consistent for :data:`CONFIRM` (a box really off for months still exports
  after that; a clock that comes back within it leaves no trace);
- ``ROLLBACK``: the clock went back more than :data:`BACK_TOLERANCE` and the
  watermark is after the last window due now: windows after it are dropped from
  the backlog (they were queued by a clock ahead, they cannot hold data) and the
  watermark goes back, so every real window is queued again when it is due.
"""

import datetime
from typing import NamedTuple

CONFIRM = datetime.timedelta(hours=1)
BACK_TOLERANCE = datetime.timedelta(hours=1)

NORMAL, HOLD, ROLLBACK = 'normal', 'hold', 'rollback'


class Verdict(NamedTuple):
    action: str                     # NORMAL | HOLD | ROLLBACK
    jump: tuple = None              # (from, to) to keep in the state while holding
    message: str = ''


def _t(t):
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def judge(*, now, seen, jump, watermark, due_end, max_age):
    """The :class:`Verdict` for a run at ``now``.

    :param seen: clock of the run that last advanced the watermark (or the watermark
        itself for a state written before it was kept), None for a new job
    :param jump: the ``(from, to)`` jump being held, or None
    :param due_end: the end of the last window due at ``now``
    """
    if seen is None:
        return Verdict(NORMAL)
    if watermark is not None and watermark > due_end and seen - now > BACK_TOLERANCE:
        return Verdict(ROLLBACK, message=(
            'the clock went back from %s to %s: windows after %s were queued by a clock '
            'ahead and are dropped, the watermark goes back (check NTP/RTC)'
            % (_t(seen), _t(now), _t(due_end))))
    if now - seen <= max_age:
        return Verdict(NORMAL)
    if jump is not None and jump[1] <= now <= jump[1] + max_age:
        if now - jump[1] >= CONFIRM:
            return Verdict(NORMAL)          # consistent for long enough: a real outage
    elif jump is not None and now > jump[1] + max_age:
        jump = (jump[0], now)               # jumped again while held: judged from here
    else:
        jump = (seen, now)
    return Verdict(HOLD, jump, (
        'suspected clock fault: the clock jumped from %s to %s (more than max_age); '
        'nothing is queued or dead-lettered by age until it has stayed consistent '
        'until %s (check NTP/RTC)' % (_t(jump[0]), _t(jump[1]), _t(jump[1] + CONFIRM))))


def fault(*, now, watermark, jump):
    """A technician's line naming a suspected clock fault of a job, or None (status, check)."""
    if jump is not None:
        return ('suspected clock fault: the clock jumped from %s to %s; nothing is queued '
                'until it stays consistent past %s (check NTP/RTC)'
                % (_t(jump[0]), _t(jump[1]), _t(jump[1] + CONFIRM)))
    if watermark is not None and watermark - now > BACK_TOLERANCE:
        return ('suspected clock fault: the clock (%s) is before the watermark %s: it went '
                'back, or was ahead when the watermark was set (check NTP/RTC); the next '
                'run drops windows queued by a clock ahead' % (_t(now), _t(watermark)))
    return None
