"""init.d/cstbox-export run from a copy against the tree's cbx-exportd (issue 25: a pid file
naming a zombie made `stop` fail after STOP_TIMEOUT + 5 s and `restart` exit 1)."""

import os
import shutil
import subprocess
import time

import pytest

from tests.daemon.conftest import wait_for, write_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INIT = os.path.join(REPO, 'init.d', 'cstbox-export')
DAEMON = os.path.join(REPO, 'bin', 'cbx-exportd')

pytestmark = pytest.mark.skipif(
    not os.path.exists('/lib/lsb/init-functions') or shutil.which('start-stop-daemon') is None,
    reason='needs lsb-base (/lib/lsb/init-functions) and start-stop-daemon (dpkg)')


@pytest.fixture
def init_copy(tmp_path):
    """(run(action) -> CompletedProcess, pid file, runtime dir): the script reading its
    defaults from tmp_path instead of /etc/default/cstbox-export."""
    run = tmp_path / 'run'
    default = tmp_path / 'default'
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', 'http://127.0.0.1:9')
    default.write_text('DAEMON=%s\nRUNDIR=%s\nPIDFILE=%s/cbx-exportd.pid\nLOGDIR=%s\n'
                       'LOGFILE=%s/daemon.log\nCONFIG=%s\nSTOP_TIMEOUT=3\nSTART_WAIT=20\n'
                       % (DAEMON, run, run, tmp_path, tmp_path, cfg))
    with open(INIT) as f:
        text = f.read()
    assert text.count('/etc/default/cstbox-export') >= 2
    script = tmp_path / 'cstbox-export'
    script.write_text(text.replace('/etc/default/cstbox-export', str(default)))
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=str(run))
    env.pop('CBX_EXPORT_CONFIG', None)

    def action(name):
        return subprocess.run(['/bin/sh', str(script), name], env=env, capture_output=True,
                              text=True, timeout=60)
    yield action, str(run / 'cbx-exportd.pid'), run
    action('stop')


def test_stop_and_restart_with_a_zombie_in_the_pid_file(init_copy):
    """A pid file naming an unreaped cbx-exportd: stop succeeds at once, restart starts it."""
    action, pidfile, run = init_copy
    os.makedirs(run, exist_ok=True)
    zombie = subprocess.Popen([DAEMON, '--help'], stdout=subprocess.DEVNULL)   # not waited
    try:
        wait_for(lambda: _state(zombie.pid) == 'Z', 10, what='the zombie')
        with open(pidfile, 'w') as f:
            f.write('%d\n' % zombie.pid)
        assert action('status').returncode == 1          # dead with a pid file (LSB)
        t0 = time.monotonic()
        out = action('stop')
        assert out.returncode == 0, out.stdout + out.stderr
        assert time.monotonic() - t0 < 3, 'stop waited for the zombie to vanish'
        with open(pidfile, 'w') as f:
            f.write('%d\n' % zombie.pid)
        out = action('restart')
        assert out.returncode == 0, out.stdout + out.stderr
        assert action('status').returncode == 0
        with open(pidfile) as f:
            pid = int(f.read())
        assert pid != zombie.pid and _state(pid) in ('S', 'R')
        out = action('stop')
        assert out.returncode == 0, out.stdout + out.stderr
        assert action('status').returncode == 3
    finally:
        zombie.wait()


def _state(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('State:'):
                    return line.split()[1]
    except OSError:
        return None
