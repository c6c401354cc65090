"""The export process core: due windows, backlog-first runs, failures, dead letters."""

import datetime
import os

import pytest

from pycstbox.export import transports
from pycstbox.export.errors import LockError, PermanentError, TemporaryError
from pycstbox.export.process.lock import RunLock
from pycstbox.export.process.process import ExportProcess
from pycstbox.export.process.state import JobState

from .helpers import FlakyDir, ListSource, T, hourly_events, received, write_config

DAY = datetime.timedelta(days=1)

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
max_try = 2
retry_delay = 1
'''


@pytest.fixture
def env(tmp_path):
    out = tmp_path / 'received'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    source = ListSource(hourly_events(T('2026-11-19 00:00'), 24 * 12))
    flaky = {}

    def tfactory(target, site):
        t = FlakyDir(transports.create(target, site=site), flaky.get('errors', ()))
        flaky['t'] = t
        return t
    proc = ExportProcess(cfg, source_factory=lambda store: source, transport_factory=tfactory,
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    return proc, source, out, flaky, cfg


def test_catch_up_every_missed_day_oldest_first(env):
    """A box off for days catches up every due daily window, oldest first."""
    proc, source, out, _, _ = env
    rep = proc.run(now=T('2026-11-25 00:20'))
    assert rep.ok and rep.delivered == 5 and rep.pending == 0
    assert received(out) == ['lyon-b12_daily_202611%02dT000000Z_202611%02dT000000Z.csv' % (d, d + 1)
                             for d in range(20, 25)]
    assert [r[0].day for r in source.reads] == [20, 21, 22, 23, 24]


def test_window_not_due_before_delay(env):
    """A window is due only at end + delay."""
    proc, _, out, _, _ = env
    proc.run(now=T('2026-11-21 00:14'))
    assert len(received(out)) == 0
    proc.run(now=T('2026-11-21 00:15'))
    assert len(received(out)) == 1
    proc.run(now=T('2026-11-22 00:15'))
    assert len(received(out)) == 2


def test_file_content_is_the_window(env):
    """The uploaded file holds exactly the events of its window."""
    proc, source, out, _, _ = env
    proc.run(now=T('2026-11-21 01:00'))
    text = (out / received(out)[0]).read_text().splitlines()
    assert text[0] == 'timestamp,msec,var_type,var_name,value,units'
    assert len(text) - 1 == 144
    assert text[1].startswith('2026-11-20 00:00:00,') and text[-1].startswith('2026-11-20 23:50:00,')


def test_second_run_is_noop(env):
    """Running again at the same time enqueues and uploads nothing."""
    proc, _, out, _, _ = env
    proc.run(now=T('2026-11-22 01:00'))
    rep = proc.run(now=T('2026-11-22 01:00'))
    assert rep.enqueued == 0 and rep.delivered == 0 and len(received(out)) == 2


def test_temporary_failure_stays_pending_then_delivered(env):
    """A temporary failure keeps the window pending; the next slot delivers it."""
    proc, _, out, flaky, _ = env
    flaky['errors'] = [TemporaryError('503 (test)')] * 2
    rep = proc.run(now=T('2026-11-21 01:00'))
    assert rep.failed == 1 and rep.pending == 1 and rep.exit_code == 1
    assert received(out) == []
    flaky['errors'] = []
    rep = proc.run(now=T('2026-11-21 02:00'))
    assert rep.ok and rep.delivered == 1 and rep.pending == 0


def test_failed_upload_keeps_file_on_flash_for_retry(env):
    """After a failed upload the file is kept, so the retry does not need the store."""
    proc, source, out, flaky, cfg = env
    flaky['errors'] = [TemporaryError('down')] * 2
    proc.run(now=T('2026-11-21 01:00'))
    spool = os.path.join(cfg.state_dir, 'spool', 'daily')
    assert len(os.listdir(spool)) == 1
    source.down = True
    flaky['errors'] = []
    rep = proc.run(now=T('2026-11-21 02:00'))
    assert rep.delivered == 1 and received(out)
    assert os.listdir(spool) == []


def test_temporary_failure_skips_rest_of_target(env):
    """After a temporary send failure the other windows for that target wait for the next run."""
    proc, _, out, flaky, _ = env
    flaky['errors'] = [TemporaryError('down')] * 2
    rep = proc.run(now=T('2026-11-25 01:00'))
    assert rep.failed == 1 and rep.skipped == 4 and rep.pending == 5


def test_permanent_failure_dead_lettered_others_continue(env):
    """A permanent refusal dead-letters the window with the reason; other windows go on."""
    proc, _, out, flaky, cfg = env
    flaky['errors'] = [PermanentError('HTTP 403 Forbidden (test)')]
    rep = proc.run(now=T('2026-11-23 01:00'))
    assert rep.dead_lettered == 1 and rep.delivered == 2 and rep.pending == 0
    failed = os.path.join(cfg.state_dir, 'failed', 'daily')
    names = sorted(os.listdir(failed))
    assert '261120000000.json' in names and '261120000000.json.error' in names
    assert '403' in open(os.path.join(failed, '261120000000.json.error')).read()


def test_store_down_nothing_dead_lettered(env):
    """With the event store down the windows stay pending and are delivered later."""
    proc, source, out, _, _ = env
    source.down = True
    rep = proc.run(now=T('2026-11-22 01:00'))
    assert rep.failed >= 1 and rep.dead_lettered == 0 and rep.pending == 2
    source.down = False
    rep = proc.run(now=T('2026-11-22 02:00'))
    assert rep.delivered == 2 and rep.pending == 0


def test_empty_window_is_success_without_upload(env):
    """An empty window is a success with nothing uploaded."""
    proc, source, out, _, _ = env
    source.events_list = []
    rep = proc.run(now=T('2026-11-21 01:00'))
    assert rep.ok and rep.empty == 1 and received(out) == []


def test_clock_before_2020_creates_nothing(env):
    """A clock at 1970 creates no window and says why."""
    proc, _, out, _, _ = env
    rep = proc.run(now=datetime.datetime(1970, 1, 1, 0, 5, tzinfo=datetime.timezone.utc))
    assert rep.enqueued == 0 and any('2020' in p for p in rep.problems)


def test_clock_back_creates_nothing_new(env):
    """A clock that went back a day creates nothing new and duplicates nothing."""
    proc, _, out, _, _ = env
    proc.run(now=T('2026-11-23 01:00'))
    rep = proc.run(now=T('2026-11-22 01:00'))
    assert rep.enqueued == 0 and rep.delivered == 0 and len(received(out)) == 3


def test_clock_forward_bounded_by_max_age(tmp_path):
    """A jump far forward catches up, but windows older than max_age are dead-lettered."""
    out = tmp_path / 'r'
    cfg = write_config(tmp_path, (CONFIG % {'out': out}) + 'max_age = "5d"\n')
    out.mkdir()
    proc = ExportProcess(cfg, source_factory=lambda s: ListSource(),
                         runtime_dir=str(tmp_path / 'run'))
    rep = proc.run(now=T('2026-12-20 01:00'))
    assert rep.enqueued == 5 and rep.empty == 5
    assert rep.dead_lettered == 1            # one dead letter for the 25 days too old
    letters = proc.dead.list('daily')
    assert [d.name for d in letters] == ['261120000000.json']
    assert '25 window(s) [2026-11-20T00:00:00Z, 2026-12-15T00:00:00Z)' in letters[0].error_text


def test_clock_years_ahead_writes_little(tmp_path):
    """A clock that jumped years ahead writes one dead letter, not one per 15-minute window."""
    out = tmp_path / 'r'
    out.mkdir()
    cfg = write_config(tmp_path, (CONFIG % {'out': out}).replace('period = "1d"',
                                                                'period = "15m"')
                       + 'max_age = "2d"\n')
    proc = ExportProcess(cfg, source_factory=lambda s: ListSource(),
                         runtime_dir=str(tmp_path / 'run'))
    rep = proc.run(now=T('2029-11-20 00:00'))
    assert rep.dead_lettered == 1 and rep.enqueued == 2 * 96
    files = sum(len(f) for _, _, f in os.walk(os.path.join(cfg.state_dir, 'failed')))
    assert files == 2


def test_no_window_before_start(env):
    """No window before the configured start is created."""
    proc, source, out, _, _ = env
    proc.run(now=T('2026-11-21 01:00'))
    assert all(r[0] >= T('2026-11-20 00:00') for r in source.reads)


def test_lock_held_raises(env):
    """A second concurrent run fails at once with LockError."""
    proc, _, _, _, cfg = env
    with RunLock(cfg.state_dir):
        with pytest.raises(LockError):
            proc.run(now=T('2026-11-21 01:00'))


def test_corrupt_watermark_set_aside_run_goes_on(env):
    """A corrupt state file is set aside and reported; the run goes on."""
    proc, _, out, _, cfg = env
    proc.run(now=T('2026-11-21 01:00'))
    path = os.path.join(cfg.state_dir, 'state', 'daily.json')
    with open(path, 'w') as f:
        f.write('{"watermark": "garb')
    rep = proc.run(now=T('2026-11-22 01:00'))
    assert any('unreadable' in p for p in rep.problems)
    assert os.path.exists(path + '.corrupt')
    assert len(received(out)) == 2


def test_corrupt_backlog_entry_set_aside_run_goes_on(env):
    """A corrupt backlog entry is set aside and reported; other windows are delivered."""
    proc, _, out, flaky, cfg = env
    flaky['errors'] = [TemporaryError('x')] * 2
    proc.run(now=T('2026-11-22 01:00'))
    bdir = os.path.join(cfg.state_dir, 'backlog', 'daily')
    with open(os.path.join(bdir, '261120000000.json'), 'w') as f:
        f.write('{trunc')
    flaky['errors'] = []
    rep = proc.run(now=T('2026-11-22 02:00'))
    assert rep.delivered == 1 and any('unreadable' in p for p in rep.problems)
    assert os.listdir(os.path.join(bdir, 'corrupt'))


def test_noop_run_writes_nothing(env):
    """A run with nothing to do writes nothing under state_dir."""
    proc, _, _, _, cfg = env
    proc.run(now=T('2026-11-21 01:00'))
    before = {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
              for d, _, fs in os.walk(cfg.state_dir) for f in fs}
    proc.run(now=T('2026-11-21 02:00'))
    after = {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
             for d, _, fs in os.walk(cfg.state_dir) for f in fs}
    assert before == after


def test_successful_job_writes_little(env, monkeypatch):
    """A successful daily job writes at most 16 KiB under state_dir (bytes counted at write time)."""
    proc, _, out, _, cfg = env
    proc.run(now=T('2026-11-21 01:00'))
    state_dir = os.path.realpath(cfg.state_dir)
    fds, written, opened = {}, [0], []
    real_open, real_write, real_builtin_open = os.open, os.write, open

    def counting_open(path, flags, *a, **k):
        fd = real_open(path, flags, *a, **k)
        fds[fd] = os.path.realpath(os.path.join(k.get('dir_fd') and '' or '', path))
        return fd

    def counting_write(fd, data):
        n = real_write(fd, data)
        if fds.get(fd, '').startswith(state_dir):
            written[0] += n
        return n

    def watching_open(file, mode='r', *a, **k):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in 'wax+') \
                and os.path.realpath(file).startswith(state_dir):
            opened.append(file)
        return real_builtin_open(file, mode, *a, **k)
    monkeypatch.setattr(os, 'open', counting_open)
    monkeypatch.setattr(os, 'write', counting_write)
    monkeypatch.setattr('builtins.open', watching_open)
    rep = proc.run(now=T('2026-11-22 01:00'))
    monkeypatch.undo()
    assert rep.delivered == 1 and len(received(out)) == 2
    assert opened == []                      # the file itself was staged outside state_dir
    assert 0 < written[0] <= 16 * 1024, written[0]


def test_watermark_advanced_after_enqueue(env):
    """The watermark is the end of the last window put in the backlog."""
    proc, _, _, _, cfg = env
    proc.run(now=T('2026-11-22 01:00'))
    assert JobState(cfg.state_dir, 'daily').watermark == T('2026-11-22 00:00')


def test_next_due(env):
    """next_due is the end + delay of the next window."""
    proc, _, _, _, _ = env
    proc.run(now=T('2026-11-22 01:00'))
    assert proc.next_due(now=T('2026-11-22 01:00')) == T('2026-11-23 00:15')


def test_dry_run_touches_nothing(env):
    """--dry-run says what would be done and writes nothing."""
    proc, _, out, _, cfg = env
    rep = proc.run(now=T('2026-11-22 01:00'), dry_run=True)
    assert any('would' in line for line in rep.lines)
    assert not os.path.exists(cfg.state_dir) and received(out) == []


def test_entry_of_wrong_shape_does_not_stop_others(env):
    """A readable entry without a window is set aside and reported; the other windows are delivered."""
    proc, _, out, _, cfg = env
    b = proc.backlog('daily')
    b['261119000000'] = {'job': 'daily', 'note': 'no window here'}
    rep = proc.run(now=T('2026-11-22 01:00'))
    assert rep.delivered == 2 and any('261119000000' in p for p in rep.problems)
    assert '261119000000' not in b and b.corrupt_entries() == ['261119000000.json']


def test_dry_run_leaves_corrupt_state_in_place(env):
    """--dry-run on an unreadable state file reports nothing done and does not move the file."""
    proc, _, _, _, cfg = env
    path = os.path.join(cfg.state_dir, 'state', 'daily.json')
    os.makedirs(os.path.dirname(path))
    with open(path, 'w') as f:
        f.write('{garbage')
    rep = proc.run(now=T('2026-11-22 01:00'), dry_run=True)
    assert any('would' in line for line in rep.lines)
    assert os.path.exists(path) and not os.path.exists(path + '.corrupt')
