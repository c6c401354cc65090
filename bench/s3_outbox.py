"""Benchmark: 1,000 small outbox files through cbx-exportd to a real SeaweedFS, vs a curl loop.

Usage (from the repository root; SeaweedFS from .ci/install-deps)::

    /usr/bin/python3 bench/s3_outbox.py [--files 1000] [--pairs 5]

One daemon (subprocess) with an s3 target, started once.  Each pair: A = one
``curl --aws-sigv4`` process per file (PUT, UNSIGNED-PAYLOAD), B = the same number
of files renamed at once into ``outbox/lake/`` of the daemon, timed from the first
rename until the outbox is empty (every file confirmed by the store and removed).
Interleaved A B A B ... after a warm-up, per-pair ratio of files/s (B/A: above 1,
the daemon is faster), median and min-max, and the daemon's CPU seconds per batch.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import pairs  # noqa: E402
from tests.peers.seaweedfs import BUCKET, REGION, SeaweedPeer, seaweedfs_usable  # noqa: E402


def make_files(directory, n, tag):
    os.makedirs(directory)
    for i in range(n):
        with open(os.path.join(directory, '%s-%05d.csv' % (tag, i)), 'wb') as f:
            f.write(b'timestamp,msec,var_type,var_name,value,units\n'
                    b'2026-11-28 00:00:%02d,0,energy,main,%d,Wh\n' % (i % 60, i))
    return sorted(os.listdir(directory))


def start_daemon(tmp, peer):
    ak, sk = peer.identities['gw']
    state = os.path.join(tmp, 'state')
    cfg = os.path.join(tmp, 'export.toml')
    with open(cfg, 'w') as f:
        f.write('site = "bench"\nstate_dir = "%s"\ntimezone = "UTC"\n\n[targets.lake]\n'
                'type = "s3"\nendpoint = "%s"\nregion = "%s"\nbucket = "%s"\n'
                'access_key_id = "%s"\nsecret_access_key = "%s"\n'
                % (state, peer.endpoint, REGION, BUCKET, ak, sk))
    os.chmod(cfg, 0o600)
    env = dict(pairs.env(), CBX_EXPORT_RUNTIME_DIR=os.path.join(tmp, 'run'))
    log = open(os.path.join(tmp, 'daemon.log'), 'wb')
    proc = subprocess.Popen([pairs.PY, '-m', 'pycstbox.export.daemon', '-c', cfg, '-L', 'WARN'],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while not os.path.exists(os.path.join(tmp, 'run', 'status.json')):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit('the daemon did not start (see %s)' % log.name)
        time.sleep(0.01)
    return proc, log, os.path.join(state, 'outbox', 'lake')


def daemon_batch(tmp, proc, outbox, n, tag):
    src = os.path.join(tmp, 'drop-' + tag)
    names = make_files(src, n, tag)
    cpu0 = pairs.proc_cpu(proc.pid)
    t0 = time.perf_counter()
    for name in names:
        os.rename(os.path.join(src, name), os.path.join(outbox, name))
    deadline = time.monotonic() + 600
    while os.listdir(outbox):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit('the outbox did not drain (%d left)' % len(os.listdir(outbox)))
        time.sleep(0.01)
    return pairs.Sample(time.perf_counter() - t0, pairs.proc_cpu(proc.pid) - cpu0, 0.0, 0.0, '')


def curl_batch(tmp, peer, n, tag):
    ak, sk = peer.identities['gw']
    src = os.path.join(tmp, 'curl-' + tag)
    names = make_files(src, n, tag)
    before = os.times()
    t0 = time.perf_counter()
    for name in names:
        subprocess.run(['curl', '-sS', '-f', '-o', '/dev/null', '--aws-sigv4',
                        'aws:amz:%s:s3' % REGION, '--user', '%s:%s' % (ak, sk),
                        '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD',
                        '-T', os.path.join(src, name),
                        '%s/%s/curl/%s' % (peer.endpoint, BUCKET, name)], check=True, timeout=30)
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return pairs.Sample(time.perf_counter() - t0, cpu, 0.0, 0.0, '')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--files', type=int, default=1000)
    ap.add_argument('--pairs', type=int, default=5)
    args = ap.parse_args()
    why = seaweedfs_usable()
    if why:
        raise SystemExit(why)
    n = args.files
    with tempfile.TemporaryDirectory(prefix='s3outbox-') as tmp, \
            SeaweedPeer(os.path.join(tmp, 'weed')) as peer:
        proc, log, outbox = start_daemon(tmp, peer)
        try:
            count = iter(range(1000))
            samples = pairs.interleave(
                lambda: curl_batch(tmp, peer, n, 'c%d' % next(count)),
                lambda: daemon_batch(tmp, proc, outbox, n, 'd%d' % next(count)),
                pairs=args.pairs)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            log.close()
    print('\n== %d small files per batch to SeaweedFS over loopback' % n)
    print('   %d interleaved pairs (A B A B ...), median (min-max)' % len(samples))
    for name, side in (('A curl --aws-sigv4, 1 process per file', 0),
                       ('B cbx-exportd outbox lane', 1)):
        col = [p[side] for p in samples]
        print('   %s: %s files/s, wall %s s, CPU %s s' % (
            name, pairs.spread((n / s.wall for s in col), '%.0f'),
            pairs.spread(s.wall for s in col), pairs.spread(s.cpu for s in col)))
    print('   per pair: files/s B/A %s' % pairs.spread(a.wall / b.wall for a, b in samples))


if __name__ == '__main__':
    main()
