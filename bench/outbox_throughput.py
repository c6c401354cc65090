#!/usr/bin/python3
"""Outbox throughput of cbx-exportd against a loop of ``curl`` uploads, same run, same server.

1,000 small files are renamed at once into ``outbox/web/`` of a running daemon
(subprocess, HTTP PUT target on a local ``HttpPeer``); the time from the first
rename to the last upload received gives files/s, and the daemon's CPU over that
time.  The baseline uploads the same files with one ``curl -T`` process per file to
the same server.  Interleaved pairs A = curl loop, B = daemon, each in a fresh
directory (bench/pairs.py: median and min-max per pair, CPU beside wall).
Data: one-line CSV files.  Goal: throughput B/A >= 1 (the daemon's one-time costs
are paid once, not per file).
Usage: /usr/bin/python3 bench/outbox_throughput.py [N] [--pairs 5]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from bench import pairs  # noqa: E402
from tests.peers.http import HttpPeer  # noqa: E402


def make_files(directory, n):
    os.makedirs(directory)
    names = []
    for i in range(n):
        name = '%s-f%05d.csv' % (os.path.basename(os.path.dirname(directory)), i)
        with open(os.path.join(directory, name), 'wb') as f:
            f.write(b'timestamp,value\n2026-11-28 00:00:00,%d\n' % i)
        names.append(name)
    return names


def wait_uploads(peer, count, timeout):
    deadline = time.monotonic() + timeout
    while len(peer.uploads) < count:
        if time.monotonic() > deadline:
            raise SystemExit('only %d of %d files arrived in %s s' % (len(peer.uploads), count,
                                                                      timeout))
        time.sleep(0.005)


def bench_daemon(tmp, peer, n):
    state = os.path.join(tmp, 'state')
    cfg = os.path.join(tmp, 'export.toml')
    with open(cfg, 'w') as f:
        f.write('site = "bench"\nstate_dir = "%s"\ntimezone = "UTC"\n\n[targets.web]\n'
                'type = "http"\nurl = "%s/up/{name}"\nmethod = "PUT"\n' % (state, peer.url))
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=os.path.join(tmp, 'run'))
    log = open(os.path.join(tmp, 'daemon.log'), 'wb')
    proc = subprocess.Popen([sys.executable, '-m', 'pycstbox.export.daemon', '-c', cfg,
                             '-L', 'WARN'], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status = os.path.join(tmp, 'run', 'status.json')
        deadline = time.monotonic() + 10
        while not os.path.exists(status):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit('the daemon did not start (see %s)' % log.name)
            time.sleep(0.01)
        src = os.path.join(tmp, 'drop')
        names = make_files(src, n)
        outbox = os.path.join(state, 'outbox', 'web')
        before = len(peer.uploads)
        cpu0 = pairs.proc_cpu(proc.pid)
        t0 = time.perf_counter()
        for name in names:
            os.rename(os.path.join(src, name), os.path.join(outbox, name))
        wait_uploads(peer, before + n, 300)
        elapsed = time.perf_counter() - t0
        cpu = pairs.proc_cpu(proc.pid) - cpu0
        deadline = time.monotonic() + 10
        delivered = 0
        while time.monotonic() < deadline:
            with open(status) as f:
                delivered = json.load(f)['outbox']['web']['delivered']
            if delivered >= n:
                break
            time.sleep(0.05)
        left = len(os.listdir(outbox))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
    assert left == 0 and delivered >= n, (left, delivered)
    return pairs.Sample(elapsed, cpu, 0.0, 0.0, '')


def bench_curl(tmp, peer, n):
    src = os.path.join(tmp, 'curl')
    names = make_files(src, n)
    before = len(peer.uploads)
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    for name in names:
        subprocess.run(['curl', '-sS', '-f', '-o', '/dev/null', '-T', os.path.join(src, name),
                        '-H', 'Idempotency-Key: bench-outbox-' + name,
                        '%s/curl/%s' % (peer.url, name)], check=True, timeout=30)
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert len(peer.uploads) - before == n
    return pairs.Sample(elapsed, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 0.0,
                        0.0, '')


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('files', nargs='?', type=int, default=1000)
    parser.add_argument('--pairs', type=int, default=5)
    args = parser.parse_args()
    n = args.files
    with tempfile.TemporaryDirectory(prefix='outbox-bench-') as tmp:
        with HttpPeer(os.path.join(tmp, 'http')) as peer:
            counter = [0]

            def fresh():
                counter[0] += 1
                path = os.path.join(tmp, str(counter[0]))
                os.makedirs(path)
                return path

            samples = pairs.interleave(lambda: bench_curl(fresh(), peer, n),
                                       lambda: bench_daemon(fresh(), peer, n), args.pairs)
    pairs.report('%d small CSV files, HTTP PUT to 127.0.0.1: A = curl loop (one process per '
                 'file), B = cbx-exportd outbox' % n, 'A curl loop', 'B daemon', samples,
                 goal='throughput B/A >= 1')
    print('   files/s: curl %s, daemon %s' % (
        pairs.spread((n / a.wall for a, _ in samples), '%.0f'),
        pairs.spread((n / b.wall for _, b in samples), '%.0f')))


if __name__ == '__main__':
    main()
