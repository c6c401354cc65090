"""The daemon's metrics lane: ``[metrics] textfile`` kept current (DESIGN section 13).

One thread takes a status snapshot (read only: directory listings and small
reads, no write) at start-up and then every :data:`INTERVAL` seconds, and
writes the metrics file only when a value changed, so at most once a minute
and never on an idle box.  Changes made by anyone (the process lane, the
outbox lanes, a technician's ``cbx-export backlog requeue``) are seen by the
next look.  On a clean stop the set is written once more with
``cstbox_export_daemon_up 0``.

``$CBX_EXPORT_METRICS_INTERVAL`` (seconds) shortens the interval for tests.
"""

import logging
import os
import threading
import time

from pycstbox.export.daemon.liveness import WORK_BOUND, Heartbeat
from pycstbox.export.process import metrics, snapshot

log = logging.getLogger(__name__)
INTERVAL = 60.0


def interval(environ=os.environ):
    try:
        return max(0.1, float(environ.get('CBX_EXPORT_METRICS_INTERVAL', INTERVAL)))
    except ValueError:
        return INTERVAL


class MetricsLane(threading.Thread):
    """Writes the metrics of the snapshot when they changed (see module docstring)."""

    def __init__(self, config, daemon_doc, clock):
        """``daemon_doc()``: the ``daemon`` part of the snapshot; ``clock()``: aware UTC now."""
        super().__init__(name='metrics', daemon=True)
        self.config = config
        self.daemon_doc = daemon_doc
        self.clock = clock
        self.interval = interval()
        self.textfile = metrics.Textfile(config.metrics.textfile)
        self._cond = threading.Condition()
        self._stopping = False
        self.heartbeat = Heartbeat(self.name)

    def update(self, config):
        """A reloaded configuration (the textfile may have changed), used at the next look."""
        with self._cond:
            self.config = config
            if config.metrics.textfile != self.textfile.path:
                self.textfile = metrics.Textfile(config.metrics.textfile)

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def look(self, running=True):
        """Take a snapshot and write its metrics if they changed; True when written."""
        with self._cond:
            config, textfile = self.config, self.textfile
        if not textfile.path:
            return False
        try:
            doc = snapshot.collect(config, self.clock())
            doc['daemon'] = dict(self.daemon_doc(), running=running)
            return textfile.update(doc)
        except Exception:  # noqa: BLE001 -- monitoring never stops the daemon
            log.exception('metrics not written')
            return False

    def run(self):
        while True:
            self.heartbeat.beat(WORK_BOUND, 'writing the metrics')
            self.look()
            until = time.monotonic() + self.interval
            with self._cond:
                while not self._stopping and time.monotonic() < until:
                    self.heartbeat.beat()           # an idle wait beats between chunks
                    self._cond.wait(self.heartbeat.wait_time(until - time.monotonic()))
                if self._stopping:
                    return

    def final(self):
        """After the stop: the metrics once more, with the daemon down."""
        return self.look(running=False)
