#!/usr/bin/python3
"""Start storm (issue 19): N fresh starts of cbx-exportd with every lane kind under a CPU hog.

    PYTHONPATH=. /usr/bin/python3 tools/start-storm.py [-n 30] [--hog 2] [--deadline 20]

Each start: a job (window to HTTP), http, dir, ftp (and sftp when sshd can run) outboxes
with two files waiting and one dropped after the start, metrics on.  Prints one line per
start and the summary: starts attempted/delivered, time to the first delivery and to
the last (median, max).  Exit code 1 when a start did not deliver.  The daemon logs of
the failed starts are kept under the printed directory.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.daemon.startstorm import storm  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('-n', '--count', type=int, default=30)
    ap.add_argument('--hog', type=int, default=2, help='busy-looping processes (default 2)')
    ap.add_argument('--deadline', type=float, default=20.0, help='seconds per start')
    ap.add_argument('--parallel', type=int, default=1, help='starts at a time (default 1)')
    ap.add_argument('--no-sftp', action='store_true')
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix='cbx-storm-')

    def report(s, ok):
        print('start %2d: %s  first %.2f s  all %s' % (
            s.index, 'delivered' if ok else 'WEDGED (missing %s)' % ', '.join(s.delivered()),
            s.first if s.first is not None else float('nan'),
            '%.2f s' % s.done if s.done is not None else '-'), flush=True)
    starts, summary = storm(root, args.count, args.deadline, args.hog, not args.no_sftp,
                            report=report, parallel=args.parallel)
    print('attempted %(attempted)d, delivered %(delivered)d (sftp lane: %(sftp)s)' % summary)
    for k in ('first_median', 'first_max', 'all_median', 'all_max'):
        if summary[k] is not None:
            print('%s: %.2f s' % (k, summary[k]))
    bad = [s for s in starts if s.done is None]
    for s in starts:
        if s.done is not None:
            shutil.rmtree(s.root, ignore_errors=True)
    if bad:
        print('logs of the failed starts under %s' % root)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
