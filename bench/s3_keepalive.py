#!/usr/bin/python3
"""Bytes on the wire and connections per window, before/after the kept connection (issue 22).

A real SeaweedFS behind a TLS-terminating relay (a test CA, an EC P-256 certificate),
behind a plain counting relay: the client (the s3 transport, in a process of its own)
speaks https to the counting relay, which counts the TCP payload bytes each way (TLS
handshakes and records included, TCP/IP headers not) and the connections.

Two runs per revision (``--base REV``, default the merge base 70032f6, is A; the working
tree is B), each in a fresh process:
- ``single``: a run delivering WINDOWS small windows (single PUTs of SIZE bytes);
- ``multipart``: one window of MULTI bytes (multipart: create, parts, complete, sweep).

The figures are deterministic (counted, not timed): one run per revision suffices.
Usage: /usr/bin/python3 bench/s3_keepalive.py [--windows 24] [--size 20000]
       [--multi 20971520] [--base 70032f6]
"""

import argparse
import os
import ssl
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.peers.http import make_test_pki  # noqa: E402
from tests.peers.seaweedfs import BUCKET, REGION, SeaweedPeer, seaweedfs_usable  # noqa: E402
from tests.peers.tcpcount import CountingRelay  # noqa: E402

CLIENT = r'''
import os, sys
from datetime import datetime, timedelta, timezone
from pycstbox.export import transports
class T:
    name, type = 'lake', 's3'
T.options = dict(endpoint=sys.argv[1], region=sys.argv[2], bucket=sys.argv[3],
                 access_key_id=sys.argv[4], secret_access_key=sys.argv[5], verify=sys.argv[6],
                 prefix=sys.argv[7], multipart_threshold=5 << 20, part_size=5 << 20)
files = sys.argv[8:]
t = transports.create(T, site='lyon-b12')
kw = {}
start = datetime(2026, 12, 1, tzinfo=timezone.utc)
for i, path in enumerate(files):
    s = start + timedelta(hours=i)
    if getattr(transports, 'takes_meta', lambda t: False)(t):
        kw = {'meta': {'start': s, 'end': s + timedelta(hours=1), 'events': 1000}}
    t.send(path, 'lyon-b12_hourly_%02d.csv.gz' % i, job='hourly', start=s, **kw)
t.close()
'''


def run(tree, relay, peer, ca, prefix, files):
    relay.reset()
    ak, sk = peer.identities['gw']
    env = dict(os.environ, PYTHONPATH=tree)
    # cwd outside both trees: python -c puts the current directory first on sys.path
    subprocess.run([sys.executable, '-c', CLIENT, 'https://127.0.0.1:%d' % relay.port, REGION,
                    BUCKET, ak, sk, ca, prefix] + files, env=env, check=True, timeout=600,
                   cwd=os.path.dirname(tree))
    return relay.connections, relay.up, relay.down


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--windows', type=int, default=24)
    ap.add_argument('--size', type=int, default=20000)
    ap.add_argument('--multi', type=int, default=20 << 20)
    ap.add_argument('--base', default='70032f6')
    args = ap.parse_args()
    why = seaweedfs_usable()
    if why:
        sys.exit(why)
    with tempfile.TemporaryDirectory(prefix='s3ka-') as tmp:
        base = os.path.join(tmp, 'base')
        os.makedirs(base)
        subprocess.run('git -C %s archive %s pycstbox | tar -x -C %s' % (ROOT, args.base, base),
                       shell=True, check=True)
        pki = make_test_pki(os.path.join(tmp, 'pki'))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert, pki.key)
        small = []
        for i in range(args.windows):
            small.append(os.path.join(tmp, 'w%d' % i))
            with open(small[-1], 'wb') as f:
                f.write(os.urandom(args.size))
        big = os.path.join(tmp, 'big')
        with open(big, 'wb') as f:
            f.write(os.urandom(args.multi))
        with SeaweedPeer(os.path.join(tmp, 'weed')) as peer, \
                CountingRelay('127.0.0.1', peer.ports[6], tls=ctx) as tls, \
                CountingRelay('127.0.0.1', tls.port) as relay:
            print('%-10s %-9s %8s %12s %12s %14s %12s' % (
                'scenario', 'code', 'windows', 'connections', 'bytes', 'overhead/win',
                'conn/win'))
            for scenario, files in (('single', small), ('multipart', [big])):
                payload = sum(os.path.getsize(f) for f in files)
                for label, tree in (('A ' + args.base, base), ('B tree', ROOT)):
                    conns, up, down = run(tree, relay, peer, pki.ca,
                                          '%s-%s/' % (scenario, label[0]), files)
                    n = len(files)
                    print('%-10s %-9s %8d %12d %12d %14.0f %12.2f' % (
                        scenario, label[:9], n, conns, up + down, (up + down - payload) / n,
                        conns / n))


if __name__ == '__main__':
    main()
