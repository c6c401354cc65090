"""``cbx-export audit [JOB...] [--since DAY] [--deep] [--repair] [--json] [-v]``.

Text: one line per window that is not ``ok`` (every window with ``-v``), then one
summary line per job; ``--json``: the ``cstbox-export-audit/1`` document of DESIGN
section 12 (plus ``target``, ``error``, ``repaired`` and ``not_repaired`` per job).
Exit 0 when every window is ``ok`` or ``unverifiable``, 1 otherwise; with ``--repair``,
0 when every window found is queued (repaired now, or pending already), 1 when one
could not be (dead, a listing error, a window that ``overwrite = false`` keeps without
``--force-overwrite``); 3 when ``--repair`` finds the lock held.
"""

import datetime
import json
import os
import sys

from pycstbox.export.errors import ConfigError

UTC = datetime.timezone.utc


def _z(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _since(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ConfigError('--since %s: expected a day, YYYY-MM-DD' % text) from None


def document(results):
    """The ``--json`` document."""
    from pycstbox.export.process.audit import SCHEMA
    jobs = {}
    for r in results:
        jobs[r.job] = {
            'windows': [{'jobid': w.jobid, 'start': _z(w.start), 'end': _z(w.end),
                         'name': w.name, 'key': w.key, 'status': w.status, 'detail': w.detail}
                        for w in r.windows],
            'counts': dict(r.counts), 'target': r.target_type, 'error': r.error,
            'repaired': list(r.repaired),
            'not_repaired': [{'jobid': j, 'reason': why} for j, why in r.not_repaired]}
    return {'schema': SCHEMA, 'jobs': jobs}


def render(results, config, verbose=False, out=sys.stdout):
    from pycstbox.export.process.audit import STATUSES
    for r in results:
        if r.error and not r.windows:          # nothing judged: the reason, on one line
            out.write('%s: INCOMPLETE: %s\n' % (r.job, r.error))
            continue
        for w in r.windows:
            if w.status != 'ok' or verbose:
                out.write('%s %s %s..%s %-12s %s%s\n' % (
                    r.job, w.jobid, _z(w.start), _z(w.end), w.status.upper(),
                    w.key + ': ' if w.key else '', w.detail))
        target = config.jobs[r.job].target
        counts = ', '.join('%d %s' % (r.counts[s], s) for s in STATUSES if r.counts[s])
        span = ('%s..%s' % (_z(r.windows[0].start)[:10], _z(r.windows[-1].end)[:10])
                if r.windows else 'no window to audit')
        out.write('%s: %d window(s) %s, target %s%s: %s\n' % (
            r.job, len(r.windows), span, target,
            ' (%s)' % r.target_type if r.target_type else '',
            counts or 'nothing to check (no start, no journal line yet: --since DAY audits '
                      'the windows from DAY)'))
        if r.error:
            out.write('%s: INCOMPLETE: %s\n' % (r.job, r.error))
        if r.repaired:
            out.write('%s: %d window(s) queued again; "cbx-export run" (or the daemon at its '
                      'next slot) sends them\n' % (r.job, len(r.repaired)))
        for jobid, why in r.not_repaired:
            out.write('%s %s: not queued: %s\n' % (r.job, jobid, why))


def cmd_audit(args, config):
    from pycstbox.export.cli.commands import now
    from pycstbox.export.cli.progress import Progress
    from pycstbox.export.process.audit import REPAIRABLE
    from pycstbox.export.process.process import (default_source_factory,
                                                 default_transport_factory)
    from pycstbox.export.process.reconcile import repair, run_audit, store_reexport
    from pycstbox.export.process.runtime import runtime_dir
    unknown = [j for j in args.jobs if j not in config.jobs]
    if unknown:
        raise ConfigError('unknown job %s (configured: %s)'
                          % (', '.join(unknown), ', '.join(sorted(config.jobs)) or 'none'))
    if args.force_overwrite and not args.repair:
        raise ConfigError('--force-overwrite goes with --repair')
    since = _since(args.since) if args.since else None
    reexport = None
    if args.deep:
        tmp = os.path.join(runtime_dir(config), 'staging')
        try:
            os.makedirs(tmp, exist_ok=True)
        except OSError:
            tmp = None
        reexport = store_reexport(config, default_source_factory, tmp)
    bar = Progress()

    def progress(job, done, total, at):
        bar.show('audit %s: window %d/%d (%s)' % (job, done, total, _z(at)[:10]))
    try:
        results = run_audit(config, args.jobs, since=since, reexport=reexport,
                            transport_factory=lambda t, site: default_transport_factory(
                                t, site, config.tz),
                            progress=progress if bar.enabled else None)
    finally:
        bar.finish()
        if reexport is not None:
            reexport.close()
    if args.repair:
        repair(config, results, now=now(), force_overwrite=args.force_overwrite)
    if args.json:
        print(json.dumps(document(results), indent=1))
    else:
        render(results, config, args.verbose)
        gaps = sum(r.counts[s] for r in results for s in REPAIRABLE)
        if gaps and not args.repair:
            print('%d window(s) to send again: "cbx-export audit --repair" queues them%s'
                  % (gaps, '' if args.deep else ' (add --deep to find late data too)'))
    if args.repair:                     # 0: everything found is queued for the next run
        return 0 if all(r.repaired_all for r in results) else 1
    return 0 if all(r.complete for r in results) else 1
