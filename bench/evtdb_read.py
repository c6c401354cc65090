"""Benchmark: paged reads of a 1,000,000-event day served by ``cbx-evtdb``.

Prints, for the client's paged read (``EventStoreClient.events``) and for a
bare dbus-python loop fetching the same events in fixed 10k-event chunks (the
baseline, measured in the same run): events/s and peak RSS of the reading
process; the ratio; and the client's peak RSS at 100k vs 1M events.

    cd /work/main && /usr/bin/python3 bench/evtdb_read.py [--events 1000000] [--runs 2]

Goals (issue 3): client >= 0.9x baseline events/s; peak RSS < 50 MB and within
1.2x between 100k and 1M events.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

BIG_DAY, SMALL_DAY = date(2026, 11, 27), date(2026, 11, 28)


def _vmhwm_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def worker(mode, address, day, count, prefetch):
    """Read one day in this process; print a JSON line with the figures."""
    start = datetime(day.year, day.month, day.day)
    end = start + timedelta(days=1)
    t0 = time.perf_counter()
    n = calls = 0
    if mode == 'client':
        from pycstbox.evtdb.client import EventStoreClient
        client = EventStoreClient(address, pipeline=prefetch)
        for _ in client.events(start, end):
            n += 1
        calls = client.stats['calls']
        client.close()
    else:
        import dbus
        conn = dbus.bus.BusConnection(address)
        step = timedelta(seconds=86400 * 10000 / count)
        lo = start
        while lo < end:
            hi = min(lo + step, end)
            reply = conn.call_blocking(
                'fr.cstb.cstbox.EventDatabase', '/sensor', 'fr.cstb.cstbox.EventDatabase',
                'get_events', 'a{sv}',
                ({'from_time': lo.strftime('%Y-%m-%d %H:%M:%S.%f'),
                  'to_time': (hi - timedelta(microseconds=1)).strftime('%Y-%m-%d %H:%M:%S.%f')},),
                timeout=60)
            n += len(reply)
            calls += 1
            del reply
            lo = hi
        conn.close()
    seconds = time.perf_counter() - t0
    print(json.dumps({'events': n, 'seconds': seconds, 'rate': n / seconds,
                      'rss_mb': _vmhwm_mb(), 'calls': calls}))


def run_worker(mode, address, day, count, prefetch=True):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), '--worker', mode,
                          '--address', address, '--day', day.isoformat(),
                          '--events', str(count)] + ([] if prefetch else ['--no-prefetch']),
                         capture_output=True, text=True, timeout=600, check=True,
                         env=dict(os.environ, PYTHONPATH=REPO))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--events', type=int, default=1000000)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--worker', choices=['client', 'baseline'])
    parser.add_argument('--address')
    parser.add_argument('--day', type=date.fromisoformat)
    parser.add_argument('--no-prefetch', action='store_true')
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.address, args.day, args.events, not args.no_prefetch)

    from tests.peers.evtdb import evtdb_bus, write_dense_day
    tmp = tempfile.mkdtemp(prefix='evtdb-bench-')
    root = os.path.join(tmp, 'root')
    small = args.events // 10
    write_dense_day(root, BIG_DAY, args.events)
    write_dense_day(root, SMALL_DAY, small)
    with evtdb_bus(tmp, root, max_events=max(200000, args.events)) as address:
        # warm the service's day index and the page cache
        run_worker('baseline', address, BIG_DAY, args.events)
        results = {}
        for _ in range(args.runs):
            for name, mode, day, count, prefetch in (
                    ('baseline', 'baseline', BIG_DAY, args.events, True),
                    ('client', 'client', BIG_DAY, args.events, True),
                    ('client-nopipeline', 'client', BIG_DAY, args.events, False),
                    ('client-small', 'client', SMALL_DAY, small, True)):
                r = run_worker(mode, address, day, count, prefetch)
                best = results.get(name)
                if best is None or r['rate'] > best['rate']:
                    results[name] = r
    for name, r in results.items():
        print('%-18s %8d events %6.2f s %9.0f events/s  peak RSS %5.1f MB  %d calls'
              % (name, r['events'], r['seconds'], r['rate'], r['rss_mb'], r['calls']))
    base, cli = results['baseline'], results['client']
    print('ratio client/baseline events/s: %.2fx (without pipelining: %.2fx)'
          % (cli['rate'] / base['rate'], results['client-nopipeline']['rate'] / base['rate']))
    print('client peak RSS %d events: %.1f MB, %d events: %.1f MB, ratio %.2fx'
          % (small, results['client-small']['rss_mb'], args.events, cli['rss_mb'],
             cli['rss_mb'] / results['client-small']['rss_mb']))
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
