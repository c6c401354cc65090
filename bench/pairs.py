"""Interleaved A/B measurement shared by the benchmarks (issue 15).

Every bench runs its baseline A and its candidate B alternately (A B A B ...,
after one unmeasured warm-up of each), at least 5 pairs, and reports for each
side the median and min-max of wall time, CPU seconds (user + system of the
child process, plus the CPU of watched helper processes such as cbx-evtdb and
dbus-daemon) and peak RSS, then the ratio computed *per pair* (median and
min-max).  Never a best-of: the machine is shared and noisy.
"""

import os
import statistics
import subprocess
import tempfile
import time
from typing import NamedTuple

PY = '/usr/bin/python3'
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Sample(NamedTuple):
    wall: float          # seconds
    cpu: float           # CPU seconds of the child
    helpers: float       # CPU seconds of the watched processes during the run
    rss_mb: float        # peak RSS of the child
    out: str             # its stdout


def env():
    """Environment of the children: this checkout first, no session bus, byte code cached
    (outside the tree) as on an installed box, whatever PYTHONDONTWRITEBYTECODE says here."""
    e = dict(os.environ, PYTHONPATH=REPO,
             PYTHONPYCACHEPREFIX=os.path.join(tempfile.gettempdir(), 'cbx-bench-pycache'))
    e.pop('DBUS_SESSION_BUS_ADDRESS', None)
    e.pop('PYTHONDONTWRITEBYTECODE', None)
    return e


def proc_cpu(pid):
    """utime + stime of a running process, in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


#: GNU time reports the true peak RSS of the command (a child's ru_maxrss counts the
#: pages of this process, forked before exec); without it, ru_maxrss (an upper bound)
GNU_TIME = '/usr/bin/time' if os.access('/usr/bin/time', os.X_OK) else None


def run(cmd, watch=(), stdin=None, path=None):
    """Run ``cmd`` once (``path``: PYTHONPATH instead of this checkout); a :class:`Sample`.

    :raises SystemExit: the command failed
    """
    before = sum(proc_cpu(p) for p in watch)
    child_env = env()
    if path:
        child_env['PYTHONPATH'] = path
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile('r') as rss:
        if GNU_TIME:
            cmd = [GNU_TIME, '-q', '-f', '%M', '-o', rss.name] + list(cmd)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=child_env, stdout=subprocess.PIPE, stderr=err,
                                stdin=stdin)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit('failed (%d): %s\n%s' % (proc.returncode, ' '.join(cmd),
                                                     err.read().decode(errors='replace')))
        peak = int(rss.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    helpers = sum(proc_cpu(p) for p in watch) - before
    return Sample(wall, usage.ru_utime + usage.ru_stime, helpers, peak / 1024.0,
                  out.decode(errors='replace'))


def interleave(run_a, run_b, pairs=5, warmup=True):
    """``[(a, b), ...]``: ``pairs`` pairs run A B A B ... (after one warm-up of each)."""
    if warmup:
        run_a()
        run_b()
    return [(run_a(), run_b()) for _ in range(pairs)]


def spread(values, fmt='%.2f'):
    """``'median (min-max)'``."""
    values = list(values)
    return '%s (%s-%s)' % (fmt % statistics.median(values), fmt % min(values), fmt % max(values))


def report(title, name_a, name_b, samples, events=None, generator='', goal=''):
    """Print both sides and the per-pair ratios; returns the dict of median ratios."""
    print('\n== %s' % title)
    if events:
        print('   %s events%s' % (format(events, ','), (', data: ' + generator) if generator else ''))
    print('   %d interleaved pairs (A B A B ...), median (min-max)' % len(samples))
    for name, side in ((name_a, 0), (name_b, 1)):
        col = [pair[side] for pair in samples]
        fmt = '%.2f' if statistics.median(s.wall for s in col) >= 1 else '%.3f'
        line = '   %s: wall %s s, CPU %s s' % (name, spread((s.wall for s in col), fmt),
                                              spread((s.cpu for s in col), fmt))
        if any(s.helpers for s in col):
            line += ' (+ store/bus %s s)' % spread(s.helpers for s in col)
        if any(s.rss_mb for s in col):
            line += ', peak RSS %s MB' % spread((s.rss_mb for s in col), '%.1f')
        if events:
            line += ', %s events/s' % spread((events / s.wall for s in col), '%.0f')
        print(line)
    ratios = {
        'throughput': [a.wall / b.wall for a, b in samples],
        'cpu': [b.cpu / a.cpu for a, b in samples],
        'cpu_all': [(b.cpu + b.helpers) / (a.cpu + a.helpers) for a, b in samples],
        'rss': [b.rss_mb / a.rss_mb for a, b in samples if a.rss_mb],
    }
    line = '   per pair: throughput B/A %s, CPU B/A %s' % (spread(ratios['throughput']),
                                                          spread(ratios['cpu']))
    if any(s.helpers for pair in samples for s in pair):
        line += ', CPU incl. store/bus B/A %s' % spread(ratios['cpu_all'])
    if ratios['rss']:
        line += ', peak RSS B/A %s' % spread(ratios['rss'])
    print(line)
    if goal:
        print('   goal: %s' % goal)
    return {k: statistics.median(v) for k, v in ratios.items() if v}


ONE_DAY = __import__('datetime').timedelta(days=1)
GENERATOR = 'cbx-evtdb generate --sensors 180 --interval 10 (one day)'


def realistic_day(root, day, sensors=180, interval=10):
    """Generate (once: kept when already there) one realistic day; returns its event count."""
    import sys
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from pycstbox.evtdb import fsys
    path = fsys.day_path(root, 'sensor', day)
    if not os.path.exists(path):
        subprocess.run([PY, '-m', 'pycstbox.evtdb', 'generate', '--root', root, '--from',
                        day.isoformat(), '--days', '1', '--sensors', str(sensors),
                        '--interval', str(interval)], env=env(), check=True,
                       stdout=subprocess.DEVNULL)
    with open(path, 'rb') as f:
        return sum(chunk.count(b'\n') for chunk in iter(lambda: f.read(1 << 20), b''))


def timed(fn):
    """Run ``fn()`` in this process: a :class:`Sample` (wall and CPU seconds of the call)."""
    import resource
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return Sample(wall, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 0.0,
                  r1.ru_maxrss / 1024.0, '')


def checkout(rev, dest):
    """The pycstbox/ tree of git revision ``rev`` under ``dest`` (no change to the repository)."""
    os.makedirs(dest, exist_ok=True)
    archive = subprocess.run(['git', '-C', REPO, 'archive', rev, 'pycstbox'],
                             stdout=subprocess.PIPE, check=True).stdout
    subprocess.run(['tar', '-x', '-C', dest], input=archive, check=True)
    return dest
