"""The export process: due windows -> backlog -> run the backlog, oldest first.

One ``run``:

1. takes ``state_dir/lock`` (non-blocking: a concurrent run exits with ``LockError``);
2. for each job, puts every due window after its watermark in the backlog
   (``backlog/<job>/<jobid>.json``, durable), *then* advances the watermark;
   windows older than ``max_age`` go straight to the dead letters;
3. finishes what a run or a requeue cut short left half done (:mod:`.recover`), then
   removes the staged and spooled files no entry names;
4. runs every pending entry of the selected jobs, oldest window first:
   success -> entry deleted (only now); temporary failure -> entry kept (with
   the file on flash when it was made) and the other entries of the same
   target skipped for this run; event store down -> the entries that need it
   are skipped; permanent failure -> dead-lettered with the reason.

The clock is passed in (``now``); the event store and the transports come from
factories, so tests hand in their own.  Nothing here retries or sleeps beyond
the seed job's immediate attempts.
"""

import datetime
import heapq
import logging
import os
import time
from typing import NamedTuple

from pycstbox.export.atomic import list_names, remove_stale_temps
from pycstbox.export.backlog import Backlog, entry_bytes
from pycstbox.export.process.deadletter import DeadLetters
from pycstbox.export.errors import ConfigError, ExportError
from pycstbox.export.job import EventsExportJob
from pycstbox.export.process import clock
from pycstbox.export.process.artifact import sweep
from pycstbox.export.process.hold import Holds
from pycstbox.export.process.lock import RunLock
from pycstbox.export.process.recover import recover_job
from pycstbox.export.process.runtime import runtime_dir as resolve_runtime_dir
from pycstbox.export.process.state import JobState
from pycstbox.export.config.duration import format_duration
from pycstbox.export.process.window import SANE_CLOCK, Window, due_windows, next_due_time, window_containing

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def default_source_factory(store):
    """The event source of ``[eventstore]``: D-Bus, or the day files (``read``, ``root``)."""
    from pycstbox.evtdb.source import DEFAULT_ROOT, open_source
    return open_source(store.address, store.channel, store.timeout,
                       getattr(store, 'read', 'auto'), getattr(store, 'root', DEFAULT_ROOT))


def default_transport_factory(target, site, tz=None):
    from pycstbox.export import transports
    return transports.create(target, site=site, tz=tz)


class RunReport(NamedTuple):
    enqueued: int = 0
    delivered: int = 0
    empty: int = 0
    failed: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    pending: int = 0
    problems: tuple = ()
    lines: tuple = ()
    deferred: int = 0         # windows waiting for their target's byte budget

    @property
    def ok(self):
        return not (self.failed or self.dead_lettered or self.problems)

    @property
    def exit_code(self):
        return 0 if self.ok else 1


def entry_parms(job, window, now):
    return {'job': job, 'start': window.start, 'end': window.end, 'created': now,
            'attempts': 0}


class ExportProcess:
    """Runs the configured jobs (see module docstring)."""

    def __init__(self, config, *, source_factory=None, transport_factory=None,
                 runtime_dir=None, sleep=time.sleep, spill_limit=None, progress=None,
                 metered=None):
        self.config = config
        self.state_dir = config.state_dir
        self.runtime_dir = runtime_dir or resolve_runtime_dir(config)
        self.source_factory = source_factory or default_source_factory
        self.transport_factory = transport_factory or (
            lambda target, site: default_transport_factory(target, site, config.tz))
        self.sleep = sleep
        self.spill_limit = spill_limit
        self.progress = progress
        self.metered = metered   # NetworkManager look-up (budget_when = "metered"); None: D-Bus
        self.dead = DeadLetters(self.state_dir)
        self.held = set()      # jobs whose clock is suspect in this run: nothing dies by age

    # -- paths and helpers -------------------------------------------------------

    @property
    def backlog_root(self):
        return os.path.join(self.state_dir, 'backlog')

    def spool_dir(self, job):
        return os.path.join(self.state_dir, 'spool', job)

    def backlog(self, job):
        return Backlog(job, root=self.backlog_root)

    def select(self, names=None):
        jobs = self.config.jobs
        if not names:
            return [j for j in jobs.values() if j.enabled]
        unknown = [n for n in names if n not in jobs]
        if unknown:
            raise ConfigError('unknown job %s (configured: %s)'
                              % (', '.join(unknown), ', '.join(sorted(jobs)) or 'none'))
        return [jobs[n] for n in names]

    # -- enqueue -------------------------------------------------------------------

    def due(self, job, state, now):
        """(gap, windows): the due windows of ``job`` after its watermark, oldest first.

        Windows that ended more than ``max_age`` before ``now`` are not listed one by
        one: ``gap`` is then the single ``Window`` covering them all (else None), so a
        clock that jumped years ahead costs one dead letter, not thousands of files.
        """
        tz = self.config.tz
        first = due_windows(job.period, job.delay, tz, now=now, watermark=state.watermark,
                            start_date=job.start, limit=1)
        if not first:
            return None, []
        cutoff = now - job.max_age
        if first[0].end >= cutoff:
            return None, due_windows(job.period, job.delay, tz, now=now,
                                     watermark=state.watermark, start_date=job.start)
        # the first window that ends at or after the cutoff: the gap stops where it starts
        resume = window_containing(cutoff - datetime.timedelta(microseconds=1), job.period, tz)
        gap = Window(first[0].start, resume.start)
        return gap, due_windows(job.period, job.delay, tz, now=now, watermark=gap.end)

    def enqueue(self, job, now, problems):
        """Put the due windows of ``job`` in its backlog; returns (enqueued, dead-lettered)."""
        if now < SANE_CLOCK:
            msg = ('clock is at %s, before 2020: the real-time clock lost the time; no window '
                   'is created until the clock is set (check NTP)' % now.isoformat())
            log.error('job %s: %s', job.name, msg)
            problems.append(msg)
            return 0, 0
        state = JobState(self.state_dir, job.name)
        if state.problem:
            problems.append(state.problem)
        if not self._clock_ok(job, state, now, problems):
            return 0, 0
        gap, windows = self.due(job, state, now)
        if gap is None and not windows:
            state.save()                # a jump that was held and came back: forget it
            return 0, 0
        b = self.backlog(job.name)
        dead = 0
        if gap is not None:
            # one dead letter for the whole gap, whatever its length; requeued, it is
            # exported as one file covering the gap
            count = round((gap.end - gap.start) / job.period)
            # written already by a run cut before its watermark was saved: the same letter
            jobid = self.dead.find_window(job.name, gap.start, gap.end) or self.dead.free_id(
                job.name, EventsExportJob.make_jobid(gap.start))
            parms = dict(entry_parms(job.name, gap, now), windows=count)
            self.dead.add_data(job.name, jobid + '.json', entry_bytes(jobid, parms),
                               '%d window(s) %s older than max_age (%s): not exported; '
                               '"cbx-export backlog requeue %s %s" exports them anyway, '
                               'as one file' % (count, gap, format_duration(job.max_age),
                                                job.name, jobid), now)
            dead = 1
        n = 0
        for w in windows:
            jobid = EventsExportJob.make_jobid(w.start)
            if jobid not in b:
                b[jobid] = entry_parms(job.name, w, now)
                n += 1
        state.watermark = windows[-1].end if windows else gap.end
        state.set_clock(seen=now)
        state.save()
        if n:
            log.info('job %s: %d window(s) queued, %s .. %s', job.name, n, windows[0].start,
                     windows[-1].end)
        return n, dead

    def _due_end(self, job, now):
        """The end of the last window of ``job`` due at ``now``."""
        return window_containing(now - job.delay, job.period, self.config.tz).start

    def _clock_ok(self, job, state, now, problems):
        """Judge the clock (:mod:`.clock`); False when nothing may be queued now."""
        due_end = self._due_end(job, now)
        v = clock.judge(now=now, seen=state.clock_seen or state.watermark, jump=state.jump,
                        watermark=state.watermark, due_end=due_end, max_age=job.max_age)
        if v.action == clock.HOLD:
            self.held.add(job.name)
            if v.jump != state.jump:
                state.set_clock(jump=v.jump)
                state.save()
                log.warning('job %s: %s', job.name, v.message)
            problems.append('job %s: %s' % (job.name, v.message))
            return False
        # windows that start after the last one due now were queued by a clock ahead (a
        # rollback; or a clock ahead whose state file was lost since): they cannot hold data
        rollback = v.action == clock.ROLLBACK
        dropped = self._drop_future(job, due_end if rollback else due_end + clock.BACK_TOLERANCE)
        if rollback or dropped:
            if rollback or (state.watermark and state.watermark > due_end):
                state.watermark = due_end
            state.set_clock(seen=now)
            state.save()
            log.warning('job %s: %s (%d window(s) dropped)', job.name, v.message or (
                'windows after %s were queued by a clock ahead' % due_end), len(dropped))
            return True
        if state.jump is not None:
            log.info('job %s: the clock is consistent again (%s)', job.name, now)
            state.set_clock(seen=state.clock_seen)
        return True

    def _drop_future(self, job, after):
        """Remove the pending windows of ``job`` starting at or after ``after``; their ids."""
        b = self.backlog(job.name)
        dropped = []
        for jid in b.keys():
            start = EventsExportJob.jobid_time(jid)
            if start is not None and start >= after:
                try:
                    del b[jid]
                    dropped.append(jid)
                except KeyError:
                    pass
        return dropped

    # -- run -----------------------------------------------------------------------

    def run(self, jobs=None, *, now, dry_run=False, enqueue=True, only=None):
        """Enqueue due windows then run the pending entries; returns a :class:`RunReport`.

        :param only: optional (job name, job id) to run a single pending entry
        :raises LockError: when another run holds the lock
        """
        selected = self.select(jobs)
        if not selected:
            log.warning('no job is configured (or all are disabled): nothing to do')
            return RunReport()
        if dry_run:
            return self._dry_run(selected, now)
        with RunLock(self.state_dir):
            return self._run_locked(selected, now, enqueue, only)

    def sweep_orphans(self):
        """Remove staged/spooled files that no backlog entry names (see ``artifact.sweep``)."""
        return sweep(os.path.join(self.runtime_dir, 'staging'),
                     os.path.join(self.state_dir, 'spool'), self.backlog_root)

    def recover(self, selected, problems):
        """Finish what a run or requeue cut short left half done (:mod:`.recover`)."""
        remove_stale_temps(os.path.join(self.state_dir, 'state'))
        for job in selected:
            try:
                recover_job(self.dead, self.backlog(job.name), self.spool_dir(job.name),
                            job.name)
            except (OSError, ExportError) as exc:
                msg = 'job %s: cannot check its dead letters against its backlog: %s' % (
                    job.name, exc)
                log.error('%s', msg)
                problems.append(msg)

    def _run_locked(self, selected, now, enqueue, only):
        problems = []
        self.held = set()
        enq = dead = 0
        if enqueue:
            for job in selected:
                try:
                    a, d = self.enqueue(job, now, problems)
                except (OSError, ExportError) as exc:
                    msg = 'job %s: cannot queue new windows: %s' % (job.name, exc)
                    log.error('%s', msg)
                    problems.append(msg)
                    continue
                enq += a
                dead += d
        self.recover(selected, problems)
        self.sweep_orphans()
        from pycstbox.export.process.budget import Budget
        from pycstbox.export.process.runner import Runner
        runner = Runner(self.config, now=now, backlog=self.backlog, dead=self.dead,
                        source_factory=self.source_factory,
                        transport_factory=self.transport_factory,
                        staging_dir=os.path.join(self.runtime_dir, 'staging'),
                        spool_dir=self.spool_dir, sleep=self.sleep,
                        spill_limit=self.spill_limit, progress=self.progress,
                        held=frozenset(self.held), holds=Holds(self.runtime_dir),
                        budget=Budget(self.config, self.runtime_dir, self.metered))
        try:
            for job, jobid in self._pending(selected, only):
                try:
                    runner.run_one(job, jobid)
                except (KeyError, TypeError, ValueError, AttributeError, OSError,
                        ExportError) as exc:
                    # an entry of the wrong shape, or the state dir failing: this entry
                    # stays where it is, the others go on
                    log.exception('job %s: pending entry %s could not be run', job.name, jobid)
                    problems.append('job %s: pending entry %s could not be run: %s: %s'
                                    % (job.name, jobid, type(exc).__name__, exc))
        finally:
            runner.close()
        problems.extend(runner.problems)
        pending = sum(len(self.backlog(j.name)) for j in selected)
        return RunReport(enq, runner.delivered, runner.empty, runner.failed,
                         dead + runner.dead, runner.skipped, pending, tuple(problems),
                         deferred=runner.budget.total if runner.budget else 0)

    def _pending(self, selected, only):
        """(job, jobid) of every pending entry, oldest window first, across jobs."""
        streams = []
        for job in selected:
            ids = self.backlog(job.name).keys()
            if only:
                ids = [i for i in ids if (job.name, i) == only]
            # a list, not a generator: a generator would see the loop's last ``job``
            streams.append([(jid, job.name, job) for jid in ids])
        for jid, _, job in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
            yield job, jid

    def _dry_run(self, selected, now):
        lines = []
        for job in selected:
            state = JobState(self.state_dir, job.name, readonly=True)
            gap, windows = self.due(job, state, now) if now >= SANE_CLOCK else (None, [])
            if gap is not None:
                lines.append('%s: would dead-letter %s (older than max_age)' % (job.name, gap))
            ids = sorted(n[:-5] for n in list_names(os.path.join(self.backlog_root, job.name))
                         if n.endswith('.json') and not n.startswith('.'))
            for w in windows:
                lines.append('%s: would queue window %s' % (job.name, w))
            for jid in ids:
                lines.append('%s: would export and upload pending job %s to target %s'
                             % (job.name, jid, job.target))
            for w in windows:
                if EventsExportJob.make_jobid(w.start) not in ids:
                    lines.append('%s: would export and upload window %s to target %s'
                                 % (job.name, w, job.target))
        return RunReport(lines=tuple(lines))

    # -- scheduling ----------------------------------------------------------------

    def next_due(self, *, now, jobs=None):
        """The earliest time at which a window of the selected jobs becomes due."""
        best = None
        for job in self.select(jobs):
            state = JobState(self.state_dir, job.name)
            t = next_due_time(job.period, job.delay, self.config.tz, now=now,
                              watermark=state.watermark)
            if state.jump is not None:        # a held clock jump is judged again after CONFIRM
                t = min(t, max(now, state.jump[1] + clock.CONFIRM))
            if best is None or t < best:
                best = t
        return best
