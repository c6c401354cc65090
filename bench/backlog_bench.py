#!/usr/bin/python3
"""Backlog speed against a bare open/write/close baseline measured in the same run.

Prints durable writes/s, reads/s, iteration of 10,000 entries, fsyncs per write.
Goals: iterate 10,000 entries under 0.5 s; a durable write costs <= 2 fsyncs.
Usage: /usr/bin/python3 bench/backlog_bench.py [N]
"""

import datetime
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pycstbox.export import Backlog  # noqa: E402


def parms(i):
    return {'job': 'daily', 'start': datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
            + datetime.timedelta(minutes=15 * i), 'attempts': 0, 'target': 'warehouse'}


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    nw = min(n, 500)             # durable writes are fsync-bound: sample them
    with tempfile.TemporaryDirectory(dir=os.environ.get('BENCH_DIR', '/var/tmp')) as tmp:
        base = os.path.join(tmp, 'bare')
        os.makedirs(base)

        def bare_write(count, fsync):
            for i in range(count):
                with open(os.path.join(base, '%012d.json' % i), 'w') as f:
                    f.write(json.dumps({'x': str(parms(i))}))
                    if fsync:
                        f.flush()
                        os.fsync(f.fileno())

        b = Backlog('bench', root=tmp)
        ids = ['%012d' % i for i in range(n)]
        fsyncs = [0]
        real_fsync = os.fsync

        def counting(fd):
            fsyncs[0] += 1
            real_fsync(fd)
        os.fsync = counting
        t_dur = timed(lambda: [b.__setitem__(ids[i], parms(i)) for i in range(nw)])
        os.fsync = real_fsync
        per_write = fsyncs[0] / nw
        t_bare_dur = timed(lambda: bare_write(nw, True))
        # fill the rest without timing durability again
        for i in range(nw, n):
            b[ids[i]] = parms(i)
        t_bare_nosync = timed(lambda: bare_write(n, False))
        t_read = timed(lambda: [b[j] for j in ids])

        def bare_read():
            for i in range(n):
                with open(os.path.join(base, '%012d.json' % i)) as f:
                    json.loads(f.read())
        t_bare_read = timed(bare_read)
        t_iter = timed(lambda: list(b.items()))
        t_list = timed(lambda: list(b))
        print('entries: %d (durable writes sampled on %d)' % (n, nw))
        print('durable write : %8.0f /s   bare open/write/fsync/close %8.0f /s   ratio %.2f'
              % (nw / t_dur, nw / t_bare_dur, t_bare_dur / t_dur))
        print('fsyncs/write  : %.2f (goal <= 2)' % per_write)
        print('bare write no fsync: %8.0f /s' % (n / t_bare_nosync))
        print('read          : %8.0f /s   bare open/read/json %8.0f /s   ratio %.2f'
              % (n / t_read, n / t_bare_read, t_bare_read / t_read))
        print('iterate %d entries (items): %.3f s (goal < 0.5 s); ids only: %.3f s'
              % (n, t_iter, t_list))


if __name__ == '__main__':
    main()
