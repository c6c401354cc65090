"""Benchmark: client CPU per event of a paged D-Bus read against a bare dbus-python loop.

    cd /work/main && /usr/bin/python3 bench/evtdb_read.py [--root DIR] [--pairs 5] [--base REV]

A realistic day (``cbx-evtdb generate --sensors 180 --interval 10``: ~1.03M events,
kept in DIR when given) served by ``cbx-evtdb`` on a private bus.  A = a bare
dbus-python loop fetching the day in 10k-event calls and only unpacking the
replies (``get_args_list``); B = ``EventStoreClient.events()`` over the same day
(decoded ``Event`` objects).  Interleaved pairs (bench/pairs.py): wall, CPU of the
reader, CPU of cbx-evtdb + dbus-daemon, peak RSS.
Goal (issue 15): client CPU <= 1.5x the bare loop's (per pair, median).
``--base REV``: then pairs of the client of git revision REV (A) and this one (B).
"""

import argparse
import os
import sys
import tempfile
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pairs  # noqa: E402

DAY = date(2026, 11, 27)
BARE = r'''
import sys
from datetime import datetime, timedelta
import dbus
conn = dbus.bus.BusConnection(sys.argv[1])
start = datetime(2026, 11, 27)
end = start + timedelta(days=1)
step = timedelta(seconds=86400 * 10000 / int(sys.argv[2]))
n, lo = 0, start
while lo < end:
    hi = min(lo + step, end)
    msg = dbus.lowlevel.MethodCallMessage('fr.cstb.cstbox.EventDatabase', '/sensor',
                                          'fr.cstb.cstbox.EventDatabase', 'get_events')
    msg.append({'from_time': lo.strftime('%Y-%m-%d %H:%M:%S.%f'),
                'to_time': (hi - timedelta(microseconds=1)).strftime('%Y-%m-%d %H:%M:%S.%f')},
               signature='a{sv}')
    reply = conn.send_message_with_reply_and_block(msg, 60)
    n += len(reply.get_args_list()[0])
    lo = hi
print(n)
'''
CLIENT = r'''
import sys
from datetime import datetime, timezone
from pycstbox.evtdb.client import EventStoreClient
c = EventStoreClient(sys.argv[1], timeout=60)
n = 0
for e in c.events(datetime(2026, 11, 27, tzinfo=timezone.utc),
                  datetime(2026, 11, 28, tzinfo=timezone.utc)):
    n += 1
print(n)
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', help='keep the generated day files here')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--base', metavar='REV',
                        help='also pair the client of git revision REV (A) with this one (B)')
    args = parser.parse_args()
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        root = args.root or os.path.join(tmp, 'root')
        events = pairs.realistic_day(root, DAY)
        with private_bus(tmp) as address, \
                evtdb_service(address, root, max_events=200000) as service:
            watch = (service.pid, bus_pid(address))
            bare = lambda: pairs.run([pairs.PY, '-c', BARE, address, str(events)], watch)  # noqa
            client = lambda: pairs.run([pairs.PY, '-c', CLIENT, address], watch)  # noqa
            samples = pairs.interleave(bare, client, args.pairs)
            assert all(int(a.out) == events == int(b.out) for a, b in samples)
            pairs.report('D-Bus read of one day: A = bare dbus-python loop, B = EventStoreClient',
                         'A bare loop', 'B client', samples, events, pairs.GENERATOR,
                         'client CPU <= 1.5x the bare loop (CPU B/A <= 1.5)')
            if args.base:
                old = pairs.checkout(args.base, os.path.join(tmp, 'base'))
                samples = pairs.interleave(
                    lambda: pairs.run([pairs.PY, '-c', CLIENT, address], watch, path=old),
                    client, args.pairs)
                pairs.report('D-Bus read of one day: A = EventStoreClient of %s, B = this one'
                             % args.base, 'A client %s' % args.base, 'B client', samples,
                             events, pairs.GENERATOR)
    return 0


if __name__ == '__main__':
    sys.exit(main())
