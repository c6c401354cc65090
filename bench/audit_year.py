#!/usr/bin/python3
"""The audit at scale: a year of 15-minute windows (35,040) journaled and stored on a real
SeaweedFS, audited by `cbx-export audit --json`; prints wall, CPU and peak RSS of the
audit process and the number of listing pages.

    PYTHONPATH=. /usr/bin/python3 bench/audit_year.py [COUNT]    (default 35040)
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.peers.seaweedfs import BUCKET, SeaweedPeer, seaweedfs_usable  # noqa: E402
from tests.process.auditscale import Year  # noqa: E402


def audit(year, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, CBX_EXPORT_NOW='2026-01-01T00:00:00Z')
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', year.config_path,
                        'audit', '--json'] + list(args), env=env, capture_output=True,
                       text=True, cwd=os.path.dirname(year.config_path))
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, wall, cpu, after.ru_maxrss / 1024


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 35040
    why = seaweedfs_usable()
    if why:
        sys.exit(why)
    with tempfile.TemporaryDirectory(prefix='cbx-audit-year-') as tmp:
        with SeaweedPeer(os.path.join(tmp, 'weed')) as peer:
            ak, sk = peer.identities['gw']
            year = Year(os.path.join(tmp, 'box'), peer.endpoint, ak, sk, BUCKET, 'fleet/',
                        count)
            began = time.monotonic()
            year.put_all(peer.endpoint, ak, sk)
            print('%d objects stored in %.1f s' % (count, time.monotonic() - began))
            r, wall, cpu, rss = audit(year)
            doc = json.loads(r.stdout)
            counts = doc['jobs']['quarter']['counts']
            print('audit exit %d: %s' % (r.returncode, {k: v for k, v in counts.items() if v}))
            print('audit of %d windows: wall %.1f s, CPU %.1f s, peak RSS %.0f MB, %d '
                  'listing pages' % (count, wall, cpu, rss, -(-count // 1000)))
            if r.returncode or counts['ok'] != count:
                print(r.stderr[-2000:])
                sys.exit(1)


if __name__ == '__main__':
    main()
