"""The technician's commands: backlog drop/requeue/import-legacy, check, status, exit codes."""

import json
import os

import pytest

from tests.core.test_legacy import PY2_DATE
from tests.peers.evtdb import evtdb_bus, generate_days

from tests.process.test_run_cli import FIRST, cli, pending, write_cfg


@pytest.fixture
def cfg(tmp_path):
    """A config whose event store and receiver are unreachable (windows stay pending)."""
    path = write_cfg(tmp_path, 'unix:path=/nonexistent/bus', 'http://127.0.0.1:9')
    assert cli(tmp_path, path, 'run').returncode == 1
    assert len(pending(tmp_path)) == 12
    return path


def test_drop_needs_yes(tmp_path, cfg):
    """backlog drop refuses without --yes and removes the entry with it."""
    r = cli(tmp_path, cfg, 'backlog', 'drop', 'main', '261120000000')
    assert r.returncode == 2 and '--yes' in r.stderr
    assert len(pending(tmp_path)) == 12
    r = cli(tmp_path, cfg, 'backlog', 'drop', 'main', '261120000000', '--yes')
    assert r.returncode == 0 and len(pending(tmp_path)) == 11


def test_drop_unknown_entry_is_clear_error(tmp_path, cfg):
    """Dropping an entry that does not exist says so and exits 1."""
    r = cli(tmp_path, cfg, 'backlog', 'drop', 'main', '991231000000', '--yes')
    assert r.returncode == 1 and 'no pending job' in r.stderr


def test_backlog_list_json(tmp_path, cfg):
    """backlog list --json gives each pending window with its attempts."""
    doc = json.loads(cli(tmp_path, cfg, 'backlog', 'list', '--json').stdout)
    assert len(doc) == 12 and doc[0]['id'] == '261120000000' and doc[0]['attempts'] == 1


def test_status_reports_pending_and_last_error(tmp_path, cfg):
    """status shows the pending count, the oldest window and the last error in one line."""
    r = cli(tmp_path, cfg, 'status')
    assert r.returncode == 1
    assert 'pending       : 12, oldest window starts 2026-11-20T00:00:00Z' in r.stdout
    assert 'last error' in r.stdout and 'event' in r.stdout.lower()


def test_import_legacy(tmp_path, cfg):
    """Legacy .blog files are imported as windows of their day; malicious ones are refused."""
    spool = tmp_path / 'spool' / 'main'
    spool.mkdir(parents=True)
    (spool / '151104001500123456.blog').write_bytes(PY2_DATE)
    (spool / '151105001500123456.blog').write_bytes(b"cos\nsystem\n(S'touch /tmp/x'\ntR.")
    r = cli(tmp_path, cfg, 'backlog', 'import-legacy', str(tmp_path / 'spool'))
    assert r.returncode == 1 and 'refused' in r.stderr
    assert '151103000000.json' in pending(tmp_path)


def test_check_reports_each_part(tmp_path, cfg):
    """check names the failing event store and target, and exits 1."""
    r = cli(tmp_path, cfg, 'check')
    assert r.returncode == 1
    assert 'event store: FAILED' in r.stdout and 'target web (http): FAILED' in r.stdout


def test_check_good_setup(tmp_path):
    """check passes with a reachable store and a writable dir target, sending nothing."""
    root = tmp_path / 'db'
    generate_days(root, FIRST, days=1, sensors=1, interval=3600)
    out = tmp_path / 'out'
    out.mkdir()
    with evtdb_bus(tmp_path, root) as address:
        path = tmp_path / 'c.toml'
        path.write_text('site = "s"\nstate_dir = "%s"\n[eventstore]\naddress = "%s"\n'
                        '[targets.usb]\ntype = "dir"\npath = "%s"\n' % (tmp_path / 'st', address, out))
        r = cli(tmp_path, str(path), 'check')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'event store: ok' in r.stdout and 'target usb (dir): ok' in r.stdout
    assert os.listdir(out) == []


def test_bad_config_exit_2_one_line(tmp_path):
    """A bad config is one line naming file and key, exit 2, no traceback."""
    path = tmp_path / 'bad.toml'
    path.write_text('sit = "x"\n')
    r = cli(tmp_path, str(path), 'run')
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert str(path) in r.stderr and 'sit' in r.stderr


def test_unknown_job_is_error(tmp_path, cfg):
    """Running an unknown job name is a usage error saying which jobs exist."""
    r = cli(tmp_path, cfg, 'run', 'nosuchjob')
    assert r.returncode == 2 and 'main' in r.stderr
