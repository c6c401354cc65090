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
- ``quirky``: A = the bare script made tolerant (it skips what it cannot split or parse),
  B = ``cbx-export export`` with ``read = "files"``, both on a *quirky* day: the
  ``--quirky-sensors`` day (~300k events) with the odd lines real CSTBox day files hold
  (short timestamps, empty lines, lines of other days, 4 and 6 fields, CRLF lines, one
  with an empty data field, bad JSON, an unfinished last line).  Goal: throughput and
  CPU B/A >= 0.8, peak RSS of B < 40 MB, the day read from its file (not over D-Bus), and
  the same bytes as the D-Bus export of that day (checked once, after the pairs).
- ``dbusloop``: A = a bare dbus-python paging loop (10k-event ``get_events`` calls,
  replies only unpacked and counted), B = ``cbx-export export`` csv.gz with
  ``read = "dbus"``, both over the same ``--loop-sensors`` day (~150k events).  Goal: CPU
  of the whole pipeline (reader + cbx-evtdb + dbus-daemon) B/A <= 1.5, peak RSS of both
  < 40 MB.
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


BARE_TOLERANT = BARE.replace(
    "        t, vt, vn, v, d = line.rstrip('\\n').split('\\t')\n",
    "        try:\n"
    "            t, vt, vn, v, d = line.rstrip('\\r\\n').split('\\t')\n"
    "            u = units.get(d)\n"
    "            if u is None:\n"
    "                u = units[d] = (json.loads(d) if d else {}).get('unit', '')\n"
    "            msec = int(t[14:17])\n"
    "        except (ValueError, AttributeError):\n"
    "            continue\n").replace(
    "        u = units.get(d)\n        if u is None:\n"
    "            u = units[d] = json.loads(d).get('unit', '')\n", '').replace(
    "int(t[14:17]), vt", "msec, vt")
LOOP = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'evtdb_read.py'),
            encoding='utf-8').read().split("BARE = r\'\'\'")[1].split("\'\'\'")[0]


def quirky_day(src, dst):
    """Copy the day file ``src`` to ``dst`` with the odd lines of real day files; returns
    the number of odd lines added or changed."""
    with open(src, 'rb') as f:
        lines = f.read().split(b'\n')[:-1]
    step = len(lines) // 40
    odd = 0
    for k in range(1, 40):
        i = k * step
        kind = k % 8
        line = lines[i]
        if kind == 0:                 # short timestamp: same time, trailing zeros cut
            ts, rest = line.split(b'\t', 1)
            lines[i] = ts.rstrip(b'0').rstrip(b'.') + b'\t' + rest
        elif kind == 1:
            lines[i] = line + b'\n'      # an empty line after it
        elif kind == 2:               # a line of the day before
            lines[i] = line + b'\n' + b'261126' + line[6:]
        elif kind == 3:
            lines[i] = line + b'\n' + line.rsplit(b'\t', 1)[0]         # 4 fields
        elif kind == 4:
            lines[i] = line + b'\r'                                     # CRLF
        elif kind == 5:
            lines[i] = line.rsplit(b'\t', 1)[0] + b'\t\r'               # CRLF, empty data
        elif kind == 6:
            lines[i] = line + b'\n' + line.rsplit(b'\t', 1)[0] + b'\t{"unit": '   # bad JSON
        else:
            lines[i] = line.replace(b'\t', b'\t\t', 1)                  # 6 fields
        odd += 1
    with open(dst, 'wb') as f:
        f.write(b'\n'.join(lines) + b'\n' + lines[-1][:30])    # + an unfinished last line
    return odd + 1


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
    parser.add_argument('--only', choices=['files', 'dbus', 'quirky', 'dbusloop', 'help'],
                        action='append')
    parser.add_argument('--quirky-sensors', type=int, default=52)
    parser.add_argument('--loop-sensors', type=int, default=25)
    parser.add_argument('--base', metavar='REV',
                        help='also pair the D-Bus export of git revision REV (A) with this one')
    args = parser.parse_args()
    only = args.only or ['files', 'dbus', 'quirky', 'dbusloop', 'help']
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    from pycstbox.evtdb import fsys
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        root = args.root or os.path.join(tmp, 'root')
        if set(only) & {'files', 'dbus'}:
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
                    pairs.report('export csv.gz from the day files: A = bare script (file + '
                                 'csv.writer + zlib 6), B = cbx-export export (read = "files")',
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
        if 'quirky' in only:
            quirky(tmp, args)
        if 'dbusloop' in only:
            dbus_loop(tmp, args)
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


def quirky(tmp, args):
    """Pairs of the bare script and the fast path on a quirky day (see the docstring)."""
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    from pycstbox.evtdb import fsys
    base = os.path.join(args.root or tmp, 'quirky-source')
    events = pairs.realistic_day(base, DAY, sensors=args.quirky_sensors)
    root = os.path.join(tmp, 'quirky')
    day_file = fsys.day_path(root, 'sensor', DAY)
    os.makedirs(os.path.dirname(day_file))
    odd = quirky_day(fsys.day_path(base, 'sensor', DAY), day_file)
    out_a, out_b, out_c = (os.path.join(tmp, n) for n in ('qa.csv.gz', 'qb.csv.gz', 'qc.csv.gz'))
    with private_bus(tmp) as address, \
            evtdb_service(address, root, max_events=200000) as service:
        watch = (service.pid, bus_pid(address))
        cfg = config(tmp, 'quirky-files.toml', address, 'files', root)
        samples = pairs.interleave(
            lambda: pairs.run([pairs.PY, '-c', BARE_TOLERANT, day_file, out_a], watch),
            lambda: pairs.run(export_cmd(cfg, out_b), watch), args.pairs)
        pairs.report('export csv.gz of a QUIRKY day from its file: A = bare script (tolerant), '
                     'B = cbx-export export (read = "files")', 'A bare script',
                     'B export files', samples, events,
                     pairs.GENERATOR.replace('180', str(args.quirky_sensors)) +
                     ' + %d odd lines' % odd,
                     'throughput B/A >= 0.8 and events per CPU-second B/A >= 0.8, '
                     'peak RSS of B < 40 MB')
        print('   per pair: events per CPU-second B/A %s'
              % pairs.spread(a.cpu / b.cpu for a, b in samples))
        from datetime import datetime, timezone
        from pycstbox.evtdb.client import EventStoreClient
        from pycstbox.evtdb.source import FileSource
        with FileSource(EventStoreClient(address), root) as src:
            start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc)
            count = sum(1 for _ in src.events(start, start + pairs.ONE_DAY))
            print('   %d events, day read from its file: %s (source stats %s)'
                  % (count, src.stats['files'] == 1 and not src.stats['dbus_days'], src.stats))
        cfg = config(tmp, 'quirky-dbus.toml', address, 'dbus', root)
        pairs.run(export_cmd(cfg, out_c), watch)
        same = gzip.open(out_b).read() == gzip.open(out_c).read()
        print('   same bytes as the D-Bus export of that day (gunzipped): %s' % same)


def dbus_loop(tmp, args):
    """Pairs of the bare dbus-python paging loop and the D-Bus export (see the docstring)."""
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    root = os.path.join(args.root or tmp, 'loop')
    events = pairs.realistic_day(root, DAY, sensors=args.loop_sensors)
    out = os.path.join(tmp, 'loop.csv.gz')
    with private_bus(tmp) as address, \
            evtdb_service(address, root, max_events=200000) as service:
        watch = (service.pid, bus_pid(address))
        cfg = config(tmp, 'loop.toml', address, 'dbus', root)
        samples = pairs.interleave(
            lambda: pairs.run([pairs.PY, '-c', LOOP, address, str(events)], watch),
            lambda: pairs.run(export_cmd(cfg, out), watch), args.pairs)
        assert all(int(a.out) == events for a, _ in samples)
        pairs.report('D-Bus export vs bare paging loop: A = bare dbus-python loop (unpack and '
                     'count), B = cbx-export export csv.gz (read = "dbus")', 'A bare loop',
                     'B export dbus', samples, events,
                     pairs.GENERATOR.replace('180', str(args.loop_sensors)),
                     'CPU incl. store/bus B/A <= 1.5, peak RSS < 40 MB (both)')


if __name__ == '__main__':
    sys.exit(main())
