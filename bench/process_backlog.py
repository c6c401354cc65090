#!/usr/bin/python3
"""A backlog of 10,000 pending windows: `status` time, and `run` draining it with flat memory.

Interleaved A/B pairs (bench/pairs.py: median and min-max, CPU beside wall): the wall
time of `cbx-export status` with N (10,000) pending entries (goal < 1 s) against a bare
interpreter start-up (`python3 -c pass`), and a run draining N vs 100 entries to a local
directory receiver, each from a fresh state (goal: peak RSS within 1.2x).  Data: one
event per window (the cost measured is the process's, not the store's).
Usage: /usr/bin/python3 bench/process_backlog.py [N] [--pairs 5]
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
from bench import pairs  # noqa: E402
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


def prepared(n):
    """A fresh state with n pending windows; (tmp dir object, config path, now)."""
    tmp = tempfile.TemporaryDirectory(dir='/var/tmp')
    cfg = write_config(tmp.name, n)
    return tmp, cfg, fill(cfg, n)


def drain(n):
    """One draining run of n pending windows in a child process: a pairs.Sample."""
    tmp, cfg, now = prepared(n)
    with tmp:
        s = pairs.run([sys.executable, __file__, '--child', cfg, now.isoformat()])
        delivered, left = (int(x) for x in s.out.split()[:2])
        assert delivered == n and left == 0, s.out
        return s


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('entries', nargs='?', type=int, default=10000)
    parser.add_argument('--pairs', type=int, default=5)
    args = parser.parse_args()
    n = args.entries
    tmp, cfg, now = prepared(n)
    with tmp:
        os.environ['CBX_EXPORT_NOW'] = now.isoformat()
        os.environ['CBX_EXPORT_RUNTIME_DIR'] = os.path.join(tmp.name, 'run')
        status = pairs.interleave(
            lambda: pairs.run([pairs.PY, '-c', 'pass']),
            lambda: pairs.run([pairs.PY, '-m', 'pycstbox.export', '-c', cfg, 'status']),
            args.pairs)
    pairs.report('status with %d pending windows: A = python3 -c pass, B = cbx-export status'
                 % n, 'A python3 -c pass', 'B status', status, goal='B under 1 s')
    runs = pairs.interleave(lambda: drain(100), lambda: drain(n), args.pairs)
    pairs.report('a run draining the backlog to a dir target (one event per window): '
                 'A = 100 windows, B = %d windows' % n, 'A 100', 'B %d' % n, runs,
                 goal='peak RSS B/A <= 1.2')


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        child(sys.argv[2], sys.argv[3])
    else:
        main()
