"""An outbox file against its target's byte budget (:mod:`pycstbox.export.process.budget`).

``send_within_budget(lane, name, size, send) -> bool``: when the lane's target has a budget
that applies, the upload is counted before ``send()`` runs and taken back if it raises;
a file that does not fit (or any file once the target waits) is not sent: the lane backs
off until the next budget period (looking again every ``RECHECK`` seconds, for a larger
budget or an unmetered connection) and the number of files waiting is recorded for
``status``.  Outbox files and the jobs' windows of a target share one budget.
"""

import datetime
import logging
import time

from pycstbox.export.transports.filename import printable

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc
#: seconds between two looks of a waiting lane (budget raised, connection unmetered)
RECHECK = 600


def send_within_budget(lane, name, size, send):
    """Call ``send()`` unless the budget says wait (see the module docstring)."""
    budget, target = lane.budget, lane.target.name
    if not budget or target not in budget.specs or not budget.applies(target):
        send()
        return True
    now = datetime.datetime.now(UTC)
    need = budget.need(target, size, name)
    why = budget.wait(target, now) or budget.reserve(target, need, now)
    if why:
        _wait(lane, name, why, now)
        return False
    try:
        send()
    except BaseException:
        budget.release(target, need, now)
        raise
    budget.note(target, now, files=0)             # written only when it changes
    return True


def _wait(lane, name, why, now):
    target = lane.target.name
    wait = min(RECHECK, max(1.0, (lane.budget.next_period(target, now) - now).total_seconds()))
    with lane._cond:
        waiting = len(lane._ready)
        lane._retry_at = time.monotonic() + wait
        lane.next_retry = now + datetime.timedelta(seconds=wait)
    lane.budget.note(target, now, files=waiting)
    log.info('outbox %s: %s and %d other file(s) wait: %s', target, printable(name),
             waiting - 1, why)
