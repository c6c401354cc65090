"""What ``cbx-export status`` prints: the snapshot of ``process/snapshot.py`` as text.

``collect(config, now)`` (re-exported) returns the ``--json`` document;
``render(doc)`` turns it into the text a technician reads over ssh.
"""

from pycstbox.export.process.snapshot import collect, daemon_status  # noqa: F401 (re-exported)
from pycstbox.export.transports.filename import printable


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
    if doc.get('state_dir_problem'):
        lines.append('PROBLEM: %s' % doc['state_dir_problem'])
    for p in d.get('problems') or ():
        lines.append('PROBLEM: daemon: %s' % p)
    for target, h in (doc.get('holds') or {}).items():
        lines.append('PROBLEM: %s: target held: %s (since %s, next probe %s); after fixing '
                     'the cause: cbx-export backlog retry (the daemon\'s outbox: at the next '
                     'probe, or at once after a reload)' % (target, h['reason'],
                                                            _short(h['since']),
                                                            _short(h['next_probe'])))
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
    for target, b in doc.get('budgets', {}).items():
        lines.append('')
        lines.append('budget %s: %s%s, %s: %d bytes used%s, %d left%s' % (
            target, b['budget'], ' while metered' if b['when'] == 'metered' else '',
            b['period'], b['used'], '' if b['exact'] else ' (at most: counted again after a '
            'restart of the box)', b['left'], '' if b['applies'] is not False else
            ' (not applied now: NetworkManager says %s)' % b['metered']))
        if b['deferred_windows'] or b['deferred_files'] or b['waiting_need']:
            lines.append('  waiting       : %d window(s), %d outbox file(s) until %s (the oldest '
                         'needs %d bytes)' % (b['deferred_windows'], b['deferred_files'],
                                              _short(b['next_period']), b['waiting_need'] or 0))
        if (b['waiting_need'] or 0) > b['bytes']:
            lines.append('  PROBLEM       : the oldest waiting upload needs more than the whole '
                         'budget: it will wait until max_age; raise budget (or use zstd, a '
                         'shorter period)')
    for target, o in doc['outbox'].items():
        if not (o['pending'] or o['dead_letters']):
            continue
        lines.append('')
        lines.append('outbox %s: %d file(s) waiting, %d dead-lettered'
                     % (target, o['pending'], len(o['dead_letters'])))
        for n in o['dead_letters'][:5]:
            lines.append('    %s' % printable(n))
    return '\n'.join(lines) + '\n'
