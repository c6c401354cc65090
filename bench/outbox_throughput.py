#!/usr/bin/python3
"""Outbox throughput of cbx-exportd against a loop of ``curl`` uploads, same run, same server.

1,000 small files are renamed at once into ``outbox/web/`` of a running daemon
(subprocess, HTTP PUT target on a local ``HttpPeer``); the time from the first
rename to the last upload received gives files/s.  The baseline uploads the same
files with one ``curl -T`` process per file to the same server.  Prints both and
the ratio (daemon / curl; above 1 means the daemon is faster).
Usage: /usr/bin/python3 bench/outbox_throughput.py [N]
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
from tests.peers.http import HttpPeer  # noqa: E402


def make_files(directory, n):
    os.makedirs(directory)
    names = []
    for i in range(n):
        name = 'f%05d.csv' % i
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
        t0 = time.perf_counter()
        for name in names:
            os.rename(os.path.join(src, name), os.path.join(outbox, name))
        wait_uploads(peer, n, 300)
        elapsed = time.perf_counter() - t0
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
    return elapsed, left, delivered


def bench_curl(tmp, peer, n):
    src = os.path.join(tmp, 'curl')
    names = make_files(src, n)
    before = len(peer.uploads)
    t0 = time.perf_counter()
    for name in names:
        subprocess.run(['curl', '-sS', '-f', '-o', '/dev/null', '-T', os.path.join(src, name),
                        '-H', 'Idempotency-Key: bench-outbox-' + name,
                        '%s/curl/%s' % (peer.url, name)], check=True, timeout=30)
    elapsed = time.perf_counter() - t0
    assert len(peer.uploads) - before == n
    return elapsed


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix='outbox-bench-') as tmp:
        with HttpPeer(os.path.join(tmp, 'http')) as peer:
            d_time, left, delivered = bench_daemon(tmp, peer, n)
            c_time = bench_curl(tmp, peer, n)
    d_rate, c_rate = n / d_time, n / c_time
    print('files                  : %d (small CSV, HTTP PUT to 127.0.0.1)' % n)
    print('cbx-exportd outbox     : %.2f s, %.0f files/s (left in outbox: %d, status '
          'delivered: %d)' % (d_time, d_rate, left, delivered))
    print('curl loop (1 per file) : %.2f s, %.0f files/s' % (c_time, c_rate))
    print('ratio daemon/curl      : %.2f' % (d_rate / c_rate))


if __name__ == '__main__':
    main()
