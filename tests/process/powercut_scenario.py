"""Power cuts at every fsync/rename point of scripted scenarios (issue 19), on :mod:`cutfs`.

A *scenario* is a base state (made by healthy commands) and one command run with
``state_dir`` and the metrics textfile on a :class:`~tests.peers.cutfs.CutFS`:

- ``run``: ``cbx-export run`` delivers two daily windows of job ``main`` to a dir
  target and dead-letters the window of job ``lost`` (a folder of its file's name is in the way);
- ``requeue``: ``cbx-export backlog requeue`` of that dead letter (with its kept file);
- ``outbox``: ``cbx-exportd`` uploads two files of an outbox folder to a dir target
  (the daemon's lane; its state and metrics on the cut file system).

A first run counts the cut points (``counted`` of the peer's report).  Then for each
N: the base state, the command cut at point N (the process killed, every unsynced
change dropped, ``/run`` lost), the cause of the failure fixed (the folder in the way
removed), one healthy ``cbx-export run``, and :func:`check` of the invariants.  The
result is a list of violations (strings): empty when every cut left a truthful state.

Used by ``test_powercut.py`` (a subset) and ``tools/powercut-sweep.py`` (all points).
"""

import datetime
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import time

from tests.peers.cutfs import COUNTED, CutFS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRST = datetime.date(2026, 11, 20)
DAYS = 2
NOW = '2026-11-22T00:30:00Z'          # windows 20 and 21 of main, 21 of lost are due
LATER = '2026-11-22T00:40:00Z'
EVERYTHING = ('fsync', 'fsyncdir', 'rename', 'unlink', 'create', 'mkdir', 'write')

CONFIG = '''
site = "lyon-b12"
state_dir = "%(state)s"
[eventstore]
address = "%(address)s"
timeout = 10
[metrics]
textfile = "%(metrics)s"
[targets.usb]
type = "dir"
path = "%(recv)s"
[targets.gone]
type = "dir"
path = "%(gone)s"
[targets.drop]
type = "dir"
path = "%(drop)s"
[jobs.main]
target = "usb"
period = "1d"
delay = "15m"
format = "csv"
compress = "gzip"
start = "%(first)s"
enabled = %(main)s
max_try = 1
retry_delay = 0
[jobs.lost]
target = "gone"
period = "1d"
delay = "15m"
format = "csv"
start = "%(second)s"
enabled = %(lost)s
max_try = 1
retry_delay = 0
'''


class Case:
    """The folders of one cut: ``backing`` (state + metrics, the cut file system's),
    ``mnt`` (its mount point), ``run`` (/run), receivers and outbox outside."""

    def __init__(self, root, address):
        self.root = str(root)
        self.address = address
        p = lambda *a: os.path.join(self.root, *a)   # noqa: E731
        self.backing, self.mnt, self.run = p('backing'), p('mnt'), p('run')
        self.recv, self.gone, self.drop = p('recv'), p('gone'), p('drop')
        second = FIRST + datetime.timedelta(days=1)
        self.blocker = os.path.join(self.gone, 'lyon-b12_lost_%s_%s.csv' % (
            second.strftime('%Y%m%dT000000Z'),
            (second + datetime.timedelta(days=1)).strftime('%Y%m%dT000000Z')))
        # the outbox of target drop is in the state dir: on the cut file system
        self.outbox = os.path.join(self.backing, 'state', 'outbox', 'drop')
        self.live_outbox = os.path.join(self.mnt, 'state', 'outbox', 'drop')
        for d in (self.backing, self.mnt, self.run, self.recv, self.drop):
            os.makedirs(d, exist_ok=True)
        # job lost's file is refused (a folder of its name stands in the way): a refusal of
        # that file, dead-lettered (a missing target folder would hold the target instead)
        os.makedirs(self.blocker, exist_ok=True)
        os.makedirs(os.path.join(self.backing, 'metrics'), exist_ok=True)

    def config(self, on_fuse, jobs=True):
        """The config file: state and metrics on the mount (``on_fuse``) or on the backing;
        ``jobs=False``: the jobs disabled (the daemon's clock is the real one)."""
        base = self.mnt if on_fuse else self.backing
        enabled = {'main': 'true' if jobs else 'false',
                   'lost': 'true' if jobs is True else 'false'}
        path = os.path.join(self.root, '%s-%s.toml' % ('fuse' if on_fuse else 'plain', jobs))
        with open(path, 'w') as f:
            f.write(CONFIG % {
                'state': os.path.join(base, 'state'), 'address': self.address,
                'metrics': os.path.join(base, 'metrics', 'cstbox_export.prom'),
                'recv': self.recv, 'gone': self.gone, 'drop': self.drop, 'first': FIRST.isoformat(),
                'second': (FIRST + datetime.timedelta(days=1)).isoformat(),
                'main': enabled['main'], 'lost': enabled['lost']})
        return path

    def cli(self, on_fuse, *args, now=NOW, timeout=60, repo=None, jobs=True):
        repo = repo or REPO
        env = dict(os.environ, CBX_EXPORT_NOW=now, CBX_EXPORT_RUNTIME_DIR=self.run,
                   PYTHONPATH=repo)
        env.pop('CBX_EXPORT_METRICS_TEXTFILE', None)
        return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c',
                               self.config(on_fuse, jobs)] + list(args), env=env, cwd=repo,
                              capture_output=True, text=True, timeout=timeout)

    def power_lost(self):
        """/run is a tmpfs: a power cut empties it."""
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.run)


# -- scenarios -----------------------------------------------------------------------------

def base_run(case):
    """Nothing yet: a fresh state."""


def cmd_run(case):
    return case.cli(True, 'run')


def base_requeue(case):
    """A healthy run: main delivered, lost's window dead-lettered with its kept file."""
    case.cli(False, 'run')


def cmd_requeue(case):
    return case.cli(True, 'backlog', 'requeue', 'lost', '261121000000')


OUTBOX_FILES = {'meter-a.csv': b'ts,value\n2026-11-21T10:00:00Z,1\n' * 40,
                'meter-b.csv': b'ts,value\n2026-11-21T11:00:00Z,2\n' * 40}


def base_outbox(case):
    """A healthy run; two files waiting in the outbox, old enough to be quiet."""
    case.cli(False, 'run')
    os.makedirs(case.outbox, exist_ok=True)
    for name, data in OUTBOX_FILES.items():
        p = os.path.join(case.outbox, name)
        with open(p, 'wb') as f:
            f.write(data)
        os.utime(p, (time.time() - 3600, time.time() - 3600))


def cmd_outbox(case, timeout=30):
    """cbx-exportd until both outbox files are at the receiver (or it is cut)."""
    env = dict(os.environ, CBX_EXPORT_NOW=NOW, CBX_EXPORT_RUNTIME_DIR=case.run,
               PYTHONPATH=REPO, CBX_EXPORT_METRICS_INTERVAL='0.2')
    env.pop('CBX_EXPORT_METRICS_TEXTFILE', None)
    logfile = os.path.join(case.root, 'daemon.log')
    with open(logfile, 'wb') as log:
        proc = subprocess.Popen([sys.executable, '-m', 'pycstbox.export.daemon', '-c',
                                 case.config(True, jobs=False)], env=env, cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            left = [n for n in os.listdir(case.live_outbox) if not n.startswith('.')]
        except OSError:             # cut: the file system answers EIO
            break
        if not left:
            time.sleep(0.5)          # the metrics lane writes once more
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with open(logfile, errors='replace') as f:
        return subprocess.CompletedProcess(proc.args, proc.returncode, '', f.read())


SCENARIOS = {'run': (base_run, cmd_run), 'requeue': (base_requeue, cmd_requeue),
             'outbox': (base_outbox, cmd_outbox)}


# -- the invariants ------------------------------------------------------------------------

def expected_windows():
    """{job: [window ids]} due at NOW."""
    day = lambda d: (FIRST + datetime.timedelta(days=d)).strftime('%y%m%d000000')  # noqa: E731
    return {'main': [day(0), day(1)], 'lost': [day(1)]}


def reference(case):
    """{(job, window id): bytes of the events}: the window exported by ``cbx-export export``
    (csv; main's is gzip: compared uncompressed)."""
    out = {}
    for job, ids in expected_windows().items():
        for wid in ids:
            start = datetime.datetime.strptime(wid, '%y%m%d%H%M%S')
            end = start + datetime.timedelta(days=1)
            path = os.path.join(case.root, 'ref-%s-%s.csv' % (job, wid))
            r = case.cli(False, 'export', '--from', start.strftime('%Y-%m-%dT%H:%MZ'),
                         '--to', end.strftime('%Y-%m-%dT%H:%MZ'), '-o', path)
            assert r.returncode == 0, r.stderr
            with open(path, 'rb') as f:
                out[(job, wid)] = f.read()
    return out


def _names(d):
    try:
        return sorted(os.listdir(d))
    except OSError:
        return []


def _owner(name):
    parts = name.split('.')
    i = 1
    while i < len(parts) - 1 and parts[i].isdigit():
        i += 1
    return '.'.join(parts[:i])


def check(case, ref, outbox_sent=()):
    """Violations of the invariants in the (recovered) state of ``case`` (a list of text)."""
    bad = []
    state = os.path.join(case.backing, 'state')
    for d, _, files in os.walk(case.backing):
        for f in files:
            if f.startswith('.') and f.endswith('.tmp') or f.endswith('.part'):
                bad.append('temp file left: %s' % os.path.join(d, f))
    prom = os.path.join(case.backing, 'metrics', 'cstbox_export.prom')
    if not os.path.isfile(prom) or os.path.getsize(prom) == 0:
        bad.append('metrics textfile missing or empty after the healthy run')
    try:
        st = case.cli(False, 'status', '--json')
        bl = case.cli(False, 'backlog', 'list', '--json')
        au = case.cli(False, 'audit', '--deep', '--json', timeout=180)
    except subprocess.TimeoutExpired as exc:
        return bad + ['%s did not end' % ' '.join(exc.cmd[5:])]
    try:
        status, blist, audit = json.loads(st.stdout), json.loads(bl.stdout), json.loads(au.stdout)
    except ValueError as exc:
        return bad + ['a command gave no JSON (%s): %s %s %s' % (
            exc, st.stderr[-300:], bl.stderr[-300:], au.stderr[-300:])]
    for job, ids in expected_windows().items():
        backlog = os.path.join(state, 'backlog', job)
        failed = os.path.join(state, 'failed', job)
        spool = os.path.join(state, 'spool', job)
        pending = {n[:-5] for n in _names(backlog) if n.endswith('.json')}
        letters = {}
        for n in _names(failed):
            if n.startswith('.'):
                continue
            if not n.endswith('.error') and n + '.error' not in _names(failed):
                bad.append('%s: dead letter %s without its .error' % (job, n))
            if n.endswith('.json'):
                with open(os.path.join(failed, n)) as f:
                    parms = json.load(f)['parms']
                letters[n[:-5]] = parms['start']['$datetime']
            elif not n.endswith('.error') and _owner(n) + '.json' not in _names(failed):
                bad.append('%s: kept file %s without its dead letter' % (job, n))
        for n in _names(spool):
            if _owner(n) not in pending:
                bad.append('%s: spool file %s of no pending window' % (job, n))
        journal = {}
        for line in open(os.path.join(state, 'journal', job + '.jsonl')) if os.path.exists(
                os.path.join(state, 'journal', job + '.jsonl')) else []:
            try:
                rec = json.loads(line)
                journal[rec['jobid']] = rec
            except (ValueError, KeyError):
                pass
        audited = {w['jobid']: w['status'] for w in audit['jobs'].get(job, {}).get('windows', [])}
        sjob = status['jobs'][job]
        if sjob['pending'] != len(pending):
            bad.append('%s: status says %d pending, the backlog holds %d' % (
                job, sjob['pending'], len(pending)))
        if sorted(d['id'] for d in sjob['dead_letters']) != sorted(letters):
            bad.append('%s: status dead letters %s, failed/ holds %s' % (
                job, [d['id'] for d in sjob['dead_letters']], sorted(letters)))
        listed = {(e['id'], e['state']) for e in blist if e['job'] == job}
        if listed != {(i, 'pending') for i in pending} | {(i, 'dead-lettered') for i in letters}:
            bad.append('%s: backlog list %s disagrees with the state' % (job, sorted(listed)))
        for wid in ids:
            got = []
            if wid in journal:
                got.append('ok')
                data = _received(case.gone if job == 'lost' else case.recv,
                                 journal[wid]['name'])
                if data is None:
                    bad.append('%s %s: journaled but not at the receiver' % (job, wid))
                elif data != ref[(job, wid)]:
                    bad.append('%s %s: the receiver holds other events' % (job, wid))
            if wid in pending:
                got.append('pending')
            dead = [lid for lid, start in letters.items()
                    if start.startswith(datetime.datetime.strptime(
                        wid, '%y%m%d%H%M%S').strftime('%Y-%m-%dT%H:%M:%S'))]
            got += ['dead'] * len(dead)
            if len(got) != 1:
                bad.append('%s %s: %s (not exactly one of delivered, pending, dead)' % (
                    job, wid, got or 'lost'))
            elif audited.get(wid) != got[0]:
                bad.append('%s %s: audit says %s, the state says %s' % (
                    job, wid, audited.get(wid), got[0]))
    for name in outbox_sent:
        sent = os.path.join(case.drop, name)
        waiting = os.path.join(case.outbox, name)
        dead = os.path.join(state, 'failed', 'drop', name)
        places = [p for p in (sent, waiting, dead) if os.path.isfile(p)]
        if not places:
            bad.append('outbox file %s lost' % name)
        elif os.path.isfile(sent):
            with open(sent, 'rb') as f:
                if f.read() != OUTBOX_FILES[name]:
                    bad.append('outbox file %s differs at the receiver' % name)
    return bad


def _received(folder, name):
    p = os.path.join(folder, name)
    if not os.path.isfile(p):
        return None
    with open(p, 'rb') as f:
        data = f.read()
    return gzip.decompress(data) if name.endswith('.gz') else data


# -- the sweep -----------------------------------------------------------------------------

def prepare(root, address, scenario):
    """The base state of ``scenario`` under ``root/base`` (+ the reference exports)."""
    case = Case(os.path.join(root, 'base'), address)
    SCENARIOS[scenario][0](case)
    return case, reference(case)


def one(root, address, base, ref, scenario, cut_at, counted=COUNTED, model='strict'):
    """Cut ``scenario`` at point ``cut_at`` (0: never); recover; (report, violations)."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base.root, root, symlinks=True)
    case = Case(root, address)
    bad = []
    with CutFS(case.backing, case.mnt, cut_at=cut_at, counted=counted, model=model) as fs:
        res = SCENARIOS[scenario][1](case)
    report = fs.report
    if 'Traceback' in res.stderr and not report['cut']:
        bad.append('traceback in the command: %s' % res.stderr[-1500:])
    case.power_lost()
    prom = os.path.join(case.backing, 'metrics', 'cstbox_export.prom')
    if os.path.exists(prom) and os.path.getsize(prom) == 0:
        bad.append('metrics textfile empty after the cut')
    shutil.rmtree(case.blocker, ignore_errors=True)   # the cause of the failure is fixed
    r = case.cli(False, 'run', now=LATER)
    if 'Traceback' in r.stderr:
        bad.append('traceback in the healthy run: %s' % r.stderr[-800:])
    bad += check(case, ref, OUTBOX_FILES if scenario == 'outbox' else ())
    return report, ['%s cut %d (%s): %s' % (scenario, cut_at, report.get('cut_op'), b)
                    for b in bad]


def sweep(root, address, scenario, points=None, randoms=0, seed=1, log=print,
          model='strict'):
    """Cut ``scenario`` at ``points`` (default: every point 1..count) and at ``randoms``
    random operations of any kind; returns (count, cuts made, violations, seconds)."""
    t0 = time.monotonic()
    base, ref = prepare(os.path.join(root, scenario), address, scenario)
    count = every = None
    bad = []
    if points is None or randoms:
        report, bad = one(os.path.join(root, scenario, 'count'), address, base, ref, scenario,
                          0, model=model)
        count = report['counted']
        every = sum(report['ops'].get(op, 0) for op in EVERYTHING)
    todo = [(n, COUNTED) for n in (points if points is not None else range(1, count + 1))]
    rnd = random.Random(seed)
    todo += [(rnd.randint(1, every), EVERYTHING) for _ in range(randoms)]
    for n, counted in todo:
        rep, b = one(os.path.join(root, scenario, 'cut'), address, base, ref, scenario, n,
                     counted, model)
        if not rep['cut'] and scenario != 'outbox':     # the daemon's timing varies
            b.append('%s: cut point %d never reached (%d counted)' % (scenario, n,
                                                                      rep['counted']))
        bad += b
        log('%s: cut %d/%s %s%s' % (scenario, n, count if counted == COUNTED else every,
                                    rep.get('cut_op'), ' VIOLATION' if b else ''))
        for line in b:
            log('  ' + line)
    return count, len(todo), bad, time.monotonic() - t0


# -- flash wear ----------------------------------------------------------------------------

def flash(root, address, repo=None):
    """Bytes written and fsyncs under state_dir (and the metrics file) by a ``run`` that
    delivers one daily csv.gz window to a dir target (the first: folders are made), by a
    run with nothing to do, and by the run of the next day: {what: report of the cutfs
    peer}, for the code at ``repo``."""
    case = Case(root, address)
    out = {}
    for what, now in (('first window', '2026-11-21T00:30:00Z'),
                      ('noop', '2026-11-21T00:40:00Z'), ('next window', '2026-11-22T00:30:00Z')):
        with CutFS(case.backing, case.mnt) as fs:
            r = case.cli(True, 'run', now=now, repo=repo, jobs='main')
        assert r.returncode == 0, r.stderr
        out[what] = {k: v for k, v in fs.report.items() if k != 'points'}
    assert len(os.listdir(case.recv)) == 2
    return out
