"""The daemon's process lane: runs the export process at its slots.

``ProcessLane`` runs ``ExportProcess.run`` (the same code and the same
``state_dir/lock`` as ``cbx-export run``) at start-up (catch-up after a reboot),
then at each job's next due time.  A run blocked by the lock (a cron run) is
tried again 60 s later.  When windows stay pending after a run (uplink, receiver
or store down), they are tried again after a bounded, jittered backoff
(:data:`PENDING_RETRY`) as well as at the next slot; so are windows that could
not be queued (a full or read-only state directory: the run reports problems).  It
sleeps in chunks of at most 300 s and recomputes, so a wall-clock jump is noticed.
``CBX_EXPORT_PENDING_RETRY`` (seconds, tests) replaces the first wait of 60 s.
"""

import datetime
import logging
import os
import threading
import time

from pycstbox.export.daemon.liveness import Heartbeat, Progress, WatchedTransport
from pycstbox.export.process.retry import Retry

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc
MAX_SLEEP = 300.0          # seconds: recompute the schedule at least this often
LOCK_RETRY = 60.0          # seconds before trying again when a cron run holds the lock


def _first_retry(default=60.0):
    try:
        value = float(os.environ.get('CBX_EXPORT_PENDING_RETRY', default))
    except ValueError:
        return default
    return value if 0 < value <= default else default


#: retry of pending windows between slots: 60 s, 120 s, ... up to an hour, +20 % jitter
PENDING_RETRY = Retry(base=_first_retry(), factor=2.0, max_backoff=3600.0, jitter=0.2)


def _iso(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ') if t else None


def _utcnow():
    return datetime.datetime.now(UTC)


class ProcessLane(threading.Thread):
    """Runs the export process at start-up and then at each next due time."""

    def __init__(self, config, runtime_dir, wake=lambda: None):
        threading.Thread.__init__(self, name='process', daemon=True)
        self.config = config
        self.runtime_dir = runtime_dir
        self._wake = wake
        self._cond = threading.Condition()
        self._stopping = False
        self._force = True
        self.next_due = None
        self.last_run = None
        self._failures = 0
        self.heartbeat = Heartbeat(self.name)

    def update(self, config):
        """A new configuration: use it, and run now (its jobs may be due)."""
        with self._cond:
            self.config = config
            self._force = True
            self._cond.notify()

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def snapshot(self):
        with self._cond:
            return _iso(self.next_due), self.last_run

    def run(self):
        next_at = None
        while True:
            with self._cond:
                while not self._stopping and not self._force:
                    now = _utcnow()
                    if next_at is not None and now >= next_at:
                        break
                    wait = MAX_SLEEP if next_at is None else (next_at - now).total_seconds()
                    self.heartbeat.beat()
                    self._cond.wait(self.heartbeat.wait_time(min(wait, MAX_SLEEP)))
                if self._stopping:
                    return
                self._force = False
                config = self.config
            next_at = self._run_once(config)
            self._wake()

    def _run_once(self, config):
        """One run; returns the time of the next one."""
        from pycstbox.export.errors import LockError
        from pycstbox.export.process.process import ExportProcess, default_transport_factory
        now = _utcnow()
        hb = self.heartbeat
        bound = 2 * float(config.eventstore.timeout)  # a store call, a page decoded
        hb.beat(bound, 'export run')

        def transports(target, site):
            inner = default_transport_factory(target, site, config.tz)
            return WatchedTransport(inner, target, hb, bound)

        def sleep(seconds):
            hb.beat(bound + seconds, 'export run')
            time.sleep(seconds)
        proc = ExportProcess(config, runtime_dir=self.runtime_dir, transport_factory=transports,
                             sleep=sleep, progress=lambda start, end: Progress(hb, bound))
        try:
            rep = proc.run(now=now)
        except LockError as exc:
            log.info('%s (a cron run?); the daemon tries again in %d s', exc, LOCK_RETRY)
            return now + datetime.timedelta(seconds=LOCK_RETRY)
        except Exception as exc:  # noqa: BLE001 - the daemon must keep going
            log.debug('export run failed', exc_info=True)
            log.error('export run failed: %s; trying again in %d s', exc, LOCK_RETRY)
            with self._cond:
                self.last_run = {'at': _iso(now), 'exit_code': 1, 'error': str(exc)}
            return now + datetime.timedelta(seconds=LOCK_RETRY)
        last = {'at': _iso(now), 'exit_code': rep.exit_code, 'enqueued': rep.enqueued,
                'delivered': rep.delivered, 'failed': rep.failed,
                'dead_lettered': rep.dead_lettered, 'pending': rep.pending}
        if rep.enqueued or rep.delivered or rep.failed or rep.dead_lettered:
            log.info('run: %d queued, %d delivered, %d failed, %d dead-lettered, %d pending',
                     rep.enqueued, rep.delivered, rep.failed, rep.dead_lettered, rep.pending)
        try:
            nd = proc.next_due(now=_utcnow())
        except Exception as exc:  # noqa: BLE001
            log.error('cannot compute the next slot: %s', exc)
            nd = None
        with self._cond:
            self.last_run, self.next_due = last, nd
        after = _utcnow()
        if nd is None:
            return after + datetime.timedelta(days=1)      # no job: rechecked every 300 s anyway
        if nd <= after:                                    # nothing could be queued (clock?)
            return after + datetime.timedelta(seconds=LOCK_RETRY)
        if rep.failed or rep.skipped or rep.problems:
            # windows stay pending (network, receiver or store down) or could not be
            # queued (state directory full or read-only): besides the next slot, try
            # them again after a bounded, jittered backoff
            self._failures += 1
            retry_at = after + datetime.timedelta(seconds=PENDING_RETRY.backoff(self._failures))
            if retry_at < nd:
                log.info('%d window(s) pending%s: next attempt at %s', rep.pending,
                         ', %d problem(s)' % len(rep.problems) if rep.problems else '',
                         _iso(retry_at))
                return retry_at
        else:
            self._failures = 0
        return nd
