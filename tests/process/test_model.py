"""Model-based test of the whole export process (issue 10, "the test that finds the next one").

A hypothesis ``RuleBasedStateMachine`` drives an :class:`ExportProcess` made of 1-4 jobs
(periods 15m..1d, delays, every format, gzip or not, time zones) delivering to real ``dir``
targets, reading an in-memory event store (:class:`GridSource`: one event every 10 minutes,
recorded only up to the true time).  Rules: the true time and the box clock move (small
steps, a box off for days, a clock years ahead, a clock that lost its time, a clock set
back), a target accepts / fails for now / hangs briefly / refuses for good (its directory
is gone), the store goes down and up, state files and backlog entries are corrupted or
deleted, the configuration is reloaded (same or edited) and the process runs, to the end
or killed (a forked run exits after its n-th event read or file delivered).
After every step (:mod:`.model_check`): every due window of every job is pending,
delivered with exactly its events, dead-lettered with a reason or set aside with one;
nothing runs under another job; no file without an entry in staging or spool; every run
finishes; the status collection agrees with the disk.

Profiles: the suite runs ``CBX_MODEL_EXAMPLES`` (default 200) examples of up to
``CBX_MODEL_STEPS`` (default 40) steps: 25-40 s on the 2-core test box, examples chosen at
random each run (a failure prints the steps to replay and a ``reproduce_failure`` blob).
For a longer hunt by hand::

    CBX_MODEL_EXAMPLES=2000 CBX_MODEL_STEPS=60 PYTHONPATH=. /usr/bin/python3 -m pytest \
        -q -p no:cacheprovider tests/process/test_model.py

The directories live on /dev/shm when there is one (the model is about logic; thousands
of fsyncs on a busy disk cost minutes).  ``CBX_MODEL_PENDING=NAME,...`` turns off the rules
that find one defect (see ``PENDING_DEFECTS``), to study another.
"""

import datetime
import logging
import os
import shutil
import signal
import tempfile
import time

from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from pycstbox.export import config as configmod
from pycstbox.export import transports
from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.process.process import ExportProcess

from . import model_check
from .helpers import GridSource

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
MIN = datetime.timedelta(minutes=1)

#: rules that found issue 10 defects can be turned off by name to study one at a time
#: (``CBX_MODEL_PENDING=5,7``); all are on: every defect the model found is fixed.  It found
#: defect 1 (only the last job ran), 5 (clock jumps: rule ``jump_ahead``), 7 (state files with
#: wrong types: ``STATE_CORRUPTIONS_7``), 15 (orphans in staging or spool), "5-rejump" (a jump
#: while another is held was taken as a consistent clock) and "gap-collision" (a max_age gap
#: dead letter replaced another dead letter of the same id after a lost state file).
PENDING_DEFECTS = set()
if os.environ.get('CBX_MODEL_PENDING') is not None:
    PENDING_DEFECTS = set(n for n in os.environ['CBX_MODEL_PENDING'].split(',') if n)

SITE = 'lyon-b12'
TARGETS = ('t0', 't1', 't2')
PERIODS = ('15m', '1h', '6h', '1d')
DELAYS = ('0s', '1m', '15m', '1h')
FORMATS = (('csv', 'none'), ('csv', 'gzip'), ('tsv', 'none'), ('tsv', 'gzip'),
           ('excel-csv', 'none'), ('jsonl', 'none'), ('jsonl', 'gzip'), ('dwh-zip', 'none'))
FILTERS = ((), ('energy',), ('energy', 'presence'))
MAX_AGES = ('2d', '3d')        # more than period + delay (config rule)
MODES = ('accept', 'temporary', 'hang', 'refuse')
HANG = 0.02          # seconds a hanging target holds the run before its timeout
RUN_BOUND = 60       # seconds: a run longer than this has hung

STATE_CORRUPTIONS = {
    'garbage': b'\x00\xff{ not json',
    'empty': b'',
    'list': b'[]\n',
}
STATE_CORRUPTIONS_7 = {          # issue 10, defect 7: wrong types crash a run or status
    'watermark-int': b'{"watermark": 5}\n',
    'watermark-junk': b'{"watermark": "soon"}\n',
    'last-error-str': b'{"last_error": "x"}\n',
    'last-success-int': b'{"last_success": 5}\n',
    'deep': b'[' * 100000 + b']' * 100000,
}
ENTRY_CORRUPTIONS = ('garbage', 'truncated', 'shape', 'other-id', 'start-str', 'attempts-str')


def job_spec(draw_period, delay, fmt, target, filt, start_days, max_age, max_try, t0):
    return {'period': draw_period, 'delay': delay, 'format': fmt[0], 'compress': fmt[1],
            'target': target, 'var_types': filt, 'max_age': max_age, 'max_try': max_try,
            'start': (t0 - start_days * DAY).date()}


JOBS = st.tuples(st.sampled_from(PERIODS), st.sampled_from(DELAYS), st.sampled_from(FORMATS),
                 st.sampled_from(TARGETS), st.sampled_from(FILTERS), st.integers(0, 2),
                 st.sampled_from(MAX_AGES), st.integers(1, 2))


class ModelTarget:
    """A real ``dir`` transport whose receiver the model steers (``machine.modes``)."""

    def __init__(self, inner, machine, name):
        self.inner, self.m, self.name = inner, machine, name

    def send(self, path, name, *, job='', key=None, **kw):
        mode = self.m.modes[self.name]
        self.m.check_send(self.name, path, name, job, key)
        if mode == 'temporary':
            raise TemporaryError('target %s: 503 service unavailable (test)' % self.name,
                                 target=self.name)
        if mode == 'hang':
            time.sleep(HANG)
            raise TemporaryError('target %s: timed out (test)' % self.name, target=self.name)
        try:
            self.inner.send(path, name, job=job, key=key, **kw)
        except PermanentError:
            self.m.refused.add((job, name))
            raise
        self.m.sent(self.name, name)

    def check(self):
        self.inner.check()

    def close(self):
        self.inner.close()


class ModelSource(GridSource):
    """The grid store; a run killed while reading dies after its n-th event."""

    def __init__(self, machine):
        super().__init__(until=lambda: machine.true)
        self.m = machine

    def events(self, *args, **kw):
        for e in super().events(*args, **kw):
            self.m.crash_point('read')
            yield e


class ExportModel(RuleBasedStateMachine):
    """The machine; the checks live in :mod:`.model_check` (they read the disk only)."""

    ROOT = None

    def __init__(self):
        super().__init__()
        self.root = tempfile.mkdtemp(prefix='model-', dir=self.ROOT)
        self.state_dir = os.path.join(self.root, 'state')
        self.runtime = os.path.join(self.root, 'run')
        self.out = os.path.join(self.root, 'out')
        self.modes = {t: 'accept' for t in TARGETS}
        for t in TARGETS:
            os.makedirs(self.target_dir(t))
        self.source = ModelSource(self)
        self.crash_at = None        # in a killed run's child: [kind, n, pipe fd]
        self.killed = False         # the last run was killed (what it held is unknown)
        self.jobs = {}
        self.history = {}           # job -> {'formats': set(ext), 'targets': set, 'period'}
        self.next_job = 0
        self.proc = None
        self.config = None
        self.refused = set()        # (job, upload name) refused for good by a target
        self.delivered = {}         # (target, name) -> (size, mtime_ns, complete)
        self.violations = []        # found while a run was going on (send checks)
        self.lost = set()           # (job, jobid) entries deleted by the test
        self.corrupted = set()      # (job, jobid) entries corrupted by the test
        self.damaged = False        # state/backlog damaged since the last run
        self.horizon = {}           # job -> accounting horizon (see model_check.horizon)
        self.runs = []              # (clock, true) of every run
        self.last = None            # the last run: dict(report, error, clock, true, ...)
        self.reach = {}             # job -> latest min(clock, true) of a run
        self.seen = {}              # job -> clock of its last run not held (model_check)
        self.holds = {}             # job -> clock of the run that saw a jump (model_check)
        self.fault_since = None     # clock of the first run with a wrong clock (going on)
        self.fault_clock = None     # clock of the last run (model_check.note_clock)
        self.anchored = set()       # jobs run at a right clock since their state was made
        self.sent_log = []          # (target, name) of every delivery
        self.complete = {}          # (target, name) -> the file being sent is complete
        self.windows = {}           # job -> cached list of its windows
        self.truth = {}             # (job, start) -> events in the window (once passed)

    # -- set-up ------------------------------------------------------------------

    def target_dir(self, t):
        return os.path.join(self.out, t)

    def add_job(self, spec):
        name = 'j%d' % self.next_job
        self.next_job += 1
        self.jobs[name] = dict(spec)
        self.note_history(name)

    def note_history(self, name):
        from pycstbox.export import formats
        spec = self.jobs[name]
        h = self.history.setdefault(name, {'exts': set(), 'targets': set(),
                                           'delay': datetime.timedelta(0)})
        h['exts'].add(formats.extension(spec['format'], spec['compress']))
        h['targets'].add(spec['target'])

    def config_text(self):
        lines = ['site = "%s"' % SITE, 'state_dir = "%s"' % self.state_dir,
                 'timezone = "%s"' % self.tz, '']
        for t in TARGETS:
            lines += ['[targets.%s]' % t, 'type = "dir"', 'path = "%s"' % self.target_dir(t), '']
        for name, j in sorted(self.jobs.items()):
            lines += ['[jobs.%s]' % name, 'target = "%s"' % j['target'],
                      'period = "%s"' % j['period'], 'delay = "%s"' % j['delay'],
                      'format = "%s"' % j['format'], 'compress = "%s"' % j['compress'],
                      'var_types = [%s]' % ', '.join('"%s"' % v for v in j['var_types']),
                      'start = "%s"' % j['start'].isoformat(), 'max_age = "%s"' % j['max_age'],
                      'max_try = %d' % j['max_try'], 'retry_delay = 1', '']
        return '\n'.join(lines)

    def build(self):
        path = os.path.join(self.root, 'export.toml')
        with open(path, 'w') as f:
            f.write(self.config_text())
        self.config = configmod.load(path, environ={})
        self.proc = ExportProcess(
            self.config, source_factory=lambda store: self.source,
            transport_factory=lambda t, site: ModelTarget(transports.create(t, site=site),
                                                          self, t.name),
            runtime_dir=self.runtime, sleep=lambda s: None)

    @initialize(jobs=st.lists(JOBS, min_size=1, max_size=4),
                hours=st.integers(0, 47), minutes=st.integers(0, 59),
                tz=st.sampled_from(('UTC', 'Europe/Paris')))
    def setup(self, jobs, hours, minutes, tz):
        self.tz = tz
        self.true = datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc) \
            + hours * HOUR + minutes * MIN
        self.clock = self.true
        for j in jobs:
            self.add_job(job_spec(*j, t0=self.true))
        self.build()

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    # -- time ----------------------------------------------------------------------

    @rule(step=st.sampled_from((1, 5, 15, 60, 180, 360)), slot=st.booleans())
    def tick(self, step, slot):
        """Time goes on (the clock with it, right or wrong), often up to a run (a slot)."""
        self.true += step * MIN
        self.clock += step * MIN
        if slot:
            self.run()

    @rule(days=st.integers(1, 4))
    def box_off(self, days):
        """The box was really off for days (a real outage, maybe longer than max_age)."""
        self.true += days * DAY
        self.clock += days * DAY

    @precondition(lambda self: '5' not in PENDING_DEFECTS and (
        '5-rejump' not in PENDING_DEFECTS or self.clock <= self.true and not self.holds
        and not self.killed))
    @rule(years=st.sampled_from((1, 14)))
    def jump_ahead(self, years):
        """NTP or a bad RTC sets the clock years ahead (issue 10, defect 5)."""
        self.clock = self.true + years * 365 * DAY

    @rule()
    def rtc_lost(self):
        """The RTC lost the time: the clock is back in 2000."""
        self.clock = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc) + \
            (self.true - datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc))

    @rule(minutes=st.sampled_from((5, 30, 120)))
    def clock_back(self, minutes):
        """The clock is set back a little (behind the true time)."""
        self.clock = min(self.clock, self.true) - minutes * MIN

    @rule()
    def clock_fixed(self):
        """NTP sets the clock right."""
        self.clock = self.true

    # -- peers ---------------------------------------------------------------------

    @rule(name=st.sampled_from(TARGETS), mode=st.sampled_from(MODES))
    def set_target(self, name, mode):
        """A receiver accepts, fails for now, hangs, or refuses for good (directory gone)."""
        d = self.target_dir(name)
        if mode == 'refuse' and self.modes[name] != 'refuse':
            os.rename(d, d + '.away')
        elif mode != 'refuse' and self.modes[name] == 'refuse':
            os.rename(d + '.away', d)
        self.modes[name] = mode

    @rule(down=st.booleans())
    def store(self, down):
        """The event store goes down or comes back."""
        self.source.down = down

    # -- damage --------------------------------------------------------------------

    def pick_job(self, i):
        names = sorted(self.jobs)
        return names[i % len(names)]

    @rule(i=st.integers(0, 3), kind=st.sampled_from(sorted(STATE_CORRUPTIONS)
                                                    + sorted(STATE_CORRUPTIONS_7)))
    def corrupt_state(self, i, kind):
        """A state file is damaged (or wrong types: issue 10, defect 7)."""
        if kind in STATE_CORRUPTIONS_7 and '7' in PENDING_DEFECTS:
            return
        job = self.pick_job(i)
        if 'gap-collision' in PENDING_DEFECTS and self.has_windows(job):
            return
        path = os.path.join(self.state_dir, 'state', job + '.json')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write({**STATE_CORRUPTIONS, **STATE_CORRUPTIONS_7}[kind])
        self.anchored.discard(job)
        self.seen.pop(job, None)
        self.damaged = True

    @rule(i=st.integers(0, 3))
    def delete_state(self, i):
        """A state file is lost: the job starts again from its start date."""
        job = self.pick_job(i)
        if 'gap-collision' in PENDING_DEFECTS and self.has_windows(job):
            return
        path = os.path.join(self.state_dir, 'state', job + '.json')
        if os.path.exists(path):
            os.unlink(path)
            self.anchored.discard(job)
            self.seen.pop(job, None)
            self.damaged = True

    def has_windows(self, job):
        """Pending entries or dead letters (a lost state may make a gap collide with them)."""
        return any(j == job for j, _ in self.entries()) or model_check.listing(
            os.path.join(self.state_dir, 'failed', job))

    def entries(self):
        out = []
        for job in sorted(self.jobs):
            d = os.path.join(self.state_dir, 'backlog', job)
            if os.path.isdir(d):
                out += [(job, n[:-5]) for n in sorted(os.listdir(d))
                        if n.endswith('.json') and not n.startswith('.')]
        return out

    @precondition(lambda self: self.entries())
    @rule(i=st.integers(0, 1000), kind=st.sampled_from(ENTRY_CORRUPTIONS))
    def corrupt_entry(self, i, kind):
        """A backlog entry is damaged."""
        job, jobid = self.entries()[i % len(self.entries())]
        model_check.corrupt_entry(os.path.join(self.state_dir, 'backlog', job, jobid + '.json'),
                                  kind)
        self.corrupted.add((job, jobid))
        self.damaged = True

    @precondition(lambda self: self.entries())
    @rule(i=st.integers(0, 1000))
    def delete_entry(self, i):
        """A backlog entry is lost (as a kill between entry and file removal leaves it)."""
        job, jobid = self.entries()[i % len(self.entries())]
        if '15' in PENDING_DEFECTS and model_check.spooled(self, job, jobid):
            return      # issue 10, defect 15: its spooled file would stay forever
        os.unlink(os.path.join(self.state_dir, 'backlog', job, jobid + '.json'))
        self.lost.add((job, jobid))
        self.damaged = True

    # -- configuration -------------------------------------------------------------

    @rule(edit=st.sampled_from(('same', 'format', 'target', 'delay', 'max_age', 'add',
                                'remove')),
          i=st.integers(0, 3), new=JOBS)
    def reload(self, edit, i, new):
        """The configuration is reloaded, as it was or edited (the period never changes)."""
        job = self.pick_job(i)
        spec = job_spec(*new, t0=self.true)
        if edit == 'add' and len(self.jobs) < 4:
            self.add_job(spec)
        elif edit == 'remove' and len(self.jobs) > 1:
            del self.jobs[job]
            self.horizon.pop(job, None)
        elif edit == 'format':
            self.jobs[job].update(format=spec['format'], compress=spec['compress'])
        elif edit in ('target', 'delay', 'max_age'):
            self.jobs[job][edit] = spec[edit]
        for name in self.jobs:
            self.note_history(name)
        self.build()

    # -- run -----------------------------------------------------------------------

    @rule()
    def run(self):
        """cbx-export run at the box's clock."""
        before = model_check.snapshot(self)
        self.violations = []
        sent_before = len(self.sent_log)
        t0 = time.monotonic()

        def alarm(signum, frame):
            raise TimeoutError('run still going after %d s' % RUN_BOUND)
        old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(RUN_BOUND)
        try:
            report, error = self.proc.run(now=self.clock), None
        except Exception as exc:   # noqa: BLE001 -- reported by the invariants
            import traceback
            report, error = None, traceback.format_exc()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        self.killed = False
        self.last = {'report': report, 'error': error, 'clock': self.clock, 'true': self.true,
                     'seconds': time.monotonic() - t0, 'before': before,
                     'sent': self.sent_log[sent_before:], 'damaged': self.damaged,
                     'store_down': self.source.down, 'modes': dict(self.modes)}
        event('run')
        if report is not None:                      # --hypothesis-show-statistics
            for what in ('delivered', 'failed', 'dead_lettered', 'skipped', 'problems'):
                if getattr(report, what):
                    event('a run with %s' % what)
        if self.clock >= model_check.SANE_CLOCK:    # else the states were not even read
            self.damaged = False
        model_check.after_run(self)

    def sent(self, target, name):
        s = os.stat(os.path.join(self.target_dir(target), name))
        self.sent_log.append((target, name))
        rec = self.delivered[(target, name)] = (s.st_size, s.st_mtime_ns,
                                                self.complete.pop((target, name), False))
        if self.crash_at:
            self.tell('sent', target, name, *rec)
            self.crash_point('sent')

    def check_send(self, target, path, name, job, key):
        seen = len(self.violations)
        self.complete[(target, name)] = model_check.check_send(self, target, path, name, job,
                                                               key)
        if self.crash_at:
            for v in self.violations[seen:]:
                self.tell('violation', v)

    # -- a run killed (power cut, kill -9): in a child process ---------------------

    def tell(self, *fields):
        os.write(self.crash_at[2], ('\t'.join(str(f).replace('\t', ' ').replace('\n', ' ')
                                              for f in fields) + '\n').encode())

    def crash_point(self, kind):
        if self.crash_at and self.crash_at[0] == kind:
            self.crash_at[1] -= 1
            if self.crash_at[1] <= 0:
                os._exit(9)

    @rule(kind=st.sampled_from(('read', 'sent')), n=st.integers(1, 30))
    def killed_run(self, kind, n):
        """A run is killed after its n-th event read or its n-th file delivered."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                            # the run, killed: never back to hypothesis
            code = 0
            try:
                os.close(r)
                self.crash_at = [kind, n, w]
                self.proc.run(now=self.clock)
            except BaseException:   # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        self.killed = True
        with os.fdopen(r, encoding='utf-8') as f:
            lines = f.read().splitlines()
        _, status = os.waitpid(pid, 0)
        violations = []
        for line in lines:
            what, *rest = line.split('\t')
            if what == 'sent':
                t, name, size, mtime, complete = rest
                self.delivered[(t, name)] = (int(size), int(mtime), complete == 'True')
            else:
                violations.append(rest[0])
        model_check.fail(self, violations)
        assert os.WEXITSTATUS(status) in (0, 9), 'the killed run raised (exit %d)' % status
        model_check.note_clock(self, self.clock, self.true)
        if self.clock < model_check.SANE_CLOCK:
            return
        for job in self.jobs:
            self.holds.pop(job, None)               # it may have ended a hold, or begun one
            if job in self.horizon:                 # it may have rolled a clock back
                self.horizon[job] = min(self.horizon[job], self.clock)
            ref = self.seen.get(job)
            # the oldest reference it may hold: it queued, or saw the clock go back (the
            # process rolls its reference back even when nothing is due; killed, it may or
            # may not have saved that)
            if model_check.any_due(self, job, self.clock) or ref is not None and self.clock < ref:
                self.seen[job] = min(self.seen.get(job, self.clock), self.clock)

    # -- invariants ----------------------------------------------------------------

    @invariant()
    def every_run_finished(self):
        """Every run returns a report, in bounded time, without an exception."""
        model_check.run_finished(self)

    @invariant()
    def nothing_lost(self):
        """Every due window is pending, delivered with exactly its events, dead or set aside."""
        model_check.accounting(self)

    @invariant()
    def targets_hold_only_deliveries(self):
        """Target directories hold exactly the files delivered, as delivered."""
        model_check.targets(self)

    @invariant()
    def status_agrees_with_disk(self):
        """The status collection (status --json) and its rendering agree with the disk."""
        model_check.status(self)


def settings_profile():
    return settings(max_examples=int(os.environ.get('CBX_MODEL_EXAMPLES', '200')),
                    stateful_step_count=int(os.environ.get('CBX_MODEL_STEPS', '40')),
                    deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


def test_model(tmp_path):
    """Whatever the clock, peers, damage and reloads do: nothing lost, nothing under another job."""
    # tmpfs when there is one: the test is about logic, and the thousands of fsyncs of a
    # long run cost minutes on a busy disk
    shm = '/dev/shm'
    root = tempfile.mkdtemp(dir=shm) if os.path.isdir(shm) and os.access(shm, os.W_OK) \
        else str(tmp_path)

    class Machine(ExportModel):
        ROOT = root
    quiet = logging.getLogger('pycstbox')
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)        # thousands of expected errors: not worth formatting
    try:
        run_state_machine_as_test(Machine, settings=settings_profile())
    finally:
        quiet.setLevel(level)
        if root != str(tmp_path):
            shutil.rmtree(root, ignore_errors=True)


def test_model_killed_runs_across_a_clock_set_back(tmp_path, monkeypatch):
    """A run killed after the clock went back may have rolled the jump reference back: the
    jump that follows may be held (found by test_model: the model took the killed run's
    reference as kept)."""
    import sys
    monkeypatch.setattr(sys.modules[__name__], 'event', lambda *a, **k: None)  # no hypothesis

    class Machine(ExportModel):
        ROOT = str(tmp_path)
    job = ('15m', '0s', ('csv', 'none'), 't0', (), 0, '2d', 1)
    state = Machine()
    try:
        state.setup(jobs=[job, job, job], hours=0, minutes=0, tz='UTC')
        for _ in range(4):
            state.clock_fixed()
        state.jump_ahead(years=1)
        state.killed_run(kind='read', n=1)
        state.clock_fixed()
        state.killed_run(kind='read', n=1)
        state.clock_fixed()
        state.jump_ahead(years=1)
        state.tick(slot=True, step=1)
    finally:
        state.teardown()
