"""Benchmark: a 100 MB file to a real SeaweedFS over loopback, the s3 transport vs curl.

Usage (from the repository root; SeaweedFS from .ci/install-deps)::

    /usr/bin/python3 bench/s3_upload.py [--size-mb 100] [--pairs 5]

A = ``curl --aws-sigv4`` (one PUT, ``UNSIGNED-PAYLOAD``: curl hashes nothing), B = a
Python process that creates the s3 transport and sends the file with the default
settings (64MiB threshold -> multipart, 8MiB parts, each SHA-256 hashed from the file,
plus x-amz-content-sha256 signed).  Each upload is its own process (interpreter start
and imports included on B's side); interleaved pairs A B A B ... after a warm-up
(bench/pairs.py), per-pair ratios, CPU seconds and peak RSS.  The data: a realistic
day file of ``cbx-evtdb generate`` (text events), repeated to the size.
Goals (issue 12): >= 0.8x curl's throughput including hashing, peak RSS < 40 MB.
"""

import argparse
import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import pairs  # noqa: E402
from tests.peers.seaweedfs import BUCKET, REGION, SeaweedPeer, seaweedfs_usable  # noqa: E402

SENDER = '''
import sys, types
from pycstbox.export import transports
endpoint, ak, sk, path, threshold = sys.argv[1:]
opts = dict(endpoint=endpoint, region=%r, bucket=%r, access_key_id=ak, secret_access_key=sk,
            multipart_threshold=int(threshold))
t = transports.create(types.SimpleNamespace(name='bench', type='s3', options=opts), site='b')
print(t.send(path, 'bench.csv', job='py').checksum)
''' % (REGION, BUCKET)


def make_file(tmp, size):
    """``size`` bytes of realistic event text (a generated day, repeated)."""
    day = datetime.date(2026, 11, 20)
    pairs.realistic_day(os.path.join(tmp, 'db'), day)
    from pycstbox.evtdb import fsys
    src = fsys.day_path(os.path.join(tmp, 'db'), 'sensor', day)
    path = os.path.join(tmp, 'payload.csv')
    with open(path, 'wb') as out:
        left = size
        while left > 0:
            with open(src, 'rb') as f:
                for chunk in iter(lambda: f.read(1 << 20), b''):
                    out.write(chunk[:left])
                    left -= min(left, len(chunk))
                    if not left:
                        break
    return path


def sample(cmd):
    """Run ``cmd``: a pairs.Sample whose peak RSS is the child's own VmHWM, polled from
    /proc (ru_maxrss of a forked child counts pages of this process)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=pairs.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    hwm = 0.0
    while proc.poll() is None:
        try:
            with open('/proc/%d/status' % proc.pid) as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        hwm = max(hwm, int(line.split()[1]) / 1024.0)
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit('failed (%d): %s\n%s' % (proc.returncode, cmd[0], err.decode()))
    return pairs.Sample(wall, 0.0, 0.0, hwm, out.decode())


def timed(cmd):
    """sample() plus the CPU seconds (user + system) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = sample(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return s._replace(cpu=cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--size-mb', type=int, default=100)
    ap.add_argument('--pairs', type=int, default=5)
    ap.add_argument('--threshold-mib', type=int, default=64,
                    help='multipart_threshold of B in MiB (default 64: multipart, 8MiB '
                         'parts; 128: one PUT like curl)')
    args = ap.parse_args()
    why = seaweedfs_usable()
    if why:
        raise SystemExit(why)
    with tempfile.TemporaryDirectory(prefix='s3bench-') as tmp, \
            SeaweedPeer(os.path.join(tmp, 'weed')) as peer:
        path = make_file(tmp, args.size_mb * 1000 * 1000)
        ak, sk = peer.identities['gw']
        url = '%s/%s/curl/bench.csv' % (peer.endpoint, BUCKET)
        curl = ['curl', '-sS', '--fail', '-o', '/dev/null', '--aws-sigv4',
                'aws:amz:%s:s3' % REGION, '--user', '%s:%s' % (ak, sk),
                '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-T', path, url]
        ours = [pairs.PY, '-c', SENDER, peer.endpoint, ak, sk, path,
                str(args.threshold_mib << 20)]
        samples = pairs.interleave(lambda: timed(curl), lambda: timed(ours),
                                   pairs=args.pairs)
        pairs.report('%d MB to SeaweedFS over loopback, multipart_threshold %dMiB (B includes '
                     'interpreter start, imports and the SHA-256 of every part)'
                     % (args.size_mb, args.threshold_mib),
                     'A curl --aws-sigv4', 'B s3 transport', samples,
                     goal='B/A throughput >= 0.8, B peak RSS < 40 MB')
        mb = args.size_mb
        for name, side in (('curl', 0), ('s3', 1)):
            print('   %s MB/s: %s' % (name, pairs.spread(mb / p[side].wall for p in samples)))


if __name__ == '__main__':
    main()
