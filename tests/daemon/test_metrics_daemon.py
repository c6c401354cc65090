"""cbx-exportd keeps the metrics textfile current; node_exporter serves it (DESIGN section 13)."""

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time

from pycstbox.export.config import load
from pycstbox.export.daemon.metrics import MetricsLane
from tests.cli.test_status_json import SCHEMA_PATH, expected
from tests.daemon.conftest import REPO, DaemonProc, wait_for, write_config
from tests.peers.node_exporter import node_exporter

UTC = datetime.timezone.utc


def status_json(cfg, runtime):
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=runtime)
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status', '--json'],
                       env=env, capture_output=True, text=True, timeout=30)
    return json.loads(r.stdout)


def cstbox_values(families):
    return {(n, (lab.get('job') or lab.get('target') or '')): v
            for n, samples in families.items() if n.startswith('cstbox_export_')
            for lab, v in samples}


def test_daemon_metrics_match_status_and_idle_daemon_writes_nothing(tmp_path, store_address,
                                                                     http_peer):
    """Scraped values equal status --json while the daemon runs; idle, the file is not
    rewritten; after SIGTERM daemon_up is 0."""
    from jsonschema import Draft202012Validator
    yesterday = datetime.datetime.now(UTC).date() - datetime.timedelta(days=1)
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url,
                       address=store_address, job=yesterday.isoformat())
    folder = tmp_path / 'node-exporter'
    folder.mkdir()
    prom = folder / 'cstbox_export.prom'
    with open(cfg, 'a') as f:
        f.write('\n[metrics]\ntextfile = "%s"\n' % prom)
    d = DaemonProc(tmp_path, cfg)
    d.env['CBX_EXPORT_METRICS_INTERVAL'] = '0.5'
    with open(SCHEMA_PATH) as f:
        validator = Draft202012Validator(json.load(f))
    try:
        d.start()
        with node_exporter(folder, tmp_path / 'node_exporter.log') as scrape:
            state = {}

            def settled():
                doc = status_json(cfg, d.runtime)
                fams = scrape()
                state.update(doc=doc, fams=fams)
                got = cstbox_values(fams)
                want = expected(doc)
                return (doc['jobs']['daily']['last_success'] and got.get(
                    ('cstbox_export_daemon_up', '')) == 1 and
                    {k: got.get(k) for k in want} == want)
            wait_for(settled, 20, step=0.2, what='scraped metrics equal to status --json')
            doc, fams = state['doc'], state['fams']
            assert not list(validator.iter_errors(doc))
            assert doc['daemon']['running'] is True
            assert fams['node_textfile_scrape_error'] == [({}, 0.0)]
            got = cstbox_values(fams)
            assert got[('cstbox_export_daemon_start_time_seconds', '')] == \
                datetime.datetime.fromisoformat(doc['daemon']['started']).timestamp()
            assert got[('cstbox_export_last_delivery_events', 'daily')] > 0
            assert got[('cstbox_export_last_delivery_bytes', 'daily')] > 0
            # idle: 6 looks of the lane, no write (same inode, directory untouched)
            inode, quiet = os.stat(prom).st_ino, os.stat(folder).st_mtime_ns
            time.sleep(3)
            assert (os.stat(prom).st_ino, os.stat(folder).st_mtime_ns) == (inode, quiet)
            d.terminate()
            got = cstbox_values(scrape())
            assert got[('cstbox_export_daemon_up', '')] == 0
            assert got[('cstbox_export_daemon_start_time_seconds', '')] == 0
            assert got[('cstbox_export_pending_windows', 'daily')] == 0
    finally:
        d.kill()


def test_lane_writes_at_most_once_per_interval(tmp_path):
    """Values changing all the time: the lane writes once per interval, not once per change."""
    prom = tmp_path / 'cstbox_export.prom'
    path = tmp_path / 'export.toml'
    path.write_text('site = "s"\nstate_dir = "%s"\n[targets.t]\ntype = "dir"\npath = "%s"\n'
                    '[metrics]\ntextfile = "%s"\n' % (tmp_path / 'state', tmp_path, prom))
    cfg = load(str(path), environ={})
    outbox = tmp_path / 'state' / 'outbox' / 't'
    outbox.mkdir(parents=True)
    lane = MetricsLane(cfg, lambda: {'pid': os.getpid(), 'started': '2026-11-28T10:00:00Z'},
                       lambda: datetime.datetime.now(UTC))
    lane.interval = 0.5
    stop = threading.Event()

    def churn():                          # a new outbox file every 20 ms: outbox_files changes
        n = 0
        while not stop.is_set():
            (outbox / ('f%d' % n)).write_text('x')
            n += 1
            time.sleep(0.02)
    t = threading.Thread(target=churn)
    t.start()
    t0 = time.monotonic()
    lane.start()
    time.sleep(2.2)
    stop.set()
    t.join()
    lane.stop()
    lane.join(5)
    elapsed = time.monotonic() - t0
    assert 2 <= lane.textfile.writes <= elapsed / 0.5 + 1, lane.textfile.writes
    assert lane.final() is True                        # daemon_up goes to 0
    assert 'cstbox_export_daemon_up{site="s"} 0.0' in prom.read_text()
