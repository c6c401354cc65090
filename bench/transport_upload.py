"""Benchmark: upload a 100 MB file over loopback with http, ftp and sftp, and with curl.

Usage (from the repository root, as root for sftp)::

    /usr/bin/python3 bench/transport_upload.py [--size-mb 100] [--runs 3]

The receivers are the test peers (tests/peers: threaded HTTP server, pyftpdlib, OpenSSH
sshd), started once.  Each upload runs in its own subprocess, so that its peak RSS
is its own; the best time of ``--runs`` is kept (the transfer itself: ``send()`` or
curl's ``time_total``, not the interpreter's start).  Prints MB/s, peak RSS and
the ratio to curl on the same server.  Goals: http and ftp >= 0.9x curl, peak RSS < 40 MB.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.peers.ftp import FtpPeer  # noqa: E402
from tests.peers.http import HttpPeer  # noqa: E402
from tests.peers.sshd import SshdPeer, sshd_usable  # noqa: E402

RUNNER = '''
import sys, time, types
from pycstbox.export import transports
type_, path, name, *kv = sys.argv[1:]
opts = dict(a.split('=', 1) for a in kv)
for k in ('port',):
    if k in opts: opts[k] = int(opts[k])
t = transports.create(types.SimpleNamespace(name='bench', type=type_, options=opts))
started = time.perf_counter()
t.send(path, name, job='bench')
elapsed = time.perf_counter() - started
t.close()
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]
print(elapsed, int(hwm) / 1024.0)
'''


def run(cmd):
    """Run ``cmd``; return (transfer seconds, peak RSS in MB) of that process.

    Python uploads report the duration of ``send()`` and their VmHWM themselves; curl
    reports ``time_total`` (-w) and its VmHWM is polled from /proc.  (ru_maxrss of a
    child would count the pages of this process, forked before exec.)
    """
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    hwm = 0.0
    status = '/proc/%d/status' % proc.pid
    while proc.poll() is None:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        hwm = max(hwm, int(line.split()[1]) / 1024.0)
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    out = proc.stdout.read().split()
    proc.stdout.close()
    if proc.returncode or not out:
        raise SystemExit('failed (%d): %s' % (proc.returncode, ' '.join(cmd)))
    if len(out) > 1:
        hwm = float(out[1])
    return float(out[0]), hwm


def best(make_cmd, runs, clean):
    """Best time and peak RSS of ``runs`` runs (each with its own remote name)."""
    results = []
    for i in range(runs):
        results.append(run(make_cmd('r%d.bin' % i)))
        clean()
    return min(r[0] for r in results), max(r[1] for r in results)


def cleaner(*dirs):
    """Remove what the receivers stored (outside the timing: no cache/disk carry-over)."""
    def clean():
        for top in dirs:
            for base, _, files in os.walk(top):
                for name in files:
                    os.unlink(os.path.join(base, name))
        os.sync()
    return clean


CURL = ['curl', '-sS', '-w', '%{time_total}\\n']


def transport(type_, path, name, **opts):
    return [sys.executable, '-c', RUNNER, type_, path, name] + [
        '%s=%s' % kv for kv in opts.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size-mb', type=int, default=100)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        path = os.path.join(tmp, 'data.bin')
        with open(path, 'wb') as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1024 * 1024))
        size_mb = os.path.getsize(path) / 1e6
        rows = []
        with HttpPeer(os.path.join(tmp, 'http')) as web, \
                FtpPeer(os.path.join(tmp, 'ftp')) as ftp:
            curl_ftp = 'ftp://user:%s@127.0.0.1:%d/' % (ftp.password, ftp.port)
            cases = [
                ('curl http POST', None, lambda n: CURL + [
                    '-o', '/dev/null', '-F', 'file=@%s;filename=%s' % (path, n),
                    web.url + '/up/' + n]),
                ('http POST', 'curl http POST', lambda n: transport(
                    'http', path, n, url=web.url + '/up/{name}')),
                ('curl http PUT', None, lambda n: CURL + [
                    '-o', '/dev/null', '-T', path, web.url + '/up/' + n]),
                ('http PUT', 'curl http PUT', lambda n: transport(
                    'http', path, n, url=web.url + '/up/{name}', method='PUT')),
                ('curl ftp', None, lambda n: CURL + ['-T', path, curl_ftp + n]),
                ('ftp', 'curl ftp', lambda n: transport(
                    'ftp', path, n, host='127.0.0.1', port=ftp.port, user='user',
                    password=ftp.password)),
            ]
            clean = cleaner(web.root, ftp.root)
            for label, baseline, make_cmd in cases:
                rows.append((label, baseline) + best(make_cmd, args.runs, clean))
            if not sshd_usable():
                with SshdPeer(os.path.join(tmp, 'sshd')) as sshd:
                    rows.append(('sftp', None) + best(lambda n: transport(
                        'sftp', path, n, host='127.0.0.1', port=sshd.port, user='root',
                        key_file=sshd.client_key, known_hosts=sshd.known_hosts,
                        directory=sshd.dir), args.runs, cleaner(sshd.dir)))
            else:
                print('sftp skipped: %s' % sshd_usable())
        times = {label: secs for label, _, secs, _ in rows}
        print('%d MB file over loopback, best of %d runs' % (size_mb, args.runs))
        print('%-16s %8s %9s %12s %14s' % ('case', 'seconds', 'MB/s', 'peak RSS MB',
                                             'speed vs curl'))
        for label, baseline, secs, rss in rows:
            ratio = '%.2fx' % (times[baseline] / secs) if baseline else ''
            print('%-16s %8.2f %9.1f %12.1f %14s' % (label, secs, size_mb / secs, rss, ratio))


if __name__ == '__main__':
    main()
