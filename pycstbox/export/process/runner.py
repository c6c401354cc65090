"""Running pending backlog entries, one by one: the inside of ``ExportProcess.run``.

A :class:`Runner` shares one event store client and one transport per target
between the entries of a run.  For each entry it first *decides* (:func:`decide`)
what the attempt's outcome is, then *records* it:

- ``delivered`` / ``empty``: entry deleted (after its file is discarded);
- ``pending`` (temporary failure): entry kept, with the file on flash when it was
  made; the rest of that target (send failure) or of the store (read failure) is
  skipped for this run;
- ``dead`` (permanent failure, or pending longer than ``max_age``): dead letter;
- ``held`` (a permanent refusal of the target itself, ``scope='target'``): the entry
  stays pending, the target is held (:mod:`.hold`) and its other entries wait for
  its next probe instead of each meeting the refusal;
- ``set aside``: an entry that cannot be read or is not a window goes to
  ``corrupt/`` and is reported; the other entries go on;
- waiting for the target's byte budget (:mod:`.budget`): entry untouched, its file
  dropped (made again next period), every later entry of that target waits too.

Collaborators are handed in: the store client and transport factories, the
backlog opener, the dead letters, the directories, ``sleep`` and ``progress``.
"""

import datetime
import logging
import os
import time
from typing import NamedTuple

from pycstbox.export import ERR_SEND
from pycstbox.export.atomic import list_names
from pycstbox.export.backlog import entry_bytes
from pycstbox.export.errors import BudgetWait, ExportError
from pycstbox.export.process import journal
from pycstbox.export.process.artifact import owner
from pycstbox.export.process.budgetgate import BudgetGate
from pycstbox.export.process.hold import hold_text, is_target_refusal
from pycstbox.export.process.state import JobState
from pycstbox.export.process.windowjob import WindowJob

log = logging.getLogger(__name__)

DELIVERED, EMPTY, PENDING, DEAD = 'delivered', 'empty', 'pending', 'dead'


def _wall():
    """The wall clock (holds are probed in real time, whatever ``now`` a run replays)."""
    return datetime.datetime.now(datetime.timezone.utc)


class Outcome(NamedTuple):
    """What one attempt at an entry came to."""
    kind: str                 # DELIVERED | EMPTY | PENDING | DEAD
    message: str = ''         # the error, for PENDING and DEAD
    blocks: str = ''          # PENDING only: 'store' or 'target' when the rest must wait


def decide(code, wj):
    """The :class:`Outcome` of ``wj.run()`` having returned ``code``."""
    if code == 0:
        return Outcome(DELIVERED if wj.count else EMPTY)
    err = wj.last_error
    message = '%s: %s' % (wj.error_text(code), err)
    if is_target_refusal(err):
        return Outcome(PENDING, message, 'held')
    if not getattr(err, 'temporary', True):
        return Outcome(DEAD, message)
    blocks = 'store' if wj.store_failed else 'target' if wj.send_failed else ''
    return Outcome(PENDING, message, blocks)


def window_text(parms):
    return '%s..%s' % (parms['start'].strftime('%Y-%m-%dT%H:%M:%SZ'),
                       parms['end'].strftime('%Y-%m-%dT%H:%M:%SZ'))


def is_window(parms):
    """A window entry: aware ``start < end``; ``attempts``/``events`` whole, ``artifact`` a name."""
    def whole(k):
        v = parms.get(k, 0)
        return v is None and k == 'events' or isinstance(v, int) and not isinstance(v, bool)
    return (isinstance(parms, dict) and isinstance(parms.get('start'), datetime.datetime)
            and isinstance(parms.get('end'), datetime.datetime)
            and parms['start'].tzinfo is not None and parms['end'].tzinfo is not None
            and parms['start'] < parms['end'] and whole('attempts') and whole('events')
            and isinstance(parms.get('artifact') or '', str))


class Runner:
    """Runs pending entries one by one, sharing the store client and transports.

    :param config: the ``Config``
    :param now: the run's time (aware UTC)
    :param backlog: ``backlog(job_name) -> Backlog``
    :param dead: the ``DeadLetters``
    :param source_factory: ``source_factory(eventstore_config) -> client``
    :param transport_factory: ``transport_factory(target_config, site) -> Transport``
    :param staging_dir: where files are built (``<runtime>/staging``), one folder per job
    :param spool_dir: ``spool_dir(job_name) -> path`` where failed uploads' files are kept
    :param sleep: passed to the jobs (waits between immediate attempts)
    :param spill_limit: passed to the artifacts (None = default)
    :param progress: ``progress(start, end) -> reporter`` or None
    :param held: names of the jobs whose clock jump is being held (:mod:`.clock`)
    :param budget: the targets' byte budgets (:class:`.budget.Budget`) or None
    :param holds: the held targets (:class:`.hold.Holds`), or None (no holds)
    """

    def __init__(self, config, *, now, backlog, dead, source_factory, transport_factory,
                 staging_dir, spool_dir, sleep=time.sleep, spill_limit=None, progress=None,
                 held=frozenset(), budget=None, holds=None):
        self.config = config
        self.now = now
        self.backlog = backlog
        self.dead_letters = dead
        self.source_factory = source_factory
        self.transport_factory = transport_factory
        self.staging_dir = staging_dir
        self.spool_dir = spool_dir
        self.sleep = sleep
        self.spill_limit = spill_limit
        self.progress = progress
        self.held = held            # jobs whose clock is suspect: nothing is dead by age
        self.holds = holds
        self._probed = {}           # target -> may be tried in this run (read once)
        self.delivered = self.empty = self.failed = self.dead = self.skipped = 0
        self.problems = []
        self._client = None
        self._flushed = False
        self._transports = {}
        self._bad_targets = {}
        self._store_down = None
        self._states = {}
        self.budget = BudgetGate(budget, now) if budget else None

    def state(self, job):
        if job not in self._states:
            self._states[job] = JobState(self.config.state_dir, job)
        return self._states[job]

    def source(self):
        if self._client is None:
            self._client = self.source_factory(self.config.eventstore)
        if not self._flushed and self.config.eventstore.flush:
            self._client.flush()
            self._flushed = True
        return self._client

    def transport(self, target):
        if target not in self._transports:
            cfg = self.config.targets[target]
            self._transports[target] = self.transport_factory(cfg, self.config.site)
        return self._transports[target]

    # -- one entry -----------------------------------------------------------------

    def run_one(self, job, jobid):
        b = self.backlog(job.name)
        parms = self._read(b, job, jobid)
        if parms is None:
            return
        if job.target in self._bad_targets or (self._store_down and not parms.get('artifact')):
            self.skipped += 1
            return
        if not self._may_try(job.target):
            self.skipped += 1            # held: waits for the target's next probe
            return
        if parms['end'] + job.delay > self.now and 'windows' not in parms:
            # queued by a clock ahead (within the tolerance of a clock step): its events
            # are not all in the store yet; it runs when it is due
            self.skipped += 1
            return
        wait = self.budget.wait(job.target) if self.budget else None
        if parms['end'] < self.now - job.max_age and (parms.get('attempts', 0) > 0 or wait) \
                and job.name not in self.held:
            last = (self.state(job.name).last_error or {}).get('message')
            self._dead_letter(b, job, jobid, parms, None,
                              'window %s stayed pending longer than max_age (%s); %s'
                              % (window_text(parms), job.max_age, 'kept waiting by the byte '
                                 'budget: %s' % wait if wait else 'last error: %s' % last))
            return
        if wait:
            self.budget.deferred(job.target)
            return
        wj = WindowJob(job, jobid, parms, site=self.config.site, source=self.source,
                       transport=lambda: self.transport(job.target),
                       runtime_dir=os.path.join(self.staging_dir, job.name),
                       spool_dir=self.spool_dir(job.name), spill_limit=self.spill_limit,
                       sleep=self.sleep, progress=self.progress,
                       gate=self.budget.gate(job.target) if self.budget else None)
        outcome = decide(wj.run(max_try=job.max_try, retry_delay=job.retry_delay), wj)
        if isinstance(wj.last_error, BudgetWait):
            self._budget_deferred(job, jobid, parms, wj)
            return
        if wj.reserved and outcome.kind != DELIVERED:
            self.budget.release(job.target, wj.reserved)
        if outcome.kind in (DELIVERED, EMPTY):
            if self.holds is not None and outcome.kind == DELIVERED:
                self.holds.release(job.target)
            self._delivered(b, job, jobid, wj, outcome)
        elif outcome.kind == PENDING and outcome.blocks == 'held' and self.holds is not None:
            h = self.holds.hold(job.target, str(wj.last_error), _wall())
            self._pending(b, job, jobid, parms, wj, Outcome(PENDING, '%s: %s' % (
                wj.error_text(ERR_SEND), hold_text(h)), 'target'))
        elif outcome.kind == PENDING and outcome.blocks != 'held':
            self._pending(b, job, jobid, parms, wj, outcome)
        else:
            self._dead_letter(b, job, jobid, parms, wj, outcome.message)

    def _budget_deferred(self, job, jobid, parms, wj):
        """The window waits for the next budget period: entry untouched, no attempt counted."""
        self.budget.deferred(job.target)
        if not parms.get('artifact'):        # a file kept by a failed attempt stays with it
            wj.artifact.discard()
        self._drop_staged(job, jobid)
        log.info('job %s: window %s waits for the byte budget of target %s',
                 job.name, window_text(parms), job.target)

    def _may_try(self, target):
        """False while ``target`` is held and its next probe is not due (read once per run)."""
        if self.holds is None:
            return True
        if target not in self._probed:
            self._probed[target] = self.holds.may_try(target, _wall())
        return self._probed[target]

    def _read(self, b, job, jobid):
        """The entry's parms, or None when it was set aside (reported)."""
        corrupt = os.path.join(b.location, 'corrupt')
        try:
            parms = b[jobid]
        except KeyError:
            self._kept_aside(job, jobid, corrupt)
            self.problems.append('job %s: backlog entry %s was unreadable and was moved to %s'
                                 % (job.name, jobid, corrupt))
            return None
        if not is_window(parms):
            b.set_aside(jobid, 'not a window entry (aware start < end, whole attempts)')
            self._kept_aside(job, jobid, corrupt)
            self.problems.append('job %s: backlog entry %s is not a window and was moved to %s'
                                 % (job.name, jobid, corrupt))
            return None
        return parms

    def _kept_aside(self, job, jobid, corrupt):
        """Files kept for an entry set aside go with it (else the next run sweeps them)."""
        self._drop_staged(job, jobid)
        for path in self._kept(job, jobid):
            try:
                os.makedirs(corrupt, exist_ok=True)
                os.replace(path, os.path.join(corrupt, os.path.basename(path)))
            except OSError as exc:
                log.error('job %s: cannot set %s aside: %s', job.name, path, exc)

    def _delivered(self, b, job, jobid, wj, outcome):
        # the journal line goes first: a kill after it leaves the window pending (sent and
        # journaled again: the journal reader keeps the last line), never a delivered
        # window without its line
        self._journal(job, jobid, wj)
        # then the file: a kill between the two leaves a pending entry (re-exported),
        # never a file without an entry
        wj.artifact.discard()
        for path in self._kept(job, jobid):     # kept under another format's name
            os.unlink(path)
        self._drop_staged(job, jobid)
        del b[jobid]
        state = self.state(job.name)
        if outcome.kind == DELIVERED:
            self.delivered += 1
            state.record_success(jobid, self.now, wj.count, wj.upload_name)
            log.info('job %s: window %s delivered to %s as %s (%d events)', job.name,
                     window_text(wj.parms), job.target, wj.upload_name, wj.count)
        else:
            self.empty += 1
            state.record_success(jobid, self.now, 0, None)

    def _journal(self, job, jobid, wj):
        """Append the window's line to ``journal/<job>.jsonl`` (durable, see journal.py)."""
        delivery = wj.delivery
        rec = journal.record(jobid, wj.start, wj.end, job.target, events=wj.count or 0,
                             delivered_at=self.now, name=wj.upload_name,
                             key=getattr(delivery, 'key', None) or wj.upload_name,
                             size=wj.bytes, sha256=wj.sha256,
                             s3_checksum=getattr(delivery, 'checksum', None))
        try:
            journal.Journal(self.config.state_dir, job.name).append(rec)
        except OSError as exc:
            # the window was delivered: keeping it pending would send it again and again
            msg = ('job %s: window %s delivered but its journal line could not be written: %s'
                   % (job.name, jobid, exc))
            log.error('%s', msg)
            self.problems.append(msg)

    def _pending(self, b, job, jobid, parms, wj, outcome):
        self.failed += 1
        parms = dict(parms, attempts=parms.get('attempts', 0) + 1)
        if wj.artifact.path and wj.count:
            try:
                wj.artifact.persist()
                parms['artifact'] = wj.artifact.name
                parms['events'] = wj.count
            except OSError as exc:
                log.error('job %s: cannot keep the file of %s for the retry: %s', job.name,
                          jobid, exc)
                wj.artifact.discard()
        try:
            b[jobid] = parms
        except ExportError as exc:
            log.error('job %s: %s', job.name, exc)
        if outcome.blocks == 'store':
            self._store_down = outcome.message
        elif outcome.blocks == 'target':
            self._bad_targets[job.target] = outcome.message
        log.warning('job %s: window %s stays pending (attempt %d): %s', job.name,
                    window_text(parms), parms['attempts'], outcome.message)
        self.state(job.name).record_error(jobid, self.now, outcome.message, True)

    def _kept(self, job, jobid, where=None):
        """Files that attempts at window ``jobid`` kept on flash (``<jobid>.<ext>``)."""
        d = where or self.spool_dir(job.name)
        return [os.path.join(d, n) for n in list_names(d) if owner(n) == jobid]

    def _drop_staged(self, job, jobid):
        """Half-written files of ``jobid`` left in staging by a killed run (worthless)."""
        for path in self._kept(job, jobid, os.path.join(self.staging_dir, job.name)):
            try:
                os.unlink(path)
            except OSError as exc:
                log.warning('job %s: cannot remove %s: %s', job.name, path, exc)

    def _dead_letter(self, b, job, jobid, parms, wj, message):
        """The letter first, then the window's files next to it, then the entry goes: a cut
        anywhere leaves the letter and its pending window, which the next run's
        :func:`~pycstbox.export.process.recover.recover_job` finishes (never a ghost)."""
        self.dead += 1
        letter = (self.dead_letters.find_window(job.name, parms['start'], parms['end'])
                  or self.dead_letters.free_id(job.name, jobid))   # never replace another one

        def named(name):                    # '<jobid>.<ext>' -> '<letter>.<ext>'
            return letter + name[len(jobid):] if name.startswith(jobid) else name
        self.dead_letters.add_data(job.name, letter + '.json', entry_bytes(letter, parms),
                                   '%s\ntarget: %s\nwhat to do: fix the cause, then '
                                   '"cbx-export backlog requeue %s %s"'
                                   % (message, job.target, job.name, letter), self.now)
        if wj is not None and wj.artifact.path and os.path.exists(wj.artifact.path):
            wj.artifact.persist()
            self.dead_letters.add_file(job.name, wj.artifact.path, named(wj.artifact.name),
                                       message, self.now)
        # a file kept by an earlier attempt (dead by age: not re-exported) goes with it,
        # else the next run would sweep the only copy of the window
        for path in self._kept(job, jobid):
            self.dead_letters.add_file(job.name, path, named(os.path.basename(path)), message,
                                       self.now)
        self._drop_staged(job, jobid)
        del b[jobid]
        self.state(job.name).record_error(jobid, self.now, message, False)

    # -- end of the run ------------------------------------------------------------

    def _save(self, state):
        try:
            state.save()
        except OSError as exc:
            msg = 'job %s: cannot write its state file: %s' % (state.job, exc)
            log.error('%s', msg)
            self.problems.append(msg)

    def close(self):
        """Save the job states (once per run: they are reports, not promises), close peers."""
        for state in self._states.values():
            self._save(state)
        if self.budget is not None:
            self.budget.close()
        for t in self._transports.values():
            try:
                t.close()
            except Exception:  # noqa: BLE001
                log.debug('closing a transport failed', exc_info=True)
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                log.debug('closing the event store client failed', exc_info=True)
