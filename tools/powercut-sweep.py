#!/usr/bin/python3
"""Power cuts at every fsync/rename point of each scenario, plus random ones (issue 19).

    sudo tools/powercut-sweep.py [--scenario run|requeue|outbox ...] [--random N] [--seed S]

Needs root (FUSE), Debian's python3-llfuse, dbus-daemon.  Each scenario is counted in a
first run, then cut at every point 1..count (tests/peers/cutfs.py: everything unsynced
lost, the process killed, /run emptied), recovered by one healthy ``cbx-export run``
and checked (tests/process/powercut_scenario.py: every due window delivered with its
exact events, pending or dead-lettered with a reason; status, backlog list and audit
agree; nothing orphaned; the metrics file never empty).  Prints every violation and,
at the end, one line per scenario: cut points, cuts made, seconds, violations.
Exit status 1 when there was any violation.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.peers.cutfs import available            # noqa: E402
from tests.peers.evtdb import evtdb_bus, generate_days   # noqa: E402
from tests.process import powercut_scenario as ps  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--scenario', action='append', choices=sorted(ps.SCENARIOS))
    p.add_argument('--random', type=int, default=5,
                   help='random cuts (any operation) per scenario')
    p.add_argument('--seed', type=int, default=int(time.time()))
    p.add_argument('--points', help='only these cut points (comma separated)')
    p.add_argument('--code', help='the cstbox-export tree whose commands are cut (default: '
                   'this one; e.g. an old commit checked out elsewhere, to see it fail)')
    p.add_argument('--model', choices=('strict', 'lazyfs'), default='strict',
                   help='strict: a name is durable once its folder is fsynced; lazyfs: at '
                   'once (what LazyFS does)')
    p.add_argument('--flash', action='store_true',
                   help='only measure bytes written and fsyncs per daily window')
    p.add_argument('-q', '--quiet', action='store_true',
                   help='print only violations and the figure')
    a = p.parse_args()
    why = available()
    if why:
        print('powercut-sweep: cannot run: %s' % why, file=sys.stderr)
        return 2
    scenarios = a.scenario or ['run', 'requeue', 'outbox']
    points = [int(x) for x in a.points.split(',')] if a.points else None
    log = (lambda line: line.startswith('  ') and print(line, flush=True)) if a.quiet else \
        (lambda line: print(line, flush=True))
    if a.code:
        ps.REPO = os.path.abspath(a.code)
    figures, total_bad = [], 0
    with tempfile.TemporaryDirectory(prefix='powercut-') as root:
        generate_days(os.path.join(root, 'db'), ps.FIRST, days=ps.DAYS, sensors=3, interval=300)
        with evtdb_bus(root, os.path.join(root, 'db')) as address:
            if a.flash:
                for what, r in ps.flash(os.path.join(root, 'flash'), address).items():
                    print('%-12s %6d bytes written, %2d fsync + %2d fsyncdir (%s)' % (
                        what, r['bytes_written'], r['ops'].get('fsync', 0),
                        r['ops'].get('fsyncdir', 0), ps.REPO))
                scenarios = []
            for sc in scenarios:
                count, cuts, bad, secs = ps.sweep(root, address, sc, points=points,
                                                  randoms=a.random, seed=a.seed, log=log,
                                                  model=a.model)
                total_bad += len(bad)
                figures.append('%-6s %-8s %3d cut points, %3d cuts (every point + %d random, '
                               'seed %d), %5.0f s, %d violation(s)' % (
                                   a.model, sc, count, cuts, a.random, a.seed, secs, len(bad)))
    print('\n'.join(figures))
    return 1 if total_bad else 0


if __name__ == '__main__':
    sys.exit(main())
