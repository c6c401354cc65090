"""No import inside a running lane; fresh starts never wedge (issue 19, item 1).

Two lanes importing a library for the first time at the same moment deadlocked on
Python's import locks in ~half of the starts on a busy box: ``cbx-exportd`` now imports
what the lanes need in its main thread before they start (daemon/preload.py).
"""

import os
import socket
import subprocess
import sys

from tests.daemon.conftest import wait_for
from tests.daemon.startstorm import Peers, Start, storm

HERE = os.path.dirname(os.path.abspath(__file__))
#: starts in CI (tools/start-storm.py runs 30)
STARTS = int(os.environ.get('CBX_TEST_STORM_STARTS', '8'))


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_no_lane_imports_a_module_first(tmp_path):
    """With every lane kind at work, failures included, no module is imported for the
    first time outside the main thread (an audit hook on ``import`` records them)."""
    with Peers(tmp_path / 'peers') as peers:
        bad = tmp_path / 'not-a-dir'
        bad.write_text('x')
        extra = ['[targets.x]', 'type = "http"', 'timeout = 5',
                 'url = "http://127.0.0.1:%d/up/{name}"' % _closed_port(),
                 '[targets.r]', 'type = "ftp"', 'host = "127.0.0.1"',
                 'port = %d' % peers.ftp.port, 'user = "ro"',
                 'password = "%s"' % peers.ftp.password, 'timeout = 5',
                 '[targets.z]', 'type = "dir"', 'path = "%s/sub"' % bad]
        if peers.sshd:
            extra += ['[targets.k]', 'type = "sftp"', 'host = "127.0.0.1"',
                      'port = %d' % peers.sshd.port, 'user = "root"',
                      'key_file = "%s"' % peers.sshd.client_key,
                      'known_hosts = "%s"' % peers.sshd.other_known_hosts, 'timeout = 5']
        failing = [line.split('.')[1][:-1] for line in extra if line.startswith('[targets.')]
        out = tmp_path / 'imports.txt'
        s = Start(peers, tmp_path / 'start', 0, extra='\n'.join(extra) + '\n',
                  command=[sys.executable, os.path.join(HERE, 'importwatch.py'), str(out)])
        for t in failing:
            s._drop(t, 'bad-%s.csv' % t, age=60)

        def failures_seen():
            log = s.log()
            return all('outbox %s: bad-%s.csv' % (t, t) in log or
                       'dead letter %s/bad-%s.csv' % (t, t) in log for t in failing)
        ok = s.run(40, until=failures_seen)
        assert ok, 'not delivered: %s\n%s' % (s.delivered(), s.log()[-3000:])
    first = out.read_text() if out.exists() else ''
    assert first == '', 'modules first imported inside a lane:\n' + first


def test_reload_imports_new_target_types_in_the_main_thread(tmp_path):
    """Targets of new types added by SIGHUP (http, ftp, sftp) and metrics turned on: their
    libraries are imported by the main thread before their lanes start."""
    import signal
    with Peers(tmp_path / 'peers') as peers:
        out = tmp_path / 'imports.txt'
        s = Start(peers, tmp_path / 'start', 0,
                  command=[sys.executable, os.path.join(HERE, 'importwatch.py'), str(out)])
        full = s.config()
        s.prepare()
        head = full.split('[metrics]')[0]            # site, state, store: no job, no target
        with open(s.cfg, 'w') as f:
            f.write(head + '[targets.d]\ntype = "dir"\npath = "%s"\n' % s.dir_target)
        log = open(tmp_path / 'daemon.log', 'wb')
        s.log_path = str(tmp_path / 'daemon.log')
        s.proc = subprocess.Popen(s.command + ['-c', s.cfg, '-L', 'DEBUG'], env=s.env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: os.path.exists(os.path.join(s.dir_target, s.files['d'][0])), 20,
                     what='the dir lane')
            with open(s.cfg, 'w') as f:
                f.write(full)
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: 'configuration reloaded' in s.log(), 20, what='the reload')
            for t in s.targets:
                s._drop(t, s.files[t][2])
            wait_for(lambda: not s.delivered(), 30, what='every file after the reload')
        finally:
            s.stop()
            log.close()
    first = out.read_text() if out.exists() else ''
    assert first == '', 'modules first imported inside a lane:\n' + first


def test_fresh_starts_under_cpu_hog_all_deliver(tmp_path):
    """Fresh starts with every lane kind (job, http, dir, ftp, sftp outboxes, metrics), two at
    a time under a CPU hog: each one delivers every file, the window and the metrics within
    20 s."""
    starts, summary = storm(tmp_path, STARTS, deadline=20, hog=1, parallel=2)
    bad = [s for s in starts if s.done is None]
    assert not bad, '%d of %d starts wedged; missing %s; log:\n%s' % (
        len(bad), len(starts), bad[0].delivered(), bad[0].log()[-4000:])
