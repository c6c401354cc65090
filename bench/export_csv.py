"""Benchmark of ``cbx-export export --format csv --compress gzip`` of a realistic day.

    cd /work/main && /usr/bin/python3 bench/export_csv.py [--root DIR] [--pairs 5] [--only NAME]
        [--base REV]

One realistic day (``cbx-evtdb generate --sensors 180 --interval 10``: ~1.03M events,
kept in DIR when given) served by ``cbx-evtdb`` on a private bus.  Three sets of
interleaved A/B pairs (bench/pairs.py: median and min-max, CPU beside wall):

- ``files``: A = a bare script (read the day file, ``csv.writer``, zlib level 6),
  B = ``cbx-export export`` with ``read = "files"``.  Goal: throughput B/A >= 0.8,
  peak RSS of B < 40 MB; the two outputs (gunzipped) are compared.
- ``dbus``: A = the client-only read (``EventStoreClient.events()``, nothing written),
  B = ``cbx-export export`` with ``read = "dbus"``.  Goal: throughput B/A >= 0.9.
- ``help``: A = ``python3 -c pass``, B = ``bin/cbx-export --help`` (the script the
  package installs), then B = ``python3 -m pycstbox.export --help`` (21 pairs each,
  byte code cached as on an installed box).  Goal: wall B/A <= 1.3 (the "throughput
  B/A" printed is its inverse: >= 0.77).
"""

import argparse
import gzip
import os
import sys
import tempfile
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pairs  # noqa: E402

DAY = date(2026, 11, 27)
CLIENT = r'''
import sys
from datetime import datetime, timezone
from pycstbox.evtdb.client import EventStoreClient
c = EventStoreClient(sys.argv[1], timeout=60)
c.flush()
n = 0
for e in c.events(datetime(2026, 11, 27, tzinfo=timezone.utc),
                  datetime(2026, 11, 28, tzinfo=timezone.utc)):
    n += 1
print(n)
'''
BARE = r'''
import csv, io, json, sys, zlib
path, out = sys.argv[1], sys.argv[2]
buf = io.StringIO()
w = csv.writer(buf, lineterminator='\r\n')
w.writerow(('timestamp', 'msec', 'var_type', 'var_name', 'value', 'units'))
z = zlib.compressobj(6, zlib.DEFLATED, 31)
units = {}
n = 0
with open(path, encoding='utf-8', errors='replace') as f, open(out, 'wb') as o:
    for line in f:
        t, vt, vn, v, d = line.rstrip('\n').split('\t')
        u = units.get(d)
        if u is None:
            u = units[d] = json.loads(d).get('unit', '')
        if v in ('None', ''):
            v = ''
        elif v not in ('True', 'False'):
            try:
                v = str(int(v))
            except ValueError:
                v = repr(float(v))
        w.writerow(('20%s-%s-%s %s:%s:%s' % (t[0:2], t[2:4], t[4:6], t[7:9], t[9:11], t[11:13]),
                    int(t[14:17]), vt, vn, v, u))
        n += 1
        if not n % 2000:
            o.write(z.compress(buf.getvalue().encode()))
            buf.seek(0)
            buf.truncate()
    o.write(z.compress(buf.getvalue().encode()))
    o.write(z.flush())
print(n)
'''


def export_cmd(cfg, out):
    return [pairs.PY, '-m', 'pycstbox.export', '-c', cfg, 'export', '--from',
            '2026-11-27T00:00Z', '--to', '2026-11-28T00:00Z', '--format', 'csv',
            '--compress', 'gzip', '-o', out]


def config(tmp, name, address, read, root):
    path = os.path.join(tmp, name)
    with open(path, 'w') as f:
        f.write('state_dir = "%s"\n[eventstore]\naddress = "%s"\ntimeout = 120\n'
                % (os.path.join(tmp, 'state'), address))
        if read:            # (a revision before issue 15 knows neither key: D-Bus only)
            f.write('read = "%s"\nroot = "%s"\n' % (read, root))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', help='keep the generated day files here')
    parser.add_argument('--pairs', type=int, default=5)
    parser.add_argument('--only', choices=['files', 'dbus', 'help'], action='append')
    parser.add_argument('--base', metavar='REV',
                        help='also pair the D-Bus export of git revision REV (A) with this one')
    args = parser.parse_args()
    only = args.only or ['files', 'dbus', 'help']
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    from pycstbox.evtdb import fsys
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        root = args.root or os.path.join(tmp, 'root')
        events = pairs.realistic_day(root, DAY)
        with private_bus(tmp) as address, \
                evtdb_service(address, root, max_events=200000) as service:
            watch = (service.pid, bus_pid(address))
            out_a, out_b = os.path.join(tmp, 'a.csv.gz'), os.path.join(tmp, 'b.csv.gz')
            if 'files' in only:
                cfg = config(tmp, 'files.toml', address, 'files', root)
                day_file = fsys.day_path(root, 'sensor', DAY)
                samples = pairs.interleave(
                    lambda: pairs.run([pairs.PY, '-c', BARE, day_file, out_a], watch),
                    lambda: pairs.run(export_cmd(cfg, out_b), watch), args.pairs)
                same = gzip.open(out_a).read() == gzip.open(out_b).read()
                pairs.report('export csv.gz from the day files: A = bare script (file + csv.writer'
                             ' + zlib 6), B = cbx-export export (read = "files")',
                             'A bare script', 'B export files', samples, events,
                             pairs.GENERATOR, 'throughput B/A >= 0.8, peak RSS of B < 40 MB')
                print('   same CSV text (gunzipped): %s' % same)
            if 'dbus' in only:
                cfg = config(tmp, 'dbus.toml', address, 'dbus', root)
                samples = pairs.interleave(
                    lambda: pairs.run([pairs.PY, '-c', CLIENT, address], watch),
                    lambda: pairs.run(export_cmd(cfg, out_b), watch), args.pairs)
                pairs.report('export csv.gz over D-Bus: A = client-only read, B = cbx-export '
                             'export (read = "dbus")', 'A client read', 'B export dbus',
                             samples, events, pairs.GENERATOR, 'throughput B/A >= 0.9')
                if args.base:
                    old = pairs.checkout(args.base, os.path.join(tmp, 'base'))
                    base_cfg = config(tmp, 'base.toml', address, None, root)
                    samples = pairs.interleave(
                        lambda: pairs.run(export_cmd(base_cfg, out_a), watch, path=old),
                        lambda: pairs.run(export_cmd(cfg, out_b), watch), args.pairs)
                    pairs.report('export csv.gz over D-Bus: A = cbx-export export of %s, B = '
                                 'this one' % args.base, 'A export %s' % args.base,
                                 'B export dbus', samples, events, pairs.GENERATOR)
                    with open(out_a, 'rb') as fa, open(out_b, 'rb') as fb:
                        print('   same bytes: %s' % (fa.read() == fb.read()))
        if 'help' in only:
            script = os.path.join(pairs.REPO, 'bin', 'cbx-export')
            for what, cmd in (('bin/cbx-export --help (the installed script)', [script]),
                              ('python3 -m pycstbox.export --help', [pairs.PY, '-m',
                                                                    'pycstbox.export'])):
                samples = pairs.interleave(
                    lambda: pairs.run([pairs.PY, '-c', 'pass']),
                    lambda: pairs.run(cmd + ['--help']), max(21, args.pairs))
                pairs.report('start-up: A = python3 -c pass, B = %s' % what,
                             'A python3 -c pass', 'B --help', samples,
                             goal='wall B/A <= 1.3, i.e. throughput B/A >= 0.77')
    return 0


if __name__ == '__main__':
    sys.exit(main())
