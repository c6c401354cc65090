"""Benchmark of ``cbx-export audit``: a year of daily windows, and the cost of ``--deep``.

Run by hand (not part of the tests; root is needed for the sshd peer)::

    cd /work/main && /usr/bin/python3 bench/audit_bench.py [RUNS]

1. A year (365) of daily windows of one job, journaled, with files of a realistic size
   (a gzip csv day of 12 sensors every 60 s) at the receiver; ``audit`` against a ``dir``
   target (sizes listed, every file hashed) and an ``sftp`` target (sshd on loopback,
   sizes listed), each paired with ``cbx-export status`` (same start-up and config) as
   the baseline.  Goal: a few seconds.
2. ``--deep``: 7 days delivered by ``run`` from a real cbx-evtdb; pairs of ``audit --deep``
   and ``audit`` give the re-export cost per window, compared with the wall time of
   ``cbx-export export`` of one day (one export per window).

Median (min-max) of RUNS (default 5) interleaved pairs; wall and CPU (user+sys of the child).
"""

import datetime
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from pycstbox.export.process.journal import Journal, record  # noqa: E402
from pycstbox.export.process.state import JobState  # noqa: E402
from pycstbox.export.process.windowjob import upload_name  # noqa: E402
from tests.peers.evtdb import evtdb_bus, generate_days  # noqa: E402
from tests.peers.sshd import SshdPeer  # noqa: E402

UTC = datetime.timezone.utc
PY = '/usr/bin/python3'
FIRST = datetime.date(2025, 1, 1)


def measure(cmd, env):
    """(wall s, cpu s, exit code) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit('failed (%d): %s\n%s' % (code, ' '.join(cmd), err.decode()))
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, code


def fmt(values, unit='s'):
    return '%.3f%s (%.3f-%.3f)' % (statistics.median(values), unit, min(values), max(values))


def cli(cfg, *args):
    return [PY, '-m', 'pycstbox.export', '-c', cfg] + list(args)


def day_size(tmp):
    """Bytes of a realistic day: 12 sensors every 60 s, csv + gzip."""
    from pycstbox.evtdb import fsys
    from pycstbox.evtdb.event import Event
    from pycstbox.export.process.extract import digest
    generate_days(os.path.join(tmp, 'one'), FIRST, days=1, sensors=12, interval=60)
    events = [Event(ts.replace(tzinfo=UTC), vt, vn, v, d.get('unit', ''), d)
              for ts, vt, vn, v, d in fsys.read_day(os.path.join(tmp, 'one'), 'sensor', FIRST)]
    return digest(iter(events), 'csv', 'gzip')[2], len(events)


def year_setup(tmp, sshd):
    size, events = day_size(tmp)
    files = os.path.join(sshd.dir, 'year')
    os.makedirs(files, exist_ok=True)
    state = os.path.join(tmp, 'state')
    journal = Journal(state, 'year')
    when = datetime.datetime(2026, 1, 1, 1, tzinfo=UTC)
    for i in range(365):
        start = datetime.datetime.combine(FIRST + datetime.timedelta(days=i),
                                          datetime.time(), UTC)
        end = start + datetime.timedelta(days=1)
        name = upload_name('lyon-b12', 'year', start, end, 'csv.gz')
        data = os.urandom(size)
        with open(os.path.join(files, name), 'wb') as f:
            f.write(data)
        journal.append(record(start.strftime('%y%m%d%H%M%S'), start, end, 'rx', events=events,
                              delivered_at=when, name=name, size=size,
                              sha256=hashlib.sha256(data).hexdigest()))
    st = JobState(state, 'year')
    st.watermark = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    st.save()
    cfgs = {}
    targets = {'dir': 'type = "dir"\npath = "%s"\n' % files,
               'sftp': 'type = "sftp"\nhost = "127.0.0.1"\nport = %d\nuser = "root"\n'
                       'key_file = "%s"\nknown_hosts = "%s"\ndirectory = "%s"\n'
                       % (sshd.port, sshd.client_key, sshd.known_hosts, files)}
    for kind, target in targets.items():
        cfgs[kind] = os.path.join(tmp, kind + '.toml')
        with open(cfgs[kind], 'w') as f:
            f.write('site = "lyon-b12"\nstate_dir = "%s"\n[targets.rx]\n%s[jobs.year]\n'
                    'target = "rx"\nperiod = "1d"\nformat = "csv"\ncompress = "gzip"\n'
                    'start = "%s"\n' % (state, target, FIRST.isoformat()))
    return cfgs, size, os.path.getsize(journal.path)


def bench_year(tmp, runs, env):
    with SshdPeer(os.path.join(tmp, 'sshd')) as sshd:
        cfgs, size, jbytes = year_setup(tmp, sshd)
        print('year: 365 daily windows, %d bytes each at the receiver, journal %d bytes '
              '(%.0f bytes/window)' % (size, jbytes, jbytes / 365))
        for kind, cfg in cfgs.items():
            r = subprocess.run(cli(cfg, 'audit'), env=env, capture_output=True, text=True)
            assert r.returncode == 0 and '365 ok' in r.stdout, (r.stdout, r.stderr)
        rows = {k: ([], [], []) for k in cfgs}
        base_w, base_c = [], []
        for _ in range(runs):
            for kind, cfg in cfgs.items():
                w, c, _ = measure(cli(cfg, 'audit'), env)
                bw, bc, _ = measure(cli(cfg, 'status'), env)
                rows[kind][0].append(w)
                rows[kind][1].append(c)
                rows[kind][2].append(w / bw)
                base_w.append(bw)
                base_c.append(bc)
        for kind, (w, c, ratio) in rows.items():
            print('  audit %-4s: wall %s, cpu %s, x%s of "status"' % (
                kind, fmt(w), fmt(c), fmt(ratio, '')))
        print('  status (baseline): wall %s, cpu %s' % (fmt(base_w), fmt(base_c)))


def bench_deep(tmp, runs, env):
    root = os.path.join(tmp, 'db')
    days = 7
    generate_days(root, FIRST, days=days, sensors=12, interval=60)
    with evtdb_bus(tmp, root) as address:
        cfg = os.path.join(tmp, 'deep.toml')
        out = os.path.join(tmp, 'out')
        os.makedirs(out)
        with open(cfg, 'w') as f:
            f.write('site = "lyon-b12"\nstate_dir = "%s"\n[eventstore]\naddress = "%s"\n'
                    '[targets.rx]\ntype = "dir"\npath = "%s"\n[jobs.week]\ntarget = "rx"\n'
                    'period = "1d"\nformat = "csv"\ncompress = "gzip"\nstart = "%s"\n'
                    % (os.path.join(tmp, 'dstate'), address, out, FIRST.isoformat()))
        env = dict(env, CBX_EXPORT_NOW='%sT01:00:00Z' % (FIRST + datetime.timedelta(days=days)))
        assert measure(cli(cfg, 'run'), env)[2] == 0
        deep, plain, per, export, per_cpu, export_cpu = [], [], [], [], [], []
        one = os.path.join(tmp, 'one.csv.gz')
        for _ in range(runs):
            dw, dc, code = measure(cli(cfg, 'audit', '--deep'), env)
            assert code == 0
            pw, pc, _ = measure(cli(cfg, 'audit'), env)
            ew, ec, _ = measure(cli(cfg, 'export', '--from', FIRST.isoformat(), '--to',
                                    (FIRST + datetime.timedelta(days=1)).isoformat(),
                                    '-o', one), env)
            deep.append(dw)
            plain.append(pw)
            per.append((dw - pw) / days)
            per_cpu.append((dc - pc) / days)
            export.append(ew)
            export_cpu.append(ec)
        print('deep: %d daily windows of 17,280 events (12 sensors, 60 s), csv+gzip' % days)
        print('  audit --deep: wall %s; audit: wall %s' % (fmt(deep), fmt(plain)))
        print('  --deep per window: wall %s, cpu %s (cbx-export side; the store serves too)'
              % (fmt(per), fmt(per_cpu)))
        print('  one "cbx-export export" of a day (incl. start-up): wall %s, cpu %s'
              % (fmt(export), fmt(export_cpu)))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    with tempfile.TemporaryDirectory(prefix='cbx-audit-bench-') as tmp:
        env['CBX_EXPORT_RUNTIME_DIR'] = os.path.join(tmp, 'run')
        bench_year(tmp, runs, env)
        bench_deep(tmp, runs, env)


if __name__ == '__main__':
    main()
