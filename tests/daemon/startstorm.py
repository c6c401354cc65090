"""Start storm: many fresh starts of the real ``cbx-exportd`` with every lane kind at once.

Used by ``tests/daemon/test_start_storm.py`` (a few starts) and ``tools/start-storm.py``
(30 by default).  Each start gets a fresh state directory and runtime directory, a
config with a job (its window goes to the HTTP target), an http, a dir and an ftp
outbox (and an sftp one when a real sshd can run), metrics on; two files wait in
every outbox before the start and one more is dropped once the daemon has written its
status file.  A start *delivers* when every outbox file and the job's window are at
their receivers and the metrics file was written, within ``deadline`` seconds.  A CPU
hog (``hog`` busy-looping processes) runs throughout, as the acquisition does on a
gateway.
"""

import contextlib
import datetime
import os
import signal
import statistics
import subprocess
import sys
import time

from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.ftp import FtpPeer
from tests.peers.http import HttpPeer
from tests.peers.sshd import SshdPeer, sshd_usable

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTC = datetime.timezone.utc


@contextlib.contextmanager
def cpu_hog(count):
    """``count`` busy-looping processes (killed on exit)."""
    procs = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
             for _ in range(count)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


class Peers:
    """The receivers shared by every start: HTTP, FTP, optional sshd, a store on a bus."""

    def __init__(self, root, sftp=True):
        self.root = str(root)
        self.sftp = sftp and not sshd_usable()
        self.stack = contextlib.ExitStack()

    def __enter__(self):
        st = self.stack.__enter__()
        self.http = st.enter_context(HttpPeer(os.path.join(self.root, 'http')))
        self.ftp = st.enter_context(FtpPeer(os.path.join(self.root, 'ftp')))
        self.sshd = st.enter_context(SshdPeer(os.path.join(self.root, 'sshd'))) \
            if self.sftp else None
        evt = os.path.join(self.root, 'evt')
        self.yesterday = datetime.datetime.now(UTC).date() - datetime.timedelta(days=1)
        generate_days(evt, self.yesterday, days=2, sensors=2, interval=600)
        self.address = st.enter_context(evtdb_bus(self.root, evt))
        return self

    def __exit__(self, *exc):
        return self.stack.__exit__(*exc)


class Start:
    """One fresh start of the daemon (see module docstring)."""

    def __init__(self, peers, root, index, env=None, extra='', command=None):
        self.peers, self.root, self.index = peers, str(root), index
        self.site = 'storm%03d' % index
        self.state = os.path.join(self.root, 'state')
        self.runtime = os.path.join(self.root, 'run')
        self.dir_target = os.path.join(self.root, 'dirtarget')
        self.ftp_dir = 'storm%03d' % index
        self.sftp_dir = os.path.join(peers.sshd.dir, self.site) if peers.sshd else None
        self.prom = os.path.join(self.root, 'metrics', 'cstbox_export.prom')
        self.targets = ['h', 'd', 'f'] + (['s'] if peers.sshd else [])
        self.files = {t: ['%s-%s-%d.csv' % (self.site, t, n) for n in range(3)]
                      for t in self.targets}
        self.env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=self.runtime,
                        CBX_EXPORT_METRICS_INTERVAL='0.5', PYTHONFAULTHANDLER='1',
                        **(env or {}))
        self.env.pop('CBX_EXPORT_CONFIG', None)
        self.proc = None
        self.first = self.done = None
        self.extra = extra             # more config text (targets of a test's own)
        self.command = command or [sys.executable, '-m', 'pycstbox.export.daemon']

    def config(self):
        p = self.peers
        y = p.yesterday
        text = ['site = "%s"' % self.site, 'state_dir = "%s"' % self.state, 'timezone = "UTC"',
                '[eventstore]', 'address = "%s"' % p.address, 'timeout = 10',
                '[metrics]', 'textfile = "%s"' % self.prom,
                '[targets.h]', 'type = "http"', 'url = "%s/up/{name}"' % p.http.url,
                'method = "PUT"', 'timeout = 20',
                '[targets.d]', 'type = "dir"', 'path = "%s"' % self.dir_target,
                '[targets.f]', 'type = "ftp"', 'host = "127.0.0.1"', 'port = %d' % p.ftp.port,
                'user = "user"', 'password = "%s"' % p.ftp.password,
                'directory = "%s"' % self.ftp_dir, 'timeout = 20',
                '[jobs.daily]', 'target = "h"', 'period = "1d"', 'delay = "0s"',
                'format = "csv"', 'start = "%s"' % y.isoformat(), 'max_try = 1']
        if p.sshd:
            text += ['[targets.s]', 'type = "sftp"', 'host = "127.0.0.1"',
                     'port = %d' % p.sshd.port, 'user = "root"',
                     'key_file = "%s"' % p.sshd.client_key,
                     'known_hosts = "%s"' % p.sshd.known_hosts,
                     'directory = "%s"' % self.sftp_dir, 'timeout = 20']
        return '\n'.join(text) + '\n' + self.extra

    def window_name(self):
        y = self.peers.yesterday
        return '%s_daily_%sT000000Z_%sT000000Z.csv' % (
            self.site, y.strftime('%Y%m%d'), (y + datetime.timedelta(days=1)).strftime('%Y%m%d'))

    def prepare(self):
        os.makedirs(os.path.dirname(self.prom))
        os.makedirs(self.dir_target)
        os.makedirs(os.path.join(self.peers.ftp.home('user'), self.ftp_dir))
        if self.sftp_dir:
            os.makedirs(self.sftp_dir)
        self.cfg = os.path.join(self.root, 'export.toml')
        with open(self.cfg, 'w') as f:
            f.write(self.config())
        for t in self.targets:
            self._drop(t, self.files[t][0], age=60)
            self._drop(t, self.files[t][1], age=60)

    def _drop(self, target, name, age=0):
        """Rename a file into the outbox; ``age`` s old (quiet: sent as soon as scanned)."""
        folder = os.path.join(self.state, 'outbox', target)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, '.' + name + '.tmp')
        with open(tmp, 'w') as f:
            f.write('timestamp,value\n%s,%d\n' % (name, self.index))
        if age:
            t = time.time() - age
            os.utime(tmp, (t, t))
        os.rename(tmp, os.path.join(folder, name))

    def delivered(self):
        """The names still missing at their receivers (empty: all delivered)."""
        missing = []
        for t in self.targets:
            for n in self.files[t]:
                if t == 'h':
                    ok = self.peers.http.read(n) is not None
                elif t == 'd':
                    ok = os.path.exists(os.path.join(self.dir_target, n))
                elif t == 'f':
                    ok = self.peers.ftp.read('user', os.path.join(self.ftp_dir, n)) is not None
                else:
                    ok = os.path.exists(os.path.join(self.sftp_dir, n))
                if not ok:
                    missing.append('%s:%s' % (t, n))
        if self.peers.http.read(self.window_name()) is None:
            missing.append('h:' + self.window_name())
        if not os.path.exists(self.prom):
            missing.append('metrics')
        return missing

    def any_delivered(self):
        return len(self.delivered()) < sum(len(v) for v in self.files.values()) + 2

    def run(self, deadline, until=lambda: True):
        """Start, drop the third files, wait for everything (and ``until()``); True when
        all delivered."""
        self.prepare()
        self.log_path = os.path.join(self.root, 'daemon.log')
        log = open(self.log_path, 'wb')
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.command + ['-c', self.cfg, '-L', 'DEBUG'],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            end = t0 + deadline
            status = os.path.join(self.runtime, 'status.json')
            dropped = False
            while time.monotonic() < end and self.proc.poll() is None:
                if not dropped and os.path.exists(status):
                    for t in self.targets:
                        self._drop(t, self.files[t][2])
                    dropped = True
                if self.first is None and self.any_delivered():
                    self.first = time.monotonic() - t0
                if dropped and not self.delivered() and until():
                    self.done = time.monotonic() - t0
                    if self.first is None:
                        self.first = self.done
                    return True
                time.sleep(0.05)
            if self.proc.poll() is None:       # wedged: its threads' stacks into its log
                self.proc.send_signal(signal.SIGABRT)
                self.proc.wait(10)
            return False
        finally:
            self.stop()
            log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()


def storm(root, count, deadline=20.0, hog=1, sftp=True, env=None, report=None, parallel=1):
    """``count`` starts under ``hog`` busy processes, ``parallel`` at a time:
    (list of Start, summary dict)."""
    from concurrent.futures import ThreadPoolExecutor
    root = str(root)
    starts = []
    with Peers(os.path.join(root, 'peers'), sftp=sftp) as peers, cpu_hog(hog):
        starts = [Start(peers, os.path.join(root, 'start%03d' % i), i, env)
                  for i in range(count)]
        with ThreadPoolExecutor(parallel) as pool:
            for s, ok in zip(starts, pool.map(lambda s: s.run(deadline), starts)):
                if report:
                    report(s, ok)
    good = [s for s in starts if s.done is not None]
    firsts = [s.first for s in starts if s.first is not None]
    dones = [s.done for s in good]
    summary = {
        'attempted': len(starts), 'delivered': len(good), 'sftp': bool(peers.sshd),
        'first_median': statistics.median(firsts) if firsts else None,
        'first_max': max(firsts) if firsts else None,
        'all_median': statistics.median(dones) if dones else None,
        'all_max': max(dones) if dones else None,
    }
    return starts, summary
