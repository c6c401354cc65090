"""cbx-exportd: slots, status, idle cost; against a private bus with cbx-evtdb and HTTP."""

import datetime
import os
import subprocess
import sys
import time

from .conftest import SITE, UTC, proc_usage, wait_for, write_config


def _yesterday():
    return datetime.datetime.now(UTC).date() - datetime.timedelta(days=1)


def test_slot_fires_and_window_arrives(tmp_path, store_address, http_peer, daemon_factory):
    """At start-up the due window (yesterday, 1d, delay 0s) is exported and uploaded."""
    y = _yesterday()
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url,
                       store_address, job=y.isoformat())
    d = daemon_factory(cfg)
    name = '%s_daily_%sT000000Z_%sT000000Z.csv' % (
        SITE, y.strftime('%Y%m%d'), (y + datetime.timedelta(days=1)).strftime('%Y%m%d'))
    wait_for(lambda: http_peer.read(name), 15, what=name)
    lines = http_peer.read(name).decode().splitlines()
    assert lines[0] == 'timestamp,msec,var_type,var_name,value,units'
    assert len(lines) > 100 and all(l.startswith(y.isoformat()) for l in lines[1:])
    st = wait_for(lambda: (d.status() or {}).get('last_run') and d.status(), 5, what='last_run')
    assert st['last_run']['exit_code'] == 0 and st['last_run']['delivered'] == 1
    tomorrow = (y + datetime.timedelta(days=2)).strftime('%Y-%m-%dT00:00:00Z')
    assert st['next_due'] == tomorrow
    assert not os.listdir(tmp_path / 'state' / 'backlog' / 'daily')


def test_status_file_and_cli_say_running(tmp_path, outbox_setup, daemon_factory):
    """status.json has the documented keys and `cbx-export status` says the daemon runs."""
    cfg, _ = outbox_setup
    d = daemon_factory(cfg)
    st = wait_for(lambda: (d.status() or {}).get('last_run') and d.status(), 5, what='last_run')
    for key in ('pid', 'started', 'updated', 'config', 'next_due', 'last_run', 'outbox'):
        assert key in st
    assert st['pid'] == d.pid and st['config'] == cfg
    assert st['outbox']['web'] == {'pending': 0, 'delivered': 0, 'last_error': None,
                                   'next_retry': None}
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export', 'status', '-c', cfg],
                         env=d.env, capture_output=True, text=True, timeout=30)
    assert 'daemon: running (pid %d)' % d.pid in out.stdout, out.stdout + out.stderr
    d.terminate()
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export', 'status', '-c', cfg],
                         env=d.env, capture_output=True, text=True, timeout=30)
    assert 'daemon: not running' in out.stdout, out.stdout + out.stderr


def test_lock_held_by_cron_run_retried(tmp_path, http_peer, daemon_factory):
    """When another run holds state_dir/lock the daemon logs it at info and keeps running."""
    import fcntl
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url,
                       job=_yesterday().isoformat())
    os.makedirs(tmp_path / 'state', exist_ok=True)
    with open(tmp_path / 'state' / 'lock', 'w') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        d = daemon_factory(cfg)
        wait_for(lambda: 'tries again in 60 s' in d.log(), 5, what='the lock message')
    assert '[I] pycstbox.export.daemon.scheduler > another export run holds' in d.log()
    assert d.proc.poll() is None


def test_idle_cost(tmp_path, store_address, http_peer, daemon_factory):
    """Idle for 60 s with nothing due: under 0.1 s CPU and under 40 MB RSS."""
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url,
                       store_address, job=_yesterday().isoformat())
    d = daemon_factory(cfg)
    wait_for(lambda: (d.status() or {}).get('last_run'), 15, what='the start-up run')
    time.sleep(0.5)
    cpu0, _ = proc_usage(d.pid)
    time.sleep(60)
    cpu1, rss = proc_usage(d.pid)
    assert cpu1 - cpu0 < 0.1, 'idle CPU %.3f s in 60 s' % (cpu1 - cpu0)
    assert rss < 40 * 1024, 'idle RSS %d kB' % rss


def test_sigterm_during_window_upload_then_restart(tmp_path, store_address, http_peer,
                                                   daemon_factory):
    """SIGTERM while a window uploads exits within 10 s; it stays pending and arrives later."""
    y = _yesterday()
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url,
                       store_address, job=y.isoformat())
    http_peer.behave('slow', delay=12)    # longer than the daemon's grace: abandoned
    d = daemon_factory(cfg)
    wait_for(lambda: any(r.method == 'PUT' for r in http_peer.requests), 15,
             what='the window upload to start')
    took = d.terminate(timeout=15)
    assert took < 10, 'daemon took %.1f s to stop' % took
    backlog = tmp_path / 'state' / 'backlog' / 'daily'
    assert len([n for n in os.listdir(backlog) if n.endswith('.json')]) == 1   # still pending
    http_peer.behave('accept')
    d2 = daemon_factory(cfg)
    wait_for(lambda: (d2.status() or {}).get('last_run'), 15, what='the run after restart')
    assert d2.status()['last_run']['delivered'] == 1
    assert not [n for n in os.listdir(backlog) if n.endswith('.json')]
    names = [u.name for u in http_peer.uploads]
    assert 1 <= len(names) <= 2 and len(set(names)) == 1


def test_second_daemon_refused(outbox_setup, daemon_factory):
    """A second cbx-exportd on the same runtime directory exits with code 3."""
    cfg, _ = outbox_setup
    d = daemon_factory(cfg)
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export.daemon', '-c', cfg],
                         env=d.env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 3 and 'another cbx-exportd' in out.stderr
    assert d.proc.poll() is None
