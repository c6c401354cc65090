#!/usr/bin/python3
"""A backlog of 10,000 pending windows: `status` time, and `run` draining it with flat memory.

Prints: wall time of `cbx-export status` with 10,000 pending entries (goal < 1 s) against
a bare interpreter start-up (`python3 -c pass`, the baseline), and the peak RSS of a run
draining 10,000 vs 100 entries to a local directory receiver (goal: within 1.2x).
Usage: /usr/bin/python3 bench/process_backlog.py [N]
"""

import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
UTC = datetime.timezone.utc
START = datetime.datetime(2025, 1, 1, tzinfo=UTC)


def write_config(tmp, n):
    cfg = os.path.join(tmp, 'export.toml')
    with open(cfg, 'w') as f:
        f.write('site = "bench"\nstate_dir = "%s"\n[targets.out]\ntype = "dir"\npath = "%s"\n'
                '[jobs.q]\ntarget = "out"\nperiod = "15m"\ndelay = "1m"\nstart = "2025-01-01"\n'
                'max_age = "3650d"\n' % (os.path.join(tmp, 'state'), os.path.join(tmp, 'out')))
    os.makedirs(os.path.join(tmp, 'out'), exist_ok=True)
    return cfg


def fill(cfg_path, n):
    """Enqueue n windows (a run with no target reachable would do the same, slower)."""
    from pycstbox.export import config
    from pycstbox.export.process.process import ExportProcess
    cfg = config.load(cfg_path, environ={})
    now = START + datetime.timedelta(minutes=15 * n + 1)
    proc = ExportProcess(cfg)
    from pycstbox.export.process.lock import RunLock
    with RunLock(cfg.state_dir):
        proc.enqueue(cfg.jobs['q'], now, [])
    return now


class OneEventSource:
    def flush(self):
        pass

    def events(self, start, end, var_types=(), var_names=()):
        from pycstbox.evtdb.event import Event
        yield Event(start, 'energy', 'main', 1.5, 'kWh', {'unit': 'kWh'})

    def close(self):
        pass


def child(cfg_path, now_iso):
    from pycstbox.export import config
    from pycstbox.export.process.process import ExportProcess
    cfg = config.load(cfg_path, environ={})
    tmp = os.path.dirname(cfg_path)
    proc = ExportProcess(cfg, source_factory=lambda s: OneEventSource(),
                         runtime_dir=os.path.join(tmp, 'run'))
    t = time.perf_counter()
    rep = proc.run(now=datetime.datetime.fromisoformat(now_iso), enqueue=False)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print('%d %d %.3f %d' % (rep.delivered, rep.pending, wall, rss))


def measure(n):
    with tempfile.TemporaryDirectory(dir='/var/tmp') as tmp:
        cfg = write_config(tmp, n)
        now = fill(cfg, n)
        env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_NOW=now.isoformat(),
                   CBX_EXPORT_RUNTIME_DIR=os.path.join(tmp, 'run'))
        t = time.perf_counter()
        subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status'],
                       env=env, stdout=subprocess.DEVNULL, check=False)
        t_status = time.perf_counter() - t
        out = subprocess.run([sys.executable, __file__, '--child', cfg, now.isoformat()],
                             env=env, capture_output=True, text=True, check=True).stdout.split()
        delivered, left, wall, rss = int(out[0]), int(out[1]), float(out[2]), int(out[3])
        return t_status, delivered, left, wall, rss


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    t = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'pass'], check=True)
    t_bare = time.perf_counter() - t
    small = measure(100)
    big = measure(n)
    print('status with %d pending: %.3f s (goal < 1 s); bare interpreter start %.3f s; ratio %.1fx'
          % (n, big[0], t_bare, big[0] / t_bare))
    print('status with 100 pending: %.3f s' % small[0])
    print('run draining %d: %d delivered, %d left, %.1f s (%.0f windows/s), peak RSS %.1f MB'
          % (n, big[1], big[2], big[3], big[1] / big[3], big[4] / 1024))
    print('run draining 100: peak RSS %.1f MB; ratio %d/100 = %.2fx (goal <= 1.2x)'
          % (small[4] / 1024, n, big[4] / small[4]))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        child(sys.argv[2], sys.argv[3])
    else:
        main()
