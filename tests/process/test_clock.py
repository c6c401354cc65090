"""Clock faults cost nothing (issue 10, defect 5): jumps ahead, corrections back, real outages."""

import datetime
import json
import os

import pytest

from pycstbox.export import transports
from pycstbox.export.process import clock
from pycstbox.export.process.process import ExportProcess
from pycstbox.export.process.state import JobState

from .helpers import FlakyDir, ListSource, T, TemporaryError, hourly_events, received, \
    write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[jobs.daily]
target = "usb"
period = "1d"
delay = "15m"
format = "csv"
start = "2026-11-20"
max_age = "%(max_age)s"
max_try = 1
'''


class Env:
    def __init__(self, tmp_path, max_age='90d'):
        self.out = tmp_path / 'received'
        self.out.mkdir()
        self.cfg = write_config(tmp_path, CONFIG % {'out': self.out, 'max_age': max_age})
        self.source = ListSource(hourly_events(T('2026-11-19 00:00'), 24 * 12))
        self.errors = []
        self.runtime = str(tmp_path / 'run')

    def run(self, when):
        def tfactory(target, site):
            t = FlakyDir(transports.create(target, site=site))
            t.errors = self.errors          # shared: each error is used once, across runs
            return t
        proc = ExportProcess(self.cfg, source_factory=lambda s: self.source,
                             transport_factory=tfactory, runtime_dir=self.runtime,
                             sleep=lambda s: None)
        return proc, proc.run(now=when)

    def days(self):
        return [n.split('_')[2][:8] for n in received(self.out)]

    def lines(self, day):
        name = [n for n in received(self.out) if n.split('_')[2].startswith(day)][0]
        return len((self.out / name).read_text().splitlines()) - 1

    def pending(self):
        d = os.path.join(self.cfg.state_dir, 'backlog', 'daily')
        return sorted(n for n in os.listdir(d) if n.endswith('.json')) if os.path.isdir(d) else []

    def dead(self):
        d = os.path.join(self.cfg.state_dir, 'failed')
        return [f for _, _, fs in os.walk(d) for f in fs]


def test_jump_ahead_then_back_leaves_no_trace(tmp_path):
    """A clock years ahead for two runs, then back: no dead letter, no future window, all delivered."""
    env = Env(tmp_path)
    env.run(T('2026-11-23 01:00'))
    env.errors[:] = [TemporaryError('receiver down', target='usb')]
    _, rep = env.run(T('2026-11-24 01:00'))
    assert env.pending() == ['261123000000.json']            # the real window, pending
    env.errors[:] = [TemporaryError('still down', target='usb')] * 2
    for when in (T('2040-01-01 00:00'), T('2040-01-01 00:05')):
        _, rep = env.run(when)
        assert rep.enqueued == 0 and rep.dead_lettered == 0
        assert any('clock' in p for p in rep.problems)
    assert env.pending() == ['261123000000.json'] and env.dead() == []
    _, rep = env.run(T('2026-11-24 02:00'))                    # the clock is back
    assert rep.delivered == 1 and not rep.problems, rep.problems
    _, rep = env.run(T('2026-11-25 01:00'))
    assert rep.delivered == 1 and env.dead() == [] and env.pending() == []
    assert env.days() == ['20261120', '20261121', '20261122', '20261123', '20261124']
    assert all(env.lines(d) == 144 for d in env.days())
    assert JobState(env.cfg.state_dir, 'daily').jump is None


def test_real_outage_longer_than_max_age_exports_after_an_hour(tmp_path):
    """A box really off longer than max_age waits for an hour of consistent clock, then exports."""
    env = Env(tmp_path, max_age='5d')
    env.run(T('2026-11-23 01:00'))
    _, rep = env.run(T('2026-12-20 00:20'))
    assert rep.enqueued == 0 and rep.dead_lettered == 0
    assert any('suspected clock fault' in p for p in rep.problems)
    proc, rep = env.run(T('2026-12-20 01:00'))
    assert rep.enqueued == 0 and proc.next_due(now=T('2026-12-20 01:00')) == T('2026-12-20 01:20')
    _, rep = env.run(T('2026-12-20 01:25'))
    assert rep.enqueued == 5 and rep.dead_lettered == 1 and not rep.problems


def test_clock_stuck_ahead_then_corrected_recovers(tmp_path):
    """A clock weeks ahead queues future windows; corrected, they are dropped and the watermark goes back."""
    env = Env(tmp_path)
    env.run(T('2026-11-23 01:00'))
    env.errors[:] = [None] * 3 + [TemporaryError('down', target='usb')]
    _, rep = env.run(T('2027-01-10 01:00'))                   # 48 days ahead (< max_age)
    assert rep.pending > 0
    _, rep = env.run(T('2026-11-24 01:00'))                   # corrected
    assert env.pending() == [] and JobState(env.cfg.state_dir, 'daily').watermark == \
        T('2026-11-24 00:00')
    _, rep = env.run(T('2026-11-25 01:00'))
    assert rep.enqueued == 1 and rep.delivered == 1 and env.lines('20261124') == 144
    assert env.dead() == []


def test_future_windows_dropped_even_after_the_state_was_lost(tmp_path):
    """Windows queued by a clock ahead are dropped when the clock is right, state file or not."""
    env = Env(tmp_path)
    env.errors[:] = [TemporaryError('down', target='usb')]
    _, rep = env.run(T('2027-01-10 01:00'))          # first run ever, clock weeks ahead
    assert rep.pending > 40
    os.remove(os.path.join(env.cfg.state_dir, 'state', 'daily.json'))
    _, rep = env.run(T('2026-11-24 01:00'))
    assert not rep.problems, rep.problems
    assert env.days() == ['20261120', '20261121', '20261122', '20261123']   # none ahead
    assert env.pending() == ['261124000000.json']      # within the step tolerance: waits
    _, rep = env.run(T('2026-11-25 01:00'))
    assert env.pending() == [] and env.lines('20261124') == 144
    assert all(env.lines(d) == 144 for d in env.days())


def test_small_step_back_changes_nothing(tmp_path):
    """A clock set back by minutes (NTP) neither drops nor re-queues anything."""
    env = Env(tmp_path)
    env.run(T('2026-11-23 01:00'))
    _, rep = env.run(T('2026-11-23 00:20'))
    assert rep.enqueued == 0 and JobState(env.cfg.state_dir, 'daily').watermark == \
        T('2026-11-23 00:00')


def test_judge_is_pure():
    """The verdict depends only on its inputs (hold, confirm after an hour, rollback)."""
    age = datetime.timedelta(days=90)
    t0 = T('2026-11-23 01:00')
    far = T('2040-01-01 00:00')
    v = clock.judge(now=far, seen=t0, jump=None, watermark=T('2026-11-23 00:00'),
                    due_end=T('2039-12-31 00:00'), max_age=age)
    assert v.action == clock.HOLD and v.jump == (t0, far)
    v = clock.judge(now=far + clock.CONFIRM, seen=t0, jump=(t0, far),
                    watermark=T('2026-11-23 00:00'), due_end=T('2039-12-31 00:00'), max_age=age)
    assert v.action == clock.NORMAL
    v = clock.judge(now=t0, seen=far, jump=None, watermark=T('2039-12-31 00:00'),
                    due_end=T('2026-11-22 00:00'), max_age=age)
    assert v.action == clock.ROLLBACK and 'went back' in v.message


def test_second_jump_while_held_is_held_again():
    """A clock that jumps again while a jump is held is held anew, not taken as consistent."""
    age = datetime.timedelta(days=2)
    t0, t1, t2 = T('2026-11-20 05:00'), T('2027-11-20 05:00'), T('2040-11-16 05:00')
    v = clock.judge(now=t2, seen=t0, jump=(t0, t1), watermark=T('2026-11-20 05:00'),
                    due_end=T('2040-11-16 05:00'), max_age=age)
    assert v.action == clock.HOLD and v.jump == (t0, t2)


def test_a_dead_letter_never_replaces_another(tmp_path):
    """A gap letter whose id is already a dead letter's gets its own id; both can be requeued."""
    env = Env(tmp_path, max_age='5d')
    proc, rep = env.run(T('2026-11-21 01:00'))
    assert rep.delivered == 1
    os.makedirs(os.path.join(env.cfg.state_dir, 'failed', 'daily'), exist_ok=True)
    first = os.path.join(env.cfg.state_dir, 'failed', 'daily', '261120000000.json')
    with open(first, 'wb') as f:                       # an earlier letter of that id
        f.write(b'{"format": "cstbox-export-backlog/1", "job_id": "261120000000", "parms": {}}')
    os.remove(os.path.join(env.cfg.state_dir, 'state', 'daily.json'))   # lost state
    proc, rep = env.run(T('2026-12-20 01:00'))
    names = sorted(d.name for d in proc.dead.list('daily'))
    assert names == ['261120000000.2.json', '261120000000.json'], names
    assert open(first, 'rb').read().endswith(b'"parms": {}}')
    r = __import__('subprocess').run(
        [__import__('sys').executable, '-m', 'pycstbox.export', '-c', env.cfg.files[0],
         'backlog', 'requeue', 'daily', '261120000000.2'], capture_output=True, text=True,
        env=dict(os.environ, CBX_EXPORT_RUNTIME_DIR=env.runtime))
    assert r.returncode == 0, r.stderr
    assert '261120000000.2.json' in env.pending()


@pytest.mark.parametrize('doc', [
    {'watermark': 5}, {'watermark': '2026-11-23T00:00:00'}, {'last_error': 'x'},
    {'last_success': {'at': 3}}, {'last_error': {'temporary': 'yes'}}, {'clock': {'jump': [1]}},
    [1, 2], 'text',
])
def test_state_of_wrong_shape_is_set_aside_and_others_run(tmp_path, doc):
    """A state file with wrong types is set aside and reported; the job and the others run."""
    env = Env(tmp_path)
    path = os.path.join(env.cfg.state_dir, 'state', 'daily.json')
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as f:
        json.dump(doc, f)
    _, rep = env.run(T('2026-11-23 01:00'))
    assert rep.delivered == 3 and any('unreadable' in p for p in rep.problems)
    assert os.path.exists(path + '.corrupt')


def test_deeply_nested_state_is_set_aside(tmp_path):
    """A state file nested 100,000 deep (RecursionError) is set aside like invalid JSON."""
    env = Env(tmp_path)
    path = os.path.join(env.cfg.state_dir, 'state', 'daily.json')
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as f:
        f.write('[' * 100000 + ']' * 100000)
    _, rep = env.run(T('2026-11-23 01:00'))
    assert rep.delivered == 3 and os.path.exists(path + '.corrupt')


def test_orphan_files_are_swept_at_the_next_run(tmp_path):
    """A file in staging/ or spool/ that no backlog entry names is removed by the next run."""
    env = Env(tmp_path)
    env.errors[:] = [TemporaryError('down', target='usb')]
    env.run(T('2026-11-21 01:00'))                      # 11-20 pending, its file spooled
    spool = os.path.join(env.cfg.state_dir, 'spool', 'daily')
    kept = sorted(os.listdir(spool))
    assert kept == ['261120000000.csv']
    staging = os.path.join(env.runtime, 'staging', 'daily')
    os.makedirs(staging, exist_ok=True)
    for d in (spool, staging):                          # a kill after the entry was deleted
        with open(os.path.join(d, '261101000000.csv'), 'w') as f:
            f.write('x')
    env.errors[:] = [TemporaryError('down', target='usb')]
    env.run(T('2026-11-21 02:00'))
    assert sorted(os.listdir(spool)) == kept and os.listdir(staging) == []


def test_status_and_check_name_a_suspected_clock_fault(tmp_path):
    """status (snapshot) and check name a held clock jump and a clock behind the watermark."""
    import subprocess
    import sys
    from pycstbox.export.process import snapshot
    env = Env(tmp_path)
    env.run(T('2026-11-23 01:00'))
    env.run(T('2040-01-01 00:00'))
    doc = snapshot.collect(env.cfg, T('2040-01-01 00:10'), runtime_dir=env.runtime)
    assert any('suspected clock fault' in p for p in doc['jobs']['daily']['problems'])
    cfgfile = [f for f in env.cfg.files][0]
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfgfile, 'check',
                        'usb'], capture_output=True, text=True,
                       env=dict(os.environ, CBX_EXPORT_NOW='2040-01-01T00:10:00Z',
                                CBX_EXPORT_RUNTIME_DIR=env.runtime))
    assert r.returncode == 1 and 'job daily: suspected clock fault' in r.stdout, r.stdout
    (tmp_path / 'b').mkdir()
    env2 = Env(tmp_path / 'b')
    env2.run(T('2026-11-23 01:00'))
    doc = snapshot.collect(env2.cfg, T('2026-11-20 00:00'), runtime_dir=env2.runtime)
    assert any('before the watermark' in p for p in doc['jobs']['daily']['problems'])
