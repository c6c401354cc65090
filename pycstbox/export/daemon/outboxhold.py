"""A held target in an outbox lane (:mod:`~pycstbox.export.process.hold`).

:class:`HoldMixin` gives :class:`~.outboxlane.OutboxLane` its two hold steps: wait
for the next probe while the target is held (``_wait_hold``), and hold the target
when it refused itself (``_hold``: the file stays in the outbox).  It uses the
lane's ``holds``, ``target``, ``_cond``, ``_retry_at``, ``next_retry``,
``last_error`` and ``_close_transport``.
"""

import datetime
import logging
import time

from pycstbox.export.process.hold import hold_text
from pycstbox.export.transports.filename import printable

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def _time(iso):
    return datetime.datetime.fromisoformat(iso.replace('Z', '+00:00'))


class HoldMixin:
    """The hold steps of an outbox lane (see module docstring)."""

    def _wait_hold(self):
        """True (and the next attempt set at the probe) while the target is held."""
        if self.holds is None:
            return False
        h = self.holds.get(self.target.name)
        if h is None:
            return False
        self._held = True
        probe = _time(h['next_probe'])
        wait = (probe - datetime.datetime.now(UTC)).total_seconds()
        if wait <= 0:
            return False                  # the probe: one file is tried
        with self._cond:
            self._retry_at = time.monotonic() + wait
            self.next_retry = probe
            self.last_error = hold_text(h)
        return True

    def _hold(self, name, exc):
        """The target refused itself: hold it; the file stays, the lane waits for the probe."""
        h = self.holds.hold(self.target.name, printable(exc), datetime.datetime.now(UTC))
        self._held = True
        probe = _time(h['next_probe'])
        with self._cond:
            wait = max(0.0, (probe - datetime.datetime.now(UTC)).total_seconds())
            self._retry_at = time.monotonic() + wait
            self.next_retry = probe
            self.last_error = hold_text(h)
        log.warning('outbox %s: %s stays in the outbox: %s', self.target.name, printable(name),
                    hold_text(h))
        self._close_transport()
