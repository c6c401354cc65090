"""Benchmark of ``cbx-export export --format csv`` with gzip against the raw paged read.

Run by hand (not part of the tests)::

    cd /work/main && /usr/bin/python3 bench/export_csv.py [EVENTS]

Prints, for a day of EVENTS events (default 1,000,000) served by ``cbx-evtdb`` on a
private bus: wall time, events/s and peak RSS of the client alone (baseline: a
process that only iterates ``EventStoreClient.events()``) and of the export, with
the ratio; peak RSS of the export for a 100k day against the big day; and the
wall time of ``cbx-export --help`` against ``python3 -c pass``.
Goals: rate >= 0.8x the raw read, peak RSS < 60 MB, RSS(1M) <= 1.2x RSS(100k),
--help < 2x python3 -c pass.
"""

import os
import subprocess
import sys
import tempfile
import time
from datetime import date

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.peers.evtdb import evtdb_bus, write_dense_day  # noqa: E402

PY = '/usr/bin/python3'
DAY = date(2026, 11, 27)
RAW = '''
import sys
from datetime import datetime, timezone
from pycstbox.evtdb.client import EventStoreClient
c = EventStoreClient(sys.argv[1], timeout=60)
c.flush()
n = 0
for e in c.events(datetime(2026, 11, 27, tzinfo=timezone.utc),
                  datetime(2026, 11, 28, tzinfo=timezone.utc)):
    n += 1
print(n)
'''


def measure(cmd, env):
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit('failed: %s\n%s' % (' '.join(cmd), err.decode(errors='replace')))
    return wall, usage.ru_maxrss / 1024.0, out


def median_wall(cmd, env, runs=21):
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
    return sorted(walls)[runs // 2]


def export_cmd(cfg, out):
    return [PY, '-m', 'pycstbox.export', '-c', cfg, 'export', '--from', '2026-11-27T00:00Z',
            '--to', '2026-11-28T00:00Z', '--format', 'csv', '--compress', 'gzip', '-o', out]


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        results = {}
        for n in (events, 100000):
            root = os.path.join(tmp, 'db%d' % n)
            t0 = time.perf_counter()
            write_dense_day(root, DAY, n)
            print('%d events written in %.1f s' % (n, time.perf_counter() - t0))
            with evtdb_bus(tmp, root) as address:
                cfg = os.path.join(tmp, 'export.toml')
                with open(cfg, 'w') as f:
                    f.write('[eventstore]\naddress = "%s"\ntimeout = 120\n' % address)
                # warm the service's page cache / index once
                measure([PY, '-c', RAW, address], env)
                raw = measure([PY, '-c', RAW, address], env)
                assert int(raw[2]) == n, raw[2]
                out = os.path.join(tmp, 'out.csv.gz')
                exp = measure(export_cmd(cfg, out), env)
                results[n] = (raw, exp, os.path.getsize(out))
        raw, exp, size = results[events]
        print('\n%d-event day (csv + gzip, %.1f MB file)' % (events, size / 1e6))
        print('  %-28s %8s %12s %10s' % ('', 'wall s', 'events/s', 'peak RSS'))
        print('  %-28s %8.2f %12s %7.1f MB' % ('raw paged read (client)', raw[0],
                                               format(int(events / raw[0]), ','), raw[1]))
        print('  %-28s %8.2f %12s %7.1f MB' % ('cbx-export export', exp[0],
                                               format(int(events / exp[0]), ','), exp[1]))
        print('  rate ratio export/raw: %.2f (goal >= 0.8)' % (raw[0] / exp[0]))
        print('  peak RSS: %.1f MB (goal < 60 MB)' % exp[1])
        small = results[100000][1]
        print('  RSS %d / 100k: %.1f / %.1f MB = %.2f (goal <= 1.2)'
              % (events, exp[1], small[1], exp[1] / small[1]))
    base = median_wall([PY, '-c', 'pass'], env)
    helpt = median_wall([PY, '-m', 'pycstbox.export', '--help'], env)
    print('\n--help: %.1f ms, python3 -c pass: %.1f ms, ratio %.2f (goal < 2)'
          % (helpt * 1e3, base * 1e3, helpt / base))


if __name__ == '__main__':
    main()
