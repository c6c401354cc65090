"""`cbx-export run` end to end: real dbus-daemon + cbx-evtdb, a real HTTP receiver."""

import datetime
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from pycstbox.evtdb import fsys
from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.http import HttpPeer

UTC = datetime.timezone.utc
FIRST = datetime.date(2026, 11, 20)
DAYS = 3
NOW = '2026-11-23T00:30:00Z'          # every window of the 3 days is due


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """A private bus with cbx-evtdb serving 3 generated days."""
    tmp = tmp_path_factory.mktemp('store')
    root = tmp / 'db'
    generate_days(root, FIRST, days=DAYS, sensors=3, interval=300)
    with evtdb_bus(tmp, root) as address:
        yield root, address


def events_by_window(root, period_h):
    """{window start: sorted [(iso ts, var_name)]} from the day files themselves."""
    out = {}
    for d in range(DAYS):
        day = FIRST + datetime.timedelta(days=d)
        for ts, vt, vn, value, data in fsys.read_day(str(root), 'sensor', day):
            start = ts.replace(hour=ts.hour - ts.hour % period_h, minute=0, second=0,
                               microsecond=0)
            out.setdefault(start, []).append((ts.strftime('%Y-%m-%dT%H:%M:%S.%f')[:23], vn))
    return {k: sorted(v) for k, v in out.items()}


def received_by_window(peer):
    """{window start: sorted [(ts, var_name)]} from the last upload of each file name."""
    out = {}
    for name in list(peer.by_name):
        start = datetime.datetime.strptime(name.split('_')[2], '%Y%m%dT%H%M%SZ')
        rows = [json.loads(line) for line in peer.read(name).decode().splitlines()]
        out[start] = sorted((r['ts'][:23], r['var_name']) for r in rows)
    return out


def write_cfg(tmp_path, address, url, period='6h', extra=''):
    cfg = tmp_path / 'export.toml'
    cfg.write_text('''
site = "lyon-b12"
state_dir = "%s"
[eventstore]
address = "%s"
timeout = 10
[targets.web]
type = "http"
url = "%s/up/{name}"
method = "PUT"
timeout = 10
connect_timeout = 2
[jobs.main]
target = "web"
period = "%s"
delay = "15m"
format = "jsonl"
start = "%s"
max_try = 1
retry_delay = 0
%s
''' % (tmp_path / 'state', address, url, period, FIRST.isoformat(), extra))
    return str(cfg)


def cli(tmp_path, cfg, *args, now=NOW, timeout=60, background=False):
    env = dict(os.environ, CBX_EXPORT_NOW=now, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    cmd = [sys.executable, '-m', 'pycstbox.export', '-c', cfg] + list(args)
    if background:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def pending(tmp_path):
    d = tmp_path / 'state' / 'backlog' / 'main'
    return sorted(n for n in os.listdir(d) if n.endswith('.json')) if d.is_dir() else []


def test_run_delivers_every_window_exactly(tmp_path, store):
    """Every due window arrives once with exactly its events; status says all is well."""
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0, r.stderr
        assert received_by_window(peer) == events_by_window(root, 6)
        assert len(peer.uploads) == DAYS * 4
        keys = {u.headers.get('Idempotency-Key') for u in peer.uploads}
        assert 'lyon-b12-main-261120000000' in keys
        r = cli(tmp_path, cfg, 'status')
        assert r.returncode == 0 and 'pending       : 0' in r.stdout
        doc = json.loads(cli(tmp_path, cfg, 'status', '--json').stdout)
        assert doc['jobs']['main']['pending'] == 0
        assert doc['jobs']['main']['last_success']['window'] == '261122180000'


def test_413_dead_lettered_and_reported(tmp_path, store):
    """A 413 (a refusal of the file) dead-letters the window with the reason; status shows it;
    requeue brings it back (a 403 holds the target instead: test_hold.py)."""
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('status', status=413, body=b'too large for this site')
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 1
        assert pending(tmp_path) == []
        r = cli(tmp_path, cfg, 'status')
        assert r.returncode == 1 and 'dead letters' in r.stdout and '413' in r.stdout
        assert '    261120000000: ' in r.stdout and 'backlog requeue main ID' in r.stdout
        r = cli(tmp_path, cfg, 'backlog', 'list', '--json')
        dead = [e for e in json.loads(r.stdout) if e['state'] == 'dead-lettered']
        assert len(dead) == DAYS * 4 and '413' in dead[0]['error']
        peer.behave('accept')
        r = cli(tmp_path, cfg, 'backlog', 'requeue', 'main', '261120000000')
        assert r.returncode == 0, r.stderr
        r = cli(tmp_path, cfg, 'backlog', 'retry', 'main')
        assert r.returncode == 0, r.stderr
        assert len(peer.uploads) == 1


def test_outage_week_then_back_oldest_first(tmp_path, store):
    """Receiver down for a week of slots: windows stay pending; once back all arrive oldest first."""
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        url = peer.url
    cfg = write_cfg(tmp_path, address, url)           # nobody listens there any more
    for day in range(21, 28):                         # 7 daily slots, 4 windows each
        r = cli(tmp_path, cfg, 'run', now='2026-11-%02dT00:30:00Z' % day)
        assert r.returncode == 1 and 'refused' in r.stderr
    assert len(pending(tmp_path)) == 7 * 4 and not os.path.isdir(tmp_path / 'state' / 'failed')
    with HttpPeer(tmp_path / 'http2') as peer:
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run', now='2026-11-28T00:30:00Z')
        assert r.returncode == 0, r.stderr
        names = [u.name for u in peer.uploads]
        assert names == sorted(names) and len(names) == DAYS * 4   # the 4 empty days send nothing
        assert received_by_window(peer) == events_by_window(root, 6)
        assert pending(tmp_path) == []


def test_503_then_200_delivered_next_slot(tmp_path, store):
    """A 503 keeps the window pending; it is delivered at the next run."""
    _, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('status', status=503, retry_after='1')
        cfg = write_cfg(tmp_path, address, peer.url)
        assert cli(tmp_path, cfg, 'run').returncode == 1
        assert len(pending(tmp_path)) == DAYS * 4
        peer.behave('accept')
        assert cli(tmp_path, cfg, 'run').returncode == 0
        assert pending(tmp_path) == [] and len(peer.uploads) == DAYS * 4


def test_store_down_then_back(tmp_path, store):
    """With the event store unreachable nothing is dead-lettered; later all is delivered."""
    _, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = write_cfg(tmp_path, 'unix:path=/nonexistent/bus', peer.url)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 1 and not peer.uploads
        assert len(pending(tmp_path)) == DAYS * 4
        assert not os.path.isdir(tmp_path / 'state' / 'failed')
        cfg = write_cfg(tmp_path, address, peer.url)
        assert cli(tmp_path, cfg, 'run').returncode == 0
        assert len(peer.uploads) == DAYS * 4


def test_two_concurrent_runs_one_uploads(tmp_path, store):
    """Two runs at once: exactly one uploads, the other exits 3 and names the holder."""
    _, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('slow', delay=0.3)
        cfg = write_cfg(tmp_path, address, peer.url)
        first = cli(tmp_path, cfg, 'run', background=True)
        time.sleep(1.0)
        second = cli(tmp_path, cfg, 'run')
        out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        assert second.returncode == 3 and 'pid' in second.stderr
        names = [u.name for u in peer.uploads]
        assert len(names) == len(set(names)) == DAYS * 4


def test_sigkill_at_random_moments_loses_nothing(tmp_path, store):
    """100 SIGKILLs of `run` at random moments, then a clean run: every window arrived, none pending."""
    root, address = store
    rnd = random.Random(7)
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('slow', delay=0.02)
        cfg = write_cfg(tmp_path, address, peer.url, period='1h')
        for i in range(100):
            p = cli(tmp_path, cfg, 'run', background=True)
            time.sleep(rnd.uniform(0.05, 0.5))
            p.send_signal(signal.SIGKILL)
            p.communicate(timeout=30)
        peer.behave('accept')
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0, r.stderr
        assert received_by_window(peer) == events_by_window(root, 1)
        assert pending(tmp_path) == []
        assert not os.path.isdir(tmp_path / 'state' / 'failed')


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting a tiny tmpfs needs root')
def test_state_dir_full_then_recovers(tmp_path, store):
    """A full state_dir gives a clear error and loses nothing; it recovers once space is back."""
    _, address = store
    state = tmp_path / 'state'
    state.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(state)], check=True)
    try:
        filler = state / 'filler'
        with open(filler, 'wb') as f:
            try:
                f.write(b'x' * 128 * 1024)
            except OSError:
                pass
        with HttpPeer(tmp_path / 'http') as peer:
            cfg = write_cfg(tmp_path, address, peer.url)
            r = cli(tmp_path, cfg, 'run')
            assert r.returncode != 0
            assert 'No space left' in r.stderr or 'space' in r.stderr
            assert not peer.uploads or len(peer.uploads) < DAYS * 4
            filler.unlink()
            r = cli(tmp_path, cfg, 'run')
            assert r.returncode == 0, r.stderr
            assert {u.name for u in peer.uploads} and pending(tmp_path) == []
            assert len({u.name for u in peer.uploads}) == DAYS * 4
    finally:
        subprocess.run(['umount', str(state)])


def test_dry_run_says_and_touches_nothing(tmp_path, store):
    """--dry-run lists what would be exported and uploaded, creates nothing."""
    _, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run', '--dry-run')
        assert r.returncode == 0 and 'would' in r.stdout
        assert not (tmp_path / 'state').exists() and not peer.uploads


def test_clock_at_1970_creates_nothing(tmp_path, store):
    """A run with the clock at 1970 creates nothing and says why."""
    _, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run', now='1970-01-01T00:05:00Z')
        assert r.returncode == 1 and '2020' in r.stderr
        assert pending(tmp_path) == [] and not peer.uploads
