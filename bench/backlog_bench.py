#!/usr/bin/python3
"""Backlog speed against bare open/write/close, interleaved in the same run (bench/pairs.py).

Three sets of interleaved A/B pairs (median and min-max, CPU beside wall):
durable writes (A = open/write/fsync/close of a JSON file, B = ``Backlog[id] = parms``,
500 entries each, fsyncs per write counted), reads of N entries (A = open/read/json.loads,
B = ``Backlog[id]``) and iterating N entries (A = listdir + read every file, B =
``list(Backlog.items())``).  Data: window entries as the export process writes them.
Goals: iterate 10,000 entries under 0.5 s; a durable write costs <= 2 fsyncs.
Usage: /usr/bin/python3 bench/backlog_bench.py [N] [--pairs 5]
"""

import datetime
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import pairs  # noqa: E402
from pycstbox.export import Backlog  # noqa: E402


def parms(i):
    return {'job': 'daily', 'start': datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
            + datetime.timedelta(minutes=15 * i), 'attempts': 0, 'target': 'warehouse'}


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('entries', nargs='?', type=int, default=10000)
    parser.add_argument('--pairs', type=int, default=5)
    args = parser.parse_args()
    n, npairs = args.entries, args.pairs
    nw = min(n, 500)             # durable writes are fsync-bound: sample them
    ids = ['%012d' % i for i in range(n)]
    with tempfile.TemporaryDirectory(dir=os.environ.get('BENCH_DIR', '/var/tmp')) as tmp:
        bare, root = os.path.join(tmp, 'bare'), os.path.join(tmp, 'backlog')
        fsyncs = [0]
        real_fsync = os.fsync

        def counting(fd):
            fsyncs[0] += 1
            real_fsync(fd)

        def bare_write(count, fsync=True):
            shutil.rmtree(bare, ignore_errors=True)
            os.makedirs(bare)
            for i in range(count):
                with open(os.path.join(bare, '%012d.json' % i), 'w') as f:
                    f.write(json.dumps({'x': str(parms(i))}))
                    if fsync:
                        f.flush()
                        real_fsync(f.fileno())

        def backlog_write(count):
            shutil.rmtree(root, ignore_errors=True)
            b = Backlog('bench', root=root)
            os.fsync = counting
            try:
                for i in range(count):
                    b[ids[i]] = parms(i)
            finally:
                os.fsync = real_fsync

        writes = pairs.interleave(lambda: pairs.timed(lambda: bare_write(nw)),
                                  lambda: pairs.timed(lambda: backlog_write(nw)), npairs)
        per_write = fsyncs[0] / (nw * (npairs + 1))
        pairs.report('durable writes of %d entries: A = open/write/fsync/close, B = Backlog'
                     % nw, 'A bare', 'B Backlog', writes, goal='<= 2 fsyncs per write')
        print('   fsyncs per Backlog write: %.2f' % per_write)
        # fill both sides with n entries (not timed), then read and iterate
        bare_write(n, fsync=False)
        b = Backlog('bench', root=root)
        for i in range(nw, n):
            b[ids[i]] = parms(i)

        def bare_read():
            for i in range(n):
                with open(os.path.join(bare, '%012d.json' % i)) as f:
                    json.loads(f.read())

        def bare_iter():
            for name in sorted(os.listdir(bare)):
                with open(os.path.join(bare, name)) as f:
                    json.loads(f.read())

        reads = pairs.interleave(lambda: pairs.timed(bare_read),
                                 lambda: pairs.timed(lambda: [b[j] for j in ids]), npairs)
        pairs.report('reading %d entries: A = open/read/json.loads, B = Backlog[id]' % n,
                     'A bare', 'B Backlog', reads)
        iters = pairs.interleave(lambda: pairs.timed(bare_iter),
                                 lambda: pairs.timed(lambda: list(b.items())), npairs)
        pairs.report('iterating %d entries: A = listdir + read each, B = Backlog.items()' % n,
                     'A bare', 'B Backlog', iters, goal='B under 0.5 s')


if __name__ == '__main__':
    main()
