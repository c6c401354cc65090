"""The checks of the model-based test (test_model.py): what must hold, read from the disk.

Each check raises ``AssertionError`` naming the job, the window and what is wrong.
"""

import bisect
import datetime
import json
import os

from pycstbox.export.process.hold import Holds
from pycstbox.export import formats
from pycstbox.export.job import EventsExportJob
from pycstbox.export.process.window import SANE_CLOCK, first_window, next_window, \
    window_containing

from ..formats import reader
from .helpers import grid_events

try:
    from pycstbox.export.process.snapshot import collect
except ImportError:                                    # before issue 14 moved it
    from pycstbox.export.cli.status import collect
from pycstbox.export.cli.status import render

try:
    from pycstbox.export.process.clock import CONFIRM
except ImportError:
    CONFIRM = datetime.timedelta(hours=1)

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
STAMP = '%Y%m%dT%H%M%SZ'


def fail(m, problems):
    if problems:
        raise AssertionError('clock %s, true time %s, jobs %s:\n  %s' % (
            m.clock, m.true, m.jobs, '\n  '.join(problems[:12])))


def job_of(m, name):
    cfg = m.config.jobs[name]
    return cfg.period, cfg.delay, cfg.max_age


def iso(text):
    try:
        return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except (AttributeError, ValueError):
        return None


def listing(path):
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def read_json(path):
    try:
        with open(path, 'rb') as f:
            return json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None


def entry_ids(m, job):
    return {n[:-5] for n in listing(os.path.join(m.state_dir, 'backlog', job))
            if n.endswith('.json') and not n.startswith('.')}


def id_window(m, job, jobid):
    start = datetime.datetime.strptime(jobid, '%y%m%d%H%M%S').replace(tzinfo=UTC)
    return window_containing(start, job_of(m, job)[0], m.config.tz)


def dead_windows(m, job):
    """{jobid: (start, end)} of the dead letters of ``job`` (a gap covers many windows)."""
    out = {}
    d = os.path.join(m.state_dir, 'failed', job)
    for n in listing(d):
        if not n.endswith('.json'):
            continue
        doc = read_json(os.path.join(d, n)) or {}
        parms = doc.get('parms') or {}
        try:
            out[n[:-5]] = (datetime.datetime.fromisoformat(parms['start']['$datetime']),
                           datetime.datetime.fromisoformat(parms['end']['$datetime']))
        except (KeyError, TypeError, ValueError):
            out[n[:-5]] = None
    return out


# -- damage ----------------------------------------------------------------------------

def corrupt_entry(path, kind):
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        doc = json.loads(raw)
        doc['parms']['start']
    except (ValueError, TypeError, KeyError):
        kind = 'garbage'                        # damaged already
    if kind == 'garbage':
        data = b'\x00\xff'
    elif kind == 'truncated':
        data = raw[:len(raw) // 2]
    elif kind == 'shape':
        data = b'{"a": 1}\n'
    else:
        if kind == 'other-id':
            doc['job_id'] = '000101000000'
        elif kind == 'start-str':
            doc['parms']['start'] = '2026-11-20'
        elif kind == 'attempts-str':
            doc['parms']['attempts'] = 'x'
        data = json.dumps(doc).encode()
    with open(path, 'wb') as f:
        f.write(data)


def spooled(m, job, jobid):
    doc = read_json(os.path.join(m.state_dir, 'backlog', job, jobid + '.json')) or {}
    return bool((doc.get('parms') or {}).get('artifact')) or any(
        n.startswith(jobid) for n in listing(os.path.join(m.state_dir, 'spool', job)))


# -- during a run: what is sent ----------------------------------------------------------

def parse_rows(fmt, data, gz):
    if fmt == 'dwh-zip':
        series = reader.read_dwh(data)
        return series, sum(len(v) for v in series.values())
    rows = reader.READERS[fmt](data, gz)
    return rows, len(rows)


def expect(fmt, events):
    if fmt == 'dwh-zip':
        return reader.expected_dwh(events)
    return reader.expected(events, with_data=fmt == 'jsonl')


def check_send(m, target, path, name, job, key):
    """The file handed to ``target`` belongs to ``job`` and holds the start of its window.

    Returns True when it holds every event of the window (not only those recorded so far).
    """
    v = m.violations
    cfg = m.config.jobs.get(job)
    prefix = '%s_%s_' % (m.config.site, job)
    if cfg is None or not name.startswith(prefix):
        v.append('%s sent as job %r, which is not configured or not in its name' % (name, job))
        return False
    try:
        s, rest = name[len(prefix):].split('_', 1)
        e, ext = rest.split('.', 1)
        start = datetime.datetime.strptime(s, STAMP).replace(tzinfo=UTC)
        end = datetime.datetime.strptime(e, STAMP).replace(tzinfo=UTC)
    except ValueError:
        v.append('%s: not a stable name of job %s' % (name, job))
        return False
    if tuple(window_containing(start, cfg.period, m.config.tz)) != (start, end):
        v.append('%s: [%s, %s) is not a window of job %s (period %s)'
                 % (name, start, end, job, cfg.period))
    if ext != formats.extension(cfg.format, cfg.compress):
        v.append('%s: extension %s, job %s is %s/%s' % (name, ext, job, cfg.format, cfg.compress))
    if cfg.target != target:
        v.append('%s: sent to %s, job %s goes to %s' % (name, target, job, cfg.target))
    if key != '%s-%s-%s' % (m.config.site, job, EventsExportJob.make_jobid(start)):
        v.append('%s: idempotency key %r' % (name, key))
    truth = list(grid_events(start, end, cfg.var_types, cfg.var_names))
    with open(path, 'rb') as f:
        data = f.read()
    try:
        got, n = parse_rows(cfg.format, data, cfg.compress == 'gzip')
    except Exception as exc:   # noqa: BLE001
        v.append('%s: cannot be read back as %s: %r' % (name, cfg.format, exc))
        return False
    if n == 0:
        v.append('%s: an empty window was uploaded' % name)
    elif got != expect(cfg.format, truth[:n]):
        v.append('%s: does not hold the events of its window (%d rows, %d in the window)'
                 % (name, n, len(truth)))
    return n == len(truth)


# -- after a run -------------------------------------------------------------------------

def snapshot(m):
    root = os.path.join(m.state_dir, 'failed')
    return {(g, n): os.stat(os.path.join(root, g, n)).st_mtime_ns
            for g in listing(root) for n in listing(os.path.join(root, g)) if n.endswith('.json')}


def after_run(m):
    last, problems = m.last, []
    if last['error'] or last['seconds'] > 30:
        return          # reported by run_finished
    rep, clock, true = last['report'], last['clock'], last['true']
    fail(m, list(m.violations))
    # the report says what happened
    pending = sum(len(entry_ids(m, j)) for j in m.jobs)
    if rep.delivered != len(last['sent']) or rep.pending != pending:
        problems.append('report: %d delivered, %d pending; the targets got %d files, the '
                        'backlogs hold %d' % (rep.delivered, rep.pending, len(last['sent']),
                                              pending))
    faulty = note_clock(m, clock, true)
    # a problem is reported only when something is wrong
    if not last['damaged'] and clock >= SANE_CLOCK:
        for p in rep.problems:
            if 'clock' not in p and not any(i in p for _, i in m.corrupted):
                problems.append('problem reported with nothing damaged: %s' % p)
    # new dead letters have a reason
    for (job, n), mtime in sorted(snapshot(m).items()):
        if last['before'].get((job, n)) == mtime or job not in m.jobs:
            continue
        problems += dead_letter_justified(m, job, n, clock, true)
    for job in m.jobs:
        ids = entry_ids(m, job)
        # no window of the future stays queued once the clock is right (issue 10, defect 5)
        if not faulty:
            for jobid in sorted(ids):
                w = id_window(m, job, jobid)
                if w.end > true:
                    problems.append('job %s: window %s queued, it ends after the true time %s'
                                    % (job, w, true))
        # every pending entry runs when its store and target are up
        spec = m.jobs[job]
        # (a target held after refusing itself, e.g. its directory gone, waits for its next
        # probe even once it accepts again: issue 25, process/hold.py)
        held = spec['target'] in Holds(m.runtime).read()
        if not faulty and not last['store_down'] and last['modes'][spec['target']] == 'accept' \
                and not held:
            # (a window not due under the current delay, e.g. after a reload, waits for it)
            delay = job_of(m, job)[1]
            stuck = sorted(i for i in ids if (job, i) not in m.corrupted
                           and id_window(m, job, i[:12]).end + delay <= clock)
            if stuck:
                problems.append('job %s: %d entries still pending (%s...) after a run with its '
                                'store and target %s up' % (job, len(stuck), stuck[0],
                                                            spec['target']))
    problems += orphans(m)
    problems += advance_horizon(m, clock, true)
    if not faulty:          # a job whose state holds a watermark written at a right clock
        m.anchored |= {j for j in m.jobs if any_due(m, j, clock)}
    fail(m, problems)


def note_clock(m, clock, true):
    """Remember since when runs have seen a wrong clock going forward; True when wrong."""
    if clock == true:
        m.fault_since = None
    elif m.fault_since is None or clock < m.fault_clock:
        m.fault_since = clock
    m.fault_clock = clock
    return clock != true


def dead_letter_justified(m, job, n, clock, true):
    jobid = n[:-5]
    d = os.path.join(m.state_dir, 'failed', job)
    try:
        with open(os.path.join(d, n + '.error'), encoding='utf-8') as f:
            reason = f.read().strip().splitlines()
    except OSError:
        reason = []
    out = []
    if len(reason) < 2:
        out.append('job %s: dead letter %s has no reason' % (job, n))
    span = dead_windows(m, job).get(jobid)
    if span is None:
        return out + ['job %s: dead letter %s is not a window entry' % (job, n)]
    start, end = span
    stamp = '%s_%s_%s_' % (m.config.site, job, start.astimezone(UTC).strftime(STAMP))
    refused = any(j == job and name.startswith(stamp) for j, name in m.refused)
    old = end <= true - job_of(m, job)[2]
    stuck = m.fault_since is not None and clock >= m.fault_since + CONFIRM
    # a job without a state written at a right clock (new, or its state lost) has nothing
    # to tell a clock years ahead from a box off for a year
    unanchored = job not in m.anchored
    if not (refused or old or stuck or unanchored):
        out.append('job %s: [%s, %s) dead-lettered at clock %s (true time %s), neither refused '
                   'nor older than max_age: %s' % (job, start, end, clock, true,
                                                  ' / '.join(reason[1:2])))
    return out


def orphans(m):
    out = []
    for root in (os.path.join(m.runtime, 'staging'), os.path.join(m.state_dir, 'spool')):
        for job in listing(root):
            ids = entry_ids(m, job)
            out += ['%s/%s/%s: no backlog entry for this window' % (root, job, n)
                    for n in listing(os.path.join(root, job)) if n.split('.')[0] not in ids]
    for job in listing(os.path.join(m.state_dir, 'backlog')):
        out += ['backlog/%s/%s: temporary file left' % (job, n)
                for n in listing(os.path.join(m.state_dir, 'backlog', job)) if n.startswith('.')]
    return out


def advance_horizon(m, clock, true):
    """Move the horizon: windows due at it must be accounted for (see accounting).

    The horizon is the latest ``min(clock, true)`` of the runs, but never after the
    clock of the last run (a clock set back may drop windows it will queue again).  It
    stays put while the process holds a suspected clock jump (it says so in the report's
    problems), which it may do only for a clock more than max_age after its last run
    that queued (less a period and an hour: windows are due a period apart, 25 h on a
    DST day), and only until the clock has been consistent for CONFIRM (a clock more
    than max_age past the held jump is another jump, held anew).
    """
    out = []
    for job in m.jobs:
        period, _, max_age = job_of(m, job)
        if clock < SANE_CLOCK:
            continue
        m.reach[job] = max(m.reach.get(job, min(clock, true)), min(clock, true))
        held = any(p.startswith('job %s:' % job) and 'clock' in p
                   for p in m.last['report'].problems)
        if held:
            ref, since = m.seen.get(job), m.holds.get(job)
            if ref is None or clock - ref <= max_age - period - HOUR:
                out.append('job %s: held as a clock fault at %s, only %s after its last run '
                           'that queued (%s; max_age %s)' % (job, clock, ref and clock - ref,
                                                             ref, max_age))
            if since is None or clock < since or clock > since + max_age:
                since = clock                   # a new jump (or another one while held)
            elif clock >= since + CONFIRM:
                out.append('job %s: still held at %s, the clock has been consistent since %s'
                           % (job, clock, since))
            m.holds[job] = since
            continue
        m.holds.pop(job, None)
        ref = m.seen.get(job)
        if any_due(m, job, clock) or ref is not None and clock < ref:
            m.seen[job] = clock                 # it queued, or went back: its reference
        m.horizon[job] = min(m.reach[job], clock)
        m.history[job]['delay'] = job_of(m, job)[1]
    return out


# -- after every step --------------------------------------------------------------------

def run_finished(m):
    if m.last and m.last['error']:
        raise AssertionError('the run at clock %s raised:\n%s' % (m.last['clock'],
                                                                  m.last['error']))
    if m.last and m.last['seconds'] > 30:
        raise AssertionError('the run at clock %s took %.1f s' % (m.last['clock'],
                                                                  m.last['seconds']))


def windows(m, job, until):
    """The windows of ``job`` due at ``until`` (which is never after the true time)."""
    period, delay, _ = job_of(m, job)
    delay = max(delay, m.history[job]['delay'])       # a delay made shorter since the last run
    ws = m.windows.setdefault(job, [])
    if not ws:
        ws.append(first_window(m.jobs[job]['start'], period, m.config.tz))
    while ws[-1].end + delay <= until:
        ws.append(next_window(ws[-1], period, m.config.tz))
    return ws[:bisect.bisect_right([w.end for w in ws], until - delay)]


def any_due(m, job, clock):
    period, delay, _ = job_of(m, job)
    return first_window(m.jobs[job]['start'], period, m.config.tz).end + delay <= clock


def truth_count(m, job, w):
    key = (job, w.start, m.jobs[job]['var_types'])
    if key not in m.truth:
        m.truth[key] = sum(1 for _ in grid_events(w.start, w.end, m.jobs[job]['var_types']))
    return m.truth[key]


def target_files(m, t):
    d = m.target_dir(t)
    return set(listing(d) or listing(d + '.away'))


def accounting(m):
    problems = []
    files = {t: target_files(m, t) for t in m.modes}
    for job, horizon in sorted(m.horizon.items()):
        if job not in m.jobs:
            continue
        pending = entry_ids(m, job)
        dead = dead_windows(m, job)
        corrupt = {n.split('.')[0] for n in
                   listing(os.path.join(m.state_dir, 'backlog', job, 'corrupt'))}
        h = m.history[job]
        for w in windows(m, job, horizon):
            jobid = EventsExportJob.make_jobid(w.start)
            if jobid in pending or (job, jobid) in m.lost:
                continue
            if jobid in dead or any(s and s[0] <= w.start and w.end <= s[1]
                                    for s in dead.values()):
                continue
            if jobid in corrupt and (job, jobid) in m.corrupted:
                continue
            names = ['%s_%s_%s_%s.%s' % (m.config.site, job, w.start.strftime(STAMP),
                                         w.end.strftime(STAMP), ext) for ext in h['exts']]
            found = [(t, n) for t in h['targets'] for n in names if n in files[t]]
            if found:
                if not any(m.delivered.get(f, (0, 0, False))[2] for f in found):
                    problems.append('job %s: window %s delivered without all its events (%s)'
                                    % (job, w, found))
            elif truth_count(m, job, w):
                problems.append('job %s: window %s (due at %s) is lost: not pending, delivered, '
                                'dead-lettered nor set aside' % (job, w, horizon))
        for jobid in corrupt:
            if (job, jobid) not in m.corrupted:
                problems.append('job %s: entry %s set aside as corrupt, the test did not '
                                'damage it' % (job, jobid))
    fail(m, problems)


def targets(m):
    problems = []
    for t in m.modes:
        for n in target_files(m, t):
            if n.startswith('.'):
                problems.append('target %s: temporary file %s left' % (t, n))
                continue
            rec = m.delivered.get((t, n))
            d = m.target_dir(t)
            p = os.path.join(d if os.path.isdir(d) else d + '.away', n)
            s = os.stat(p)
            if rec is None or rec[:2] != (s.st_size, s.st_mtime_ns):
                problems.append('target %s: %s was not delivered as it is' % (t, n))
    fail(m, problems)


def status(m):
    if m.config is None:
        return
    doc = collect(m.config, m.clock, runtime_dir=m.runtime)
    render(doc)
    json.dumps(doc)
    problems = []
    for job in m.config.jobs:
        j = doc['jobs'][job]
        ids = sorted(entry_ids(m, job))
        if j['pending'] != len(ids) or j['oldest_pending_id'] != (ids[0] if ids else None):
            problems.append('status: job %s pending %s/%s, disk %d/%s' % (
                job, j['pending'], j['oldest_pending_id'], len(ids), ids[:1]))
        dead = sorted(dead_windows(m, job))
        if sorted(d['id'] for d in j['dead_letters']) != dead:
            problems.append('status: job %s dead letters %s, disk %s' % (
                job, [d['id'] for d in j['dead_letters']], dead))
        path = os.path.join(m.state_dir, 'state', job + '.json')
        state = read_json(path)
        wm = state.get('watermark') if isinstance(state, dict) else None
        if wm is not None and iso(wm) is not None:
            if iso(j['watermark']) != iso(wm):
                problems.append('status: job %s watermark %s, disk %s' % (
                    job, j['watermark'], wm))
        elif os.path.exists(path) and not isinstance(state, dict) or wm is not None:
            if not j['problems']:
                problems.append('status: job %s state file unreadable, no problem shown' % job)
    fail(m, problems)
