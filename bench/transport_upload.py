"""Benchmark: one-time cost of a transport, and its streaming throughput against curl.

Usage (from the repository root)::

    /usr/bin/python3 bench/transport_upload.py [--size-mb 100] [--pairs 5] [--only http-post]

Receivers: the test peers (tests/peers: threaded HTTP server, pyftpdlib), started once.
For each case (http POST multipart, http PUT, ftp) interleaved pairs (bench/pairs.py):
A = ``curl`` uploading the file (its ``time_total`` and CPU), B = one Python process that
imports and creates the transport, sends a 1-byte file twice, then the big file.  B is
split into:

- one-time cost = import + create + first small send - second small send (what a
  process pays once: ``requests``, session, TLS context), reported apart;
- per-file cost = the second small send;
- streaming = the ``send()`` of the big file: wall and CPU (getrusage of the process
  around the call), compared with curl's transfer per pair.

Data: random bytes (uploads do not care about content).  Goal (issue 15): streaming
>= 0.9x curl for POST and PUT; the one-time cost is paid once per process (the daemon's
lanes and a run keep their transport between files).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import pairs  # noqa: E402
from tests.peers.ftp import FtpPeer  # noqa: E402
from tests.peers.http import HttpPeer  # noqa: E402

RUNNER = r'''
import json, resource, sys, time, types
t0 = time.perf_counter()
from pycstbox.export import transports
type_, path, small, name, *kv = sys.argv[1:]
opts = dict(a.split('=', 1) for a in kv)
if 'port' in opts:
    opts['port'] = int(opts['port'])
t = transports.create(types.SimpleNamespace(name='bench', type=type_, options=opts))
t1 = time.perf_counter()
t.send(small, 's1-' + name, job='bench')
t2 = time.perf_counter()
t.send(small, 's2-' + name, job='bench')
t3 = time.perf_counter()
r0 = resource.getrusage(resource.RUSAGE_SELF)
t.send(path, name, job='bench')
r1 = resource.getrusage(resource.RUSAGE_SELF)
t4 = time.perf_counter()
t.close()
print(json.dumps({'create': t1 - t0, 'first': t2 - t1, 'second': t3 - t2, 'big': t4 - t3,
                  'big_cpu': r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime}))
'''
CURL = ['curl', '-sS', '-o', '/dev/null', '-w', '%{time_total}\\n']


def curl(cmd):
    s = pairs.run(cmd)
    return {'big': float(s.out.split()[-1]), 'big_cpu': s.cpu}


def python(cmd):
    return json.loads(pairs.run(cmd).out.strip().splitlines()[-1])


def cleaner(*dirs):
    def clean():
        for top in dirs:
            for base, _, files in os.walk(top):
                for name in files:
                    os.unlink(os.path.join(base, name))
    return clean


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size-mb', type=int, default=100)
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--only', action='append', choices=['http-post', 'http-put', 'ftp'])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        path, small = os.path.join(tmp, 'data.bin'), os.path.join(tmp, 'small.bin')
        with open(path, 'wb') as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1024 * 1024))
        with open(small, 'wb') as f:
            f.write(b'x')
        size_mb = os.path.getsize(path) / 1e6
        with HttpPeer(os.path.join(tmp, 'http')) as web, \
                FtpPeer(os.path.join(tmp, 'ftp')) as ftp:
            curl_ftp = 'ftp://user:%s@127.0.0.1:%d/' % (ftp.password, ftp.port)

            def transport(type_, name, **opts):
                return [pairs.PY, '-c', RUNNER, type_, path, small, name] + [
                    '%s=%s' % kv for kv in opts.items()]

            cases = {
                'http-post': (CURL + ['-F', 'file=@%s;filename=c.bin' % path, web.url + '/up/c.bin'],
                              transport('http', 'p.bin', url=web.url + '/up/{name}')),
                'http-put': (CURL + ['-T', path, web.url + '/up/c.bin'],
                             transport('http', 'p.bin', url=web.url + '/up/{name}', method='PUT')),
                'ftp': (CURL + ['-T', path, curl_ftp + 'c.bin'],
                        transport('ftp', 'p.bin', host='127.0.0.1', port=ftp.port, user='user',
                                  password=ftp.password)),
            }
            clean = cleaner(web.root, ftp.root)
            for case in args.only or list(cases):
                curl_cmd, py_cmd = cases[case]
                samples = []
                for i in range(args.pairs + 1):        # the first pair is the warm-up
                    a = curl(curl_cmd)
                    clean()
                    b = python(py_cmd)
                    clean()
                    if i:
                        samples.append((a, b))
                print('\n== %s: %d MB over loopback, %d interleaved pairs (curl, python), '
                      'median (min-max)' % (case, size_mb, len(samples)))
                print('   curl:      %s s, CPU %s s' % (
                    pairs.spread(a['big'] for a, _ in samples),
                    pairs.spread(a['big_cpu'] for a, _ in samples)))
                print('   streaming: %s s, CPU %s s (send() of the big file)' % (
                    pairs.spread(b['big'] for _, b in samples),
                    pairs.spread(b['big_cpu'] for _, b in samples)))
                print('   one-time:  %s s (import + create %s s, first small send %s s)' % (
                    pairs.spread((b['create'] + b['first'] - b['second'] for _, b in samples),
                                 '%.3f'),
                    pairs.spread((b['create'] for _, b in samples), '%.3f'),
                    pairs.spread((b['first'] for _, b in samples), '%.3f')))
                print('   per file:  %s s (second small send)' % pairs.spread(
                    (b['second'] for _, b in samples), '%.3f'))
                print('   per pair: streaming throughput python/curl %s (goal >= 0.9)'
                      % pairs.spread(a['big'] / b['big'] for a, b in samples))
    return 0


if __name__ == '__main__':
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
