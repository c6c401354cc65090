"""What ``cbx-export status`` shows: collected from the state directory, read only.

``collect(config, now)`` returns a plain dict (the ``--json`` document);
``render(doc)`` turns it into the text a technician reads over ssh.  Reading
10,000 pending entries costs a directory listing: entries are not opened,
their window comes from their id.
"""

import datetime
import json
import os

from pycstbox.export.atomic import list_names
from pycstbox.export.process.deadletter import DeadLetters
from pycstbox.export.config.duration import format_duration
from pycstbox.export.process.runtime import runtime_dir as resolve_runtime_dir

UTC = datetime.timezone.utc



def _read_json(path):
    try:
        with open(path, 'rb') as f:
            doc = json.loads(f.read())
        return doc if isinstance(doc, dict) else None
    except (OSError, ValueError):
        return None


def _id_time(jobid):
    try:
        return datetime.datetime.strptime(jobid[:12], '%y%m%d%H%M%S').replace(
            tzinfo=UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        return None


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


def collect(config, now, runtime_dir=None):
    """The status document (see module docstring)."""
    runtime_dir = runtime_dir or resolve_runtime_dir(config)
    sd = config.state_dir
    dead = DeadLetters(sd)
    jobs = {}
    for name, job in sorted(config.jobs.items()):
        bdir = os.path.join(sd, 'backlog', name)
        names = list_names(bdir)
        ids = [n[:-5] for n in names if n.endswith('.json') and not n.startswith('.')]
        corrupt = [n for n in list_names(os.path.join(bdir, 'corrupt')) if not n.endswith('.error')]
        spath = os.path.join(sd, 'state', name + '.json')
        state = _read_json(spath)
        problems = []
        if state is None and os.path.exists(spath):
            problems.append('state file %s is unreadable' % spath)
        if os.path.exists(spath + '.corrupt'):
            problems.append('an unreadable state file was set aside: %s.corrupt' % spath)
        if corrupt:
            problems.append('%d unreadable backlog entr%s set aside in %s'
                            % (len(corrupt), 'y' if len(corrupt) == 1 else 'ies',
                               os.path.join(bdir, 'corrupt')))
        state = state or {}
        letters = dead.list(name)
        jobs[name] = {
            'target': job.target, 'enabled': job.enabled, 'period': format_duration(job.period),
            'watermark': state.get('watermark'),
            'pending': len(ids),
            'oldest_pending': _id_time(ids[0]) if ids else None,
            'oldest_pending_id': ids[0] if ids else None,
            'last_success': state.get('last_success'),
            'last_error': state.get('last_error'),
            'dead_letters': [{'id': d.name[:-len('.json')], 'error': _reason(d.error_text)}
                             for d in letters if d.name.endswith('.json')],
            'corrupt_entries': corrupt,
            'problems': problems,
        }
    outbox = {}
    for target in sorted(config.targets):
        pending = [n for n in list_names(os.path.join(sd, 'outbox', target))
                   if not n.startswith('.')]
        failed = [d.name for d in dead.list(target)]
        if pending or failed:
            outbox[target] = {'pending': len(pending), 'dead_letters': failed}
    return {'site': config.site, 'state_dir': sd, 'now': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'jobs': jobs, 'outbox': outbox, 'daemon': daemon_status(runtime_dir)}


def _reason(error_text):
    """The reason line of a dead letter's .error text (its first line is the time)."""
    lines = error_text.splitlines()
    return lines[1] if len(lines) > 1 else error_text


def _short(t):
    """An ISO UTC time to the second (``-`` when unknown)."""
    if not t:
        return '-'
    head, dot, tail = t.partition('.')
    return head + 'Z' if dot and tail.endswith('Z') else t


def render(doc):
    """Human-readable status text."""
    lines = ['site %s, state in %s, at %s' % (doc['site'], doc['state_dir'], doc['now'])]
    d = doc['daemon']
    if d.get('running'):
        lines.append('daemon: running (pid %s), next slot %s, last run %s' % (
            d.get('pid'), _short(d.get('next_due')),
            _short((d.get('last_run') or {}).get('at'))))
    else:
        lines.append('daemon: not running')
    if not doc['jobs']:
        lines.append('no job configured')
    for name, j in doc['jobs'].items():
        lines.append('')
        lines.append('job %s -> %s (every %s)%s' % (name, j['target'], j['period'],
                                                    '' if j['enabled'] else ' DISABLED'))
        lines.append('  watermark     : %s' % _short(j['watermark']))
        lines.append('  pending       : %d%s' % (j['pending'], ', oldest window starts %s'
                                                 % j['oldest_pending'] if j['pending'] else ''))
        s = j['last_success']
        lines.append('  last success  : %s' % ('%s (window %s, %s events%s)' % (
            _short(s.get('at')), s.get('window'), s.get('events'),
            ', ' + s['file'] if s.get('file') else '') if s else '-'))
        e = j['last_error']
        lines.append('  last error    : %s' % ('%s window %s: %s%s' % (
            _short(e.get('at')), e.get('window'), ' '.join(str(e.get('message')).split()),
            '' if e.get('temporary') else ' [dead-lettered]') if e else '-'))
        if j['dead_letters']:
            lines.append('  dead letters  : %d (cbx-export backlog list %s)'
                         % (len(j['dead_letters']), name))
            for dl in j['dead_letters'][:5]:
                lines.append('    %s: %s' % (dl['id'], dl['error']))
            lines.append('    (after fixing the cause: cbx-export backlog requeue %s ID)' % name)
        for p in j['problems']:
            lines.append('  PROBLEM       : %s' % p)
    for target, o in doc['outbox'].items():
        lines.append('')
        lines.append('outbox %s: %d file(s) waiting, %d dead-lettered'
                     % (target, o['pending'], len(o['dead_letters'])))
        for n in o['dead_letters'][:5]:
            lines.append('    %s' % n)
    return '\n'.join(lines) + '\n'
