"""A run or a requeue stopped at each of its file system steps: the next run reads the truth
(issue 19: no ghost dead letter, no orphan in failed/ or the spool, no stale temp file).

The stop is a kill at the N-th fsync/rename/unlink (every step before it done, none after),
for every N of the action.  Power cuts proper (unsynced changes lost) are test_powercut's.
"""

import hashlib
import os

import pytest

from pycstbox.export import transports
from pycstbox.export.atomic import is_temp_name
from pycstbox.export.backlog import read_entry
from pycstbox.export.errors import PermanentError
from pycstbox.export.process import journal
from pycstbox.export.process.artifact import owner
from pycstbox.export.process.process import ExportProcess
from pycstbox.export.process.recover import requeue

from .helpers import FlakyDir, ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[jobs.daily]
target = "usb"
period = "1d"
delay = "15m"
format = "csv"
compress = "gzip"
start = "2026-11-20"
max_try = 1
retry_delay = 0
'''
WINDOWS = ['261120000000', '261121000000']
STEPS = ('fsync', 'replace', 'rename', 'unlink')


class Cut(BaseException):
    """The process died here (nothing after it runs)."""


def make(tmp_path):
    out = tmp_path / 'received'
    out.mkdir(parents=True, exist_ok=True)
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    source = ListSource(hourly_events(T('2026-11-19 00:00'), 24 * 5))
    errors = []
    proc = ExportProcess(cfg, source_factory=lambda store: source,
                         transport_factory=lambda t, site: FlakyDir(
                             transports.create(t, site=site), errors),
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    return proc, cfg, errors, out


def cut_at(monkeypatch, n):
    """Kill (raise Cut) at the n-th step of STEPS, and at every step after; returns the count."""
    count = [0]
    for name in STEPS:
        real = getattr(os, name)

        def step(*a, _real=real, **k):
            count[0] += 1
            if n and count[0] >= n:
                raise Cut()
            return _real(*a, **k)
        monkeypatch.setattr(os, name, step)
    return count


def truth(cfg, out, windows):
    """{window id: 'delivered' | 'pending' | 'dead'}; asserts each is exactly one, and that
    nothing is orphaned (temp files, spool files of no entry, kept files of no letter)."""
    state = cfg.state_dir
    backlog = os.path.join(state, 'backlog', 'daily')
    failed = os.path.join(state, 'failed', 'daily')
    spool = os.path.join(state, 'spool', 'daily')
    names = lambda d: sorted(os.listdir(d)) if os.path.isdir(d) else []  # noqa: E731
    for d, _, files in os.walk(state):
        assert not [f for f in files if is_temp_name(f)], (d, files)
    pending = {n[:-5] for n in names(backlog) if n.endswith('.json')}
    letters = {n[:-5]: read_entry(os.path.join(failed, n)) for n in names(failed)
               if n.endswith('.json')}
    for n in names(failed):
        if not n.endswith('.error'):
            assert n + '.error' in names(failed), 'letter without its reason: %s' % n
            with open(os.path.join(failed, n + '.error')) as f:
                assert f.read().strip(), n
        if not n.endswith(('.json', '.error')):
            assert owner(n) in letters, 'kept file without its letter: %s' % n
    for n in names(spool):
        assert owner(n) in pending, 'spool file of no pending window: %s' % n
    latest = journal.Journal(state, 'daily').latest()
    out_state = {}
    for wid in windows:
        got = []
        if wid in latest:
            rec = latest[wid]
            with open(os.path.join(out, rec['name']), 'rb') as f:
                assert hashlib.sha256(f.read()).hexdigest() == rec['sha256']
            got.append('delivered')
        if wid in pending:
            got.append('pending')
        got += ['dead' for lid, p in letters.items()
                if p['start'].strftime('%y%m%d%H%M%S') == wid]
        assert len(got) == 1, (wid, got)
        out_state[wid] = got[0]
    return out_state


def test_dead_lettering_killed_at_every_step_leaves_no_ghost(tmp_path, monkeypatch):
    """A run dead-lettering a window, killed at any step, then a run with the target fixed:
    the window is dead-lettered (with its reason and file) or delivered, never both."""
    proc, cfg, errors, out = make(tmp_path / 'count')
    errors.append(PermanentError('403 refused (test)'))
    with monkeypatch.context() as m:
        count = cut_at(m, 0)
        proc.run(now=T('2026-11-21 01:00'))
    total = count[0]
    assert total > 10
    for n in range(1, total + 1):
        proc, cfg, errors, out = make(tmp_path / str(n))
        errors.append(PermanentError('403 refused (test)'))
        with monkeypatch.context() as m:
            cut_at(m, n)
            with pytest.raises(Cut):
                proc.run(now=T('2026-11-21 01:00'))
        errors.clear()
        proc.run(now=T('2026-11-22 01:00'))
        got = truth(cfg, out, WINDOWS)
        assert got[WINDOWS[1]] == 'delivered', (n, got)
        assert got[WINDOWS[0]] in ('dead', 'delivered'), (n, got)


def test_requeue_killed_at_every_step_leaves_no_orphan(tmp_path, monkeypatch):
    """A requeue (letter and its kept file back to the backlog), killed at any step, then a
    run: the window is delivered, or still dead-lettered with its file; nothing orphaned."""
    def dead_one(where):
        proc, cfg, errors, out = make(where)
        errors.append(PermanentError('403 refused (test)'))
        proc.run(now=T('2026-11-21 01:00'))
        errors.clear()                                  # the cause is fixed
        assert len(os.listdir(os.path.join(cfg.state_dir, 'failed', 'daily'))) == 4
        return proc, cfg, out

    def do_requeue(proc):
        requeue(proc.dead, proc.backlog('daily'), proc.spool_dir('daily'), 'daily', WINDOWS[0])

    proc, cfg, out = dead_one(tmp_path / 'count')
    with monkeypatch.context() as m:
        count = cut_at(m, 0)
        do_requeue(proc)
    total = count[0]
    assert total >= 5
    for n in range(1, total + 1):
        proc, cfg, out = dead_one(tmp_path / str(n))
        with monkeypatch.context() as m:
            cut_at(m, n)
            with pytest.raises(Cut):
                do_requeue(proc)
        proc.run(now=T('2026-11-22 01:00'))
        got = truth(cfg, out, WINDOWS)
        assert got[WINDOWS[1]] == 'delivered', (n, got)
        assert got[WINDOWS[0]] in ('dead', 'delivered'), (n, got)


def test_letter_without_its_error_gets_one_and_temp_files_go(tmp_path):
    """A letter whose .error was not written yet (the cut) gets one saying the reason was
    lost; the .error's temporary file of the writer that is gone is removed."""
    proc, cfg, errors, out = make(tmp_path)
    errors.append(PermanentError('403 refused (test)'))
    proc.run(now=T('2026-11-21 01:00'))
    failed = os.path.join(cfg.state_dir, 'failed', 'daily')
    os.unlink(os.path.join(failed, WINDOWS[0] + '.json.error'))
    with open(os.path.join(failed, '.%s.json.error.999999999.tmp' % WINDOWS[0]), 'w') as f:
        f.write('half')
    proc.run(now=T('2026-11-21 02:00'))
    assert truth(cfg, out, WINDOWS[:1]) == {WINDOWS[0]: 'dead'}
    with open(os.path.join(failed, WINDOWS[0] + '.json.error')) as f:
        assert 'lost' in f.read()
