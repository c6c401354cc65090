"""The status snapshot: what ``cbx-export status`` shows and the metrics are made of.

Collected from the state directory, read only.  ``collect(config, now)`` returns a
plain dict (the ``status --json`` document); ``cli/status.py`` renders it for a
technician, ``process/metrics.py`` turns it into Prometheus metrics.  It lives in
process/ because the daemon needs it too and must not import cli/.  Reading
10,000 pending entries costs a directory listing: entries are not opened,
their window comes from their id.

The document's shape is the versioned contract of ``status --json``:
``pycstbox/export/status.schema.json`` (:data:`SCHEMA`); a change that would break a
consumer gets a new version, an added field is documented there.
"""

import datetime
import json
import os

from pycstbox.export.job import EventsExportJob
from pycstbox.export.process import clock
from pycstbox.export.process import journal
from pycstbox.export.process.state import JobState
from pycstbox.export.atomic import list_names
from pycstbox.export.process.deadletter import DeadLetters
from pycstbox.export.config.duration import format_duration
from pycstbox.export.process.hold import Holds, hold_text
from pycstbox.export.process.lock import state_dir_full, state_dir_problem
from pycstbox.export.process.window import due_windows
from pycstbox.export.process.runtime import runtime_dir as resolve_runtime_dir

UTC = datetime.timezone.utc
#: the ``schema`` field of the document: the ``$id`` version of status.schema.json
SCHEMA = 'cstbox-export-status/1'
#: bytes read from the end of a delivery journal to find its last line
JOURNAL_TAIL = 8192


def _read_json(path):
    try:
        with open(path, 'rb') as f:
            doc = json.loads(f.read())
        return doc if isinstance(doc, dict) else None
    except (OSError, ValueError):
        return None


def _id_time(jobid):
    t = EventsExportJob.jobid_time(jobid)
    return t.strftime('%Y-%m-%dT%H:%M:%SZ') if t else None


def _iso(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def last_delivery(state_dir, job):
    """The last line of ``journal/<job>.jsonl`` (DESIGN section 12) as a dict, or None.

    Read from the end of the file (a rotated, still empty journal: the older
    generation); a torn, foreign or ill-typed last line (:func:`journal.check`) is
    skipped for the one before it.
    """
    base = os.path.join(state_dir, 'journal', job + '.jsonl')
    for path in (base, base + '.1'):
        try:
            with open(path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - JOURNAL_TAIL))
                tail = f.read()
        except OSError:
            continue
        lines = tail.split(b'\n')
        if size > JOURNAL_TAIL:
            lines = lines[1:]                  # the first one may be cut
        for line in reversed(lines):
            try:
                rec = journal.check(json.loads(line))   # the audit's own check of a line
            except (ValueError, RecursionError):
                continue
            return {'at': rec['delivered_at'], 'window': rec.get('jobid'),
                    'events': _count(rec.get('events')), 'bytes': _count(rec.get('bytes')),
                    'name': rec.get('name')}
    return None


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _outbox(sd, target, dead):
    """Files waiting in ``outbox/<target>`` (and the oldest one's mtime), its dead letters."""
    folder = os.path.join(sd, 'outbox', target)
    oldest = None
    pending = 0
    for n in list_names(folder):
        if n.startswith('.'):
            continue
        pending += 1
        try:
            mtime = os.lstat(os.path.join(folder, n)).st_mtime
        except OSError:
            continue
        oldest = mtime if oldest is None else min(oldest, mtime)
    return {'pending': pending,
            'oldest': None if oldest is None else _iso(
                datetime.datetime.fromtimestamp(int(oldest), UTC)),
            'dead_letters': [d.name for d in dead.list(target)]}


def daemon_status(runtime_dir):
    """The daemon's live status (from its status.json), with ``running`` checked by pid."""
    doc = _read_json(os.path.join(runtime_dir, 'status.json')) or {}
    pid = doc.get('pid')
    running = False
    if isinstance(pid, int) and pid > 0:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmdline = f.read()
            running = b'cbx-exportd' in cmdline or b'pycstbox.export.daemon' in cmdline
        except OSError:
            running = False
    doc['running'] = running
    return doc


#: a self-restart of the daemon (a stalled lane) stays a problem this long (seconds)
RESTART_RECENT = 3600


def lane_problems(daemon, now):
    """The daemon's liveness problems: lanes stalled now, a self-restart in the last hour."""
    if not daemon.get('running'):
        return []
    out = ['lane %s made no progress for %s s (bound %s s) while %s: the daemon restarts '
           'itself' % (s.get('lane'), s.get('for'), s.get('bound'), s.get('doing'))
           for s in daemon.get('stalled') or () if isinstance(s, dict)]
    r = daemon.get('restarted')
    if isinstance(r, dict) and isinstance(r.get('at'), str):
        try:
            at = datetime.datetime.fromisoformat(r['at'].replace('Z', '+00:00'))
        except ValueError:
            at = None
        if at is not None and 0 <= (now - at).total_seconds() < RESTART_RECENT:
            out.append('the daemon restarted itself at %s: lane %s made no progress for %s s '
                       '(bound %s s) while %s (%s restart(s) since it was started; see the log)'
                       % (r['at'], r.get('lane'), r.get('stalled_for'), r.get('bound'),
                          r.get('doing'), r.get('count')))
    return out


def collect(config, now, runtime_dir=None):
    """The status document (see module docstring)."""
    runtime_dir = runtime_dir or resolve_runtime_dir(config)
    sd = config.state_dir
    dead = DeadLetters(sd)
    jobs = {}
    sd_problem = state_dir_problem(sd) or state_dir_full(sd)
    holds = {t: {k: h[k] for k in ('reason', 'since', 'next_probe')}
             for t, h in sorted(Holds(runtime_dir).read().items()) if t in config.targets}
    for name, job in sorted(config.jobs.items()):
        bdir = os.path.join(sd, 'backlog', name)
        names = list_names(bdir)
        ids = [n[:-5] for n in names if n.endswith('.json') and not n.startswith('.')]
        corrupt = [n for n in list_names(os.path.join(bdir, 'corrupt')) if not n.endswith('.error')]
        spath = os.path.join(sd, 'state', name + '.json')
        js = JobState(sd, name, readonly=True)        # validated, never moved from here
        state = js.as_dict()
        problems = [js.problem] if js.problem else []
        suspect = clock.fault(now=now, watermark=js.watermark, jump=js.jump)
        if suspect:
            problems.append(suspect)
        if os.path.exists(spath + '.corrupt'):
            problems.append('an unreadable state file was set aside: %s.corrupt' % spath)
        if sd_problem and job.enabled and due_windows(
                job.period, job.delay, config.tz, now=now, watermark=js.watermark,
                start_date=job.start, limit=1):
            problems.append('windows are due but cannot be queued: %s' % sd_problem)
        if job.target in holds:
            problems.append(hold_text(holds[job.target]))
        if corrupt:
            problems.append('%d unreadable backlog entr%s set aside in %s'
                            % (len(corrupt), 'y' if len(corrupt) == 1 else 'ies',
                               os.path.join(bdir, 'corrupt')))
        letters = dead.list(name)
        jobs[name] = {
            'target': job.target, 'enabled': job.enabled, 'period': format_duration(job.period),
            'watermark': state.get('watermark'),
            'pending': len(ids),
            'oldest_pending': _id_time(ids[0]) if ids else None,
            'oldest_pending_id': ids[0] if ids else None,
            'last_success': state.get('last_success'),
            'last_error': state.get('last_error'),
            'last_delivery': last_delivery(sd, name),
            'dead_letters': [{'id': d.name[:-len('.json')], 'error': _reason(d.error_text)}
                             for d in letters if d.name.endswith('.json')],
            'corrupt_entries': corrupt,
            'problems': problems,
        }
    outbox = {target: _outbox(sd, target, dead) for target in sorted(config.targets)}
    from pycstbox.export.process.budget import status as budget_status
    daemon = daemon_status(runtime_dir)
    daemon['problems'] = lane_problems(daemon, now)
    return {'schema': SCHEMA, 'site': config.site, 'state_dir': sd,
            'now': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'jobs': jobs, 'outbox': outbox, 'daemon': daemon,
            'holds': holds,
            'state_dir_problem': sd_problem,
            'budgets': budget_status(config, runtime_dir, now)}


def _reason(error_text):
    """The reason line of a dead letter's .error text (its first line is the time)."""
    lines = error_text.splitlines()
    return lines[1] if len(lines) > 1 else error_text
