"""Fixtures of the daemon tests: a real HTTP receiver, a private bus with cbx-evtdb,
a config writer and a ``cbx-exportd`` subprocess that is always killed at the end."""

import datetime
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.http import HttpPeer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTC = datetime.timezone.utc
SITE = 'lyon-b12'


def wait_for(predicate, timeout, step=0.05, what='condition'):
    """Poll ``predicate`` until true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %s s waiting for %s' % (timeout, what))
        time.sleep(step)


def write_config(path, state_dir, url, address='unix:path=/nonexistent', job=None):
    """A TOML config with target ``web`` (HTTP PUT to ``url``) and an optional job."""
    text = ('site = "%s"\nstate_dir = "%s"\ntimezone = "UTC"\n\n[eventstore]\n'
            'address = "%s"\ntimeout = 10\n\n[targets.web]\ntype = "http"\n'
            'url = "%s/up/{name}"\nmethod = "PUT"\ntimeout = 30\n'
            % (SITE, state_dir, address, url))
    if job:
        text += ('\n[jobs.daily]\ntarget = "web"\nperiod = "1d"\ndelay = "0s"\n'
                 'format = "csv"\nstart = "%s"\nmax_try = 1\n' % job)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


class DaemonProc:
    """A ``python3 -m pycstbox.export.daemon`` subprocess with its log file."""

    def __init__(self, tmp_path, cfgfile):
        self.cfgfile = cfgfile
        self.runtime = str(tmp_path / 'run')
        self.log_path = str(tmp_path / 'daemon.log')
        self.env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=self.runtime)
        self.env.pop('CBX_EXPORT_CONFIG', None)
        self.proc = None

    def start(self):
        self._log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'pycstbox.export.daemon', '-c', self.cfgfile, '-L', 'DEBUG'],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.status() or self.proc.poll() is not None, 10,
                 what='status.json of the daemon')
        assert self.proc.poll() is None, self.log()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def status(self):
        try:
            with open(os.path.join(self.runtime, 'status.json')) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def terminate(self, timeout=15):
        """SIGTERM; returns the seconds it took to exit."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - t0

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None:
            self._log.close()


@pytest.fixture
def http_peer(tmp_path):
    with HttpPeer(tmp_path / 'http') as peer:
        yield peer


@pytest.fixture
def daemon_factory(tmp_path):
    """``factory(cfgfile)`` -> started DaemonProc; every one is killed at the end."""
    started = []

    def factory(cfgfile):
        d = DaemonProc(tmp_path, cfgfile)
        started.append(d)
        return d.start()
    try:
        yield factory
    finally:
        for d in started:
            d.kill()


@pytest.fixture
def outbox_setup(tmp_path, http_peer):
    """(config file, outbox dir of target web) for a config without jobs."""
    state = tmp_path / 'state'
    cfg = write_config(tmp_path / 'export.toml', state, http_peer.url)
    return cfg, str(state / 'outbox' / 'web')


@pytest.fixture
def store_address(tmp_path):
    """A private bus with cbx-evtdb serving yesterday's and today's generated events."""
    root = tmp_path / 'evt'
    today = datetime.datetime.now(UTC).date()
    generate_days(str(root), today - datetime.timedelta(days=1), days=2, sensors=2,
                  interval=600)
    with evtdb_bus(tmp_path, root) as address:
        yield address


def drop(outbox, name, data, tmpdir):
    """Write ``data`` beside the outbox, then rename it in (the documented protocol)."""
    os.makedirs(tmpdir, exist_ok=True)
    src = os.path.join(tmpdir, name)
    with open(src, 'wb') as f:
        f.write(data)
    os.rename(src, os.path.join(outbox, name))


def proc_usage(pid):
    """(utime + stime in seconds, VmRSS in kB) of a process, from /proc."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    return cpu, rss
