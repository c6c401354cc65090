#!/usr/bin/python3
"""The quick start: the whole main job on an embedded default, from a source checkout.

Starts a private D-Bus bus and ``cbx-evtdb`` on two generated days, a local HTTP
receiver, writes a config in a temporary directory, runs ``cbx-export export``
(one file for a technician) and ``cbx-export run`` (the daily job, uploaded),
then ``cbx-export status``.  Everything lives in a temporary directory (kept
with ``--keep``); nothing is written elsewhere.
"""

import datetime
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.peers.evtdb import evtdb_bus, generate_days  # noqa: E402
from tests.peers.http import HttpPeer  # noqa: E402


def cbx(tmp, cfg, *args):
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=os.path.join(tmp, 'run'))
    cmd = ['/usr/bin/python3', '-m', 'pycstbox.export', '-c', cfg] + list(args)
    print('\n$ cbx-export %s' % ' '.join(args), flush=True)
    return subprocess.run(cmd, env=env, cwd=tmp).returncode


def main():
    keep = '--keep' in sys.argv
    tmp = tempfile.mkdtemp(prefix='cbx-demo-')
    today = datetime.datetime.now(datetime.timezone.utc).date()
    first = today - datetime.timedelta(days=2)
    try:
        root = os.path.join(tmp, 'events')
        n = generate_days(root, first, days=3, sensors=8, interval=120)
        print('generated %d events for %s .. %s in %s' % (n, first, today, root))
        with evtdb_bus(tmp, root) as address, HttpPeer(os.path.join(tmp, 'receiver')) as peer:
            cfg = os.path.join(tmp, 'export.toml')
            with open(cfg, 'w') as f:
                f.write('site = "demo-site"\nstate_dir = "%s"\n[eventstore]\naddress = "%s"\n'
                        '[targets.warehouse]\ntype = "http"\nurl = "%s/api/sites/{site}/series"\n'
                        'method = "POST"\nfield = "zip"\n'
                        '[jobs.daily]\ntarget = "warehouse"\nperiod = "1d"\ndelay = "15m"\n'
                        'format = "csv"\ncompress = "gzip"\nstart = "%s"\n'
                        % (os.path.join(tmp, 'state'), address, peer.url, first.isoformat()))
            out = os.path.join(tmp, 'yesterday.csv')
            y = today - datetime.timedelta(days=1)
            cbx(tmp, cfg, 'export', '--from', y.isoformat(), '--to', today.isoformat(),
                '-o', out)
            with open(out) as f:
                head = [next(f) for _ in range(4)]
            print('%s (%d bytes), first lines:\n%s' % (out, os.path.getsize(out), ''.join(head)))
            rc = cbx(tmp, cfg, 'run')
            print('\nthe receiver got: %s' % ', '.join('%s (%d bytes)' % (u.name, u.size)
                                                      for u in peer.uploads))
            cbx(tmp, cfg, 'status')
            print('\nconfig: %s\nstate: %s' % (cfg, os.path.join(tmp, 'state')))
            return rc
    finally:
        if keep:
            print('kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
