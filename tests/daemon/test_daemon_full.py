"""cbx-exportd with a full state directory when windows are due (issue 25: only the log said
"No space left"; status showed no problem, and nothing was queued until the next slot)."""

import datetime
import json
import os
import subprocess
import sys

import pytest

from .conftest import UTC, DaemonProc, wait_for, write_config

SCHEMA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'pycstbox', 'export', 'status.schema.json')


def _fill(folder):
    """Write a file in ``folder`` until the file system is full; its path."""
    path = os.path.join(folder, 'filler')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b'\0' * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting a small tmpfs needs root')
def test_full_state_dir_is_a_problem_and_queuing_resumes_once_space_is_back(tmp_path,
                                                                            http_peer):
    """A full state_dir with windows due: a problem in status (text, --json) and the metrics;
    once space is back the windows are queued at the daemon's next look, not the next slot."""
    from jsonschema import Draft202012Validator
    with open(SCHEMA) as f:
        validator = Draft202012Validator(json.load(f))
    full = tmp_path / 'full'
    os.makedirs(full)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(full)], check=True)
    d = None
    try:
        state = full / 'state'
        os.makedirs(state / 'outbox' / 'web')
        start = (datetime.datetime.now(UTC) - datetime.timedelta(days=3)).date()
        cfg = write_config(tmp_path / 'export.toml', state, http_peer.url, job=start.isoformat())
        prom = tmp_path / 'm.prom'
        with open(cfg, 'a') as f:
            f.write('\n[metrics]\ntextfile = "%s"\n' % prom)
        filler = _fill(str(full))
        d = DaemonProc(tmp_path, cfg)
        d.env.update(CBX_EXPORT_METRICS_INTERVAL='0.5', CBX_EXPORT_PENDING_RETRY='1')
        d.start()
        wait_for(lambda: (d.status() or {}).get('last_run'), 15, what='the first run')
        env = d.env
        out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status'],
                             env=env, capture_output=True, text=True, timeout=30)
        assert 'PROBLEM: the state directory %s is full' % state in out.stdout, out.stdout
        assert 'windows are due but cannot be queued' in out.stdout, out.stdout
        out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status',
                              '--json'], env=env, capture_output=True, text=True, timeout=30)
        doc = json.loads(out.stdout)
        validator.validate(doc)
        assert 'is full' in doc['state_dir_problem']
        assert any('cannot be queued' in p for p in doc['jobs']['daily']['problems'])
        wait_for(lambda: prom.exists() and
                 'cstbox_export_state_dir_problem{site="lyon-b12"} 1' in prom.read_text(), 10,
                 what='the metric state_dir_problem 1')
        assert not os.listdir(state / 'backlog' / 'daily') if (
            state / 'backlog' / 'daily').exists() else True
        os.unlink(filler)
        wait_for(lambda: (state / 'backlog' / 'daily').exists() and len(
            [n for n in os.listdir(state / 'backlog' / 'daily') if n.endswith('.json')]) >= 3,
            20, what='the due windows queued once space is back')
        out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status',
                              '--json'], env=env, capture_output=True, text=True, timeout=30)
        doc = json.loads(out.stdout)
        assert doc['state_dir_problem'] is None
        assert d.proc.poll() is None
    finally:
        if d is not None:
            d.kill()
        subprocess.run(['umount', '-l', str(full)], check=False)
