"""The process commands of ``cbx-export``: run, status, backlog ..., check.

Each is ``f(args, config) -> exit code``; ``cli.py`` parses and dispatches.
The clock is ``now()``: the real UTC time, or ``$CBX_EXPORT_NOW`` (ISO 8601)
when set, so that tests and technicians can replay a given moment.
"""

import datetime
import json
import logging
import os
import sys

from pycstbox.export.errors import ConfigError, ExportError

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def now():
    fixed = os.environ.get('CBX_EXPORT_NOW')
    if fixed:
        t = datetime.datetime.fromisoformat(fixed.replace('Z', '+00:00'))
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    return datetime.datetime.now(UTC)


def _process(config):
    from pycstbox.export.cli.progress import Progress
    from pycstbox.export.process.process import ExportProcess
    return ExportProcess(config, progress=Progress)     # Progress is silent off a terminal


def _report(rep):
    parts = ['%d queued' % rep.enqueued, '%d delivered' % rep.delivered]
    if rep.empty:
        parts.append('%d empty' % rep.empty)
    if rep.failed:
        parts.append('%d failed (kept pending)' % rep.failed)
    if rep.skipped:
        parts.append('%d not tried (target or store down)' % rep.skipped)
    if rep.dead_lettered:
        parts.append('%d dead-lettered' % rep.dead_lettered)
    if rep.deferred:
        parts.append('%d waiting for a byte budget' % rep.deferred)
    parts.append('%d pending' % rep.pending)
    print('run: ' + ', '.join(parts), file=sys.stderr)
    for p in rep.problems:
        print('problem: %s' % p, file=sys.stderr)
    if not rep.ok:
        print('see "cbx-export status" for details', file=sys.stderr)


def write_metrics(config):
    """The metrics textfile, when configured and a value changed (DESIGN section 13)."""
    if not config.metrics.textfile:
        return
    from pycstbox.export.process import metrics, snapshot
    try:
        metrics.write(config, snapshot.collect(config, now()))
    except Exception as exc:  # noqa: BLE001 -- monitoring never fails a run
        log.warning('metrics not written: %s: %s', type(exc).__name__, exc, exc_info=True)


def cmd_run(args, config):
    proc = _process(config)
    rep = proc.run(args.jobs or None, now=now(), dry_run=args.dry_run)
    if not args.dry_run:
        write_metrics(config)
    if args.dry_run:
        for line in rep.lines:
            print(line)
        if not rep.lines:
            print('nothing is due and nothing is pending')
        return 0
    _report(rep)
    return rep.exit_code


def cmd_status(args, config):
    from pycstbox.export.cli import status
    doc = status.collect(config, now())
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        sys.stdout.write(status.render(doc))
    bad = any(j['pending'] and j['last_error'] or j['dead_letters'] or j['problems']
              for j in doc['jobs'].values()) or doc.get('state_dir_problem') \
        or doc['daemon'].get('problems')
    return 1 if bad else 0


def _job(config, name):
    if name not in config.jobs:
        raise ConfigError('unknown job %r (configured: %s)'
                          % (name, ', '.join(sorted(config.jobs)) or 'none'))
    return config.jobs[name]


def cmd_backlog_list(args, config):
    from pycstbox.export.backlog import Backlog
    from pycstbox.export.process.deadletter import DeadLetters
    names = [_job(config, args.job).name] if args.job else sorted(config.jobs)
    dead = DeadLetters(config.state_dir)
    out = []
    for name in names:
        b = Backlog(name, root=os.path.join(config.state_dir, 'backlog'))
        for jid, parms in b.items():
            out.append({'job': name, 'id': jid, 'state': 'pending',
                        'start': parms['start'].isoformat(), 'end': parms['end'].isoformat(),
                        'attempts': parms.get('attempts', 0),
                        'kept_file': parms.get('artifact')})
        for d in dead.list(name):
            if d.name.endswith('.json'):
                out.append({'job': name, 'id': d.name[:-5], 'state': 'dead-lettered',
                            'error': d.error_text})
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if not out:
        print('backlog empty')
    for e in out:
        if e['state'] == 'pending':
            print('%-10s %s pending  %s .. %s  attempts %d%s' % (
                e['job'], e['id'], e['start'], e['end'], e['attempts'],
                '  (file kept)' if e['kept_file'] else ''))
        else:
            print('%-10s %s DEAD     %s' % (e['job'], e['id'],
                                           ' | '.join(e['error'].splitlines()[1:3])))
    return 0


def cmd_backlog_retry(args, config):
    proc = _process(config)
    jobs = [_job(config, args.job).name] if args.job else None
    only = (args.job, args.id) if args.id else None
    if only and only[1] not in proc.backlog(args.job):
        raise ExportError('no pending job %s in backlog %s ("cbx-export backlog list %s")'
                          % (args.id, args.job, args.job))
    from pycstbox.export.process.hold import Holds
    holds = Holds(proc.runtime_dir)
    for job in jobs or sorted(config.jobs):          # held targets are probed now
        holds.probe_now(config.jobs[job].target, datetime.datetime.now(datetime.timezone.utc))
    rep = proc.run(jobs, now=now(), enqueue=False, only=only)
    write_metrics(config)
    _report(rep)
    return rep.exit_code


def cmd_backlog_drop(args, config):
    from pycstbox.export.process.lock import RunLock
    proc = _process(config)
    _job(config, args.job)
    if not args.yes:
        print('cbx-export: dropping %s/%s loses that window for good: add --yes to confirm'
              % (args.job, args.id), file=sys.stderr)
        return 2
    with RunLock(config.state_dir):
        b = proc.backlog(args.job)
        try:
            del b[args.id]
        except (KeyError, ValueError):
            raise ExportError('no pending job %s in backlog %s' % (args.id, args.job)) from None
        for n in os.listdir(proc.spool_dir(args.job)) if os.path.isdir(
                proc.spool_dir(args.job)) else []:
            if n.startswith(args.id + '.'):
                os.unlink(os.path.join(proc.spool_dir(args.job), n))
    log.warning('backlog %s: job %s dropped by hand', args.job, args.id)
    write_metrics(config)
    print('dropped %s/%s' % (args.job, args.id))
    return 0


def cmd_backlog_requeue(args, config):
    """One dead letter, or a whole job or target (``--all``): :mod:`.requeue`."""
    from pycstbox.export.cli.requeue import cmd_backlog_requeue as requeue
    return requeue(args, config)


def cmd_backlog_import_legacy(args, config):
    from pycstbox.export import legacy
    from pycstbox.export.backlog import Backlog
    from pycstbox.export.job import EventsExportJob
    if not os.path.isdir(args.dir):
        raise ExportError('%s is not a directory' % args.dir)
    imported = refused = 0
    for bname, jid, path in legacy.scan(args.dir):
        job = config.jobs.get(bname) or config.jobs.get(bname.split('.')[0])
        if job is None and len(config.jobs) == 1:
            job = next(iter(config.jobs.values()))
        if job is None:
            print('%s: refused: no job named %r to import it into' % (path, bname),
                  file=sys.stderr)
            refused += 1
            continue
        try:
            parms = legacy.load(path)
            day = parms.get('date')
            if isinstance(day, datetime.datetime):
                day = day.date()
            if not isinstance(day, datetime.date):
                raise legacy.LegacyError('%s: refused: no "date" in %r' % (path, sorted(parms)))
        except legacy.LegacyError as exc:
            print(str(exc), file=sys.stderr)
            refused += 1
            continue
        start = datetime.datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + datetime.timedelta(days=1)
        b = Backlog(job.name, root=os.path.join(config.state_dir, 'backlog'))
        b[EventsExportJob.make_jobid(start)] = {'job': job.name, 'start': start, 'end': end,
                                                'created': now(), 'attempts': 0,
                                                'legacy': os.path.basename(path)}
        imported += 1
        print('imported %s as %s window %s' % (path, job.name, day.isoformat()))
    print('%d imported, %d refused' % (imported, refused))
    return 1 if refused else 0


def cmd_check(args, config):
    from pycstbox.export.process.process import default_source_factory, default_transport_factory
    ok = True
    print('config: ok (%s)' % ', '.join(config.files or ('built-in defaults',)))
    if not args.targets:
        try:
            c = default_source_factory(config.eventstore)
            days = c.available_days()
            c.close()
            files = getattr(c, 'root', None)       # a FileSource (read = files/auto)
            print('event store: ok (%d day(s) available%s; events read %s)'
                  % (len(days), ', last %s' % days[-1] if days else '',
                     'from the day files in %s/%s after a flush over D-Bus' % (files, c.channel)
                     if files else 'over D-Bus'))
        except ExportError as exc:
            ok = False
            print('event store: FAILED: %s' % exc)
    names = args.targets or sorted(config.targets)
    for name in names:
        if name not in config.targets:
            print('target %s: FAILED: not configured (configured: %s)'
                  % (name, ', '.join(sorted(config.targets))))
            ok = False
            continue
        target = config.targets[name]
        limits = ''
        try:
            t = default_transport_factory(target, config.site)
            limits = getattr(t, 'limits', str)()      # the bound of one request, if stated
            try:
                t.check()
            finally:
                t.close()
            print('target %s (%s): ok' % (name, target.type))
        except ExportError as exc:
            ok = False
            print('target %s (%s): FAILED (%s): %s' % (
                name, target.type, 'temporary' if exc.temporary else 'permanent', exc))
        if limits:
            print('  %s' % limits)
    ok = _check_clock(config) and ok
    from pycstbox.export.cli.budgetcheck import check_lines
    good, lines = check_lines(config, now())
    for line in lines:
        print(line)
    ok = good and ok
    from pycstbox.export.process import metrics
    good, line = metrics.check(config.metrics.textfile)
    print(line)
    return 0 if ok and good else 1


def _check_clock(config):
    """One line per job whose state says its clock looks wrong; False when any does."""
    from pycstbox.export.process import clock
    from pycstbox.export.process.state import JobState
    t = now()
    ok = True
    for name in sorted(config.jobs):
        st = JobState(config.state_dir, name, readonly=True)
        suspect = clock.fault(now=t, watermark=st.watermark, jump=st.jump)
        if suspect:
            ok = False
            print('job %s: %s' % (name, suspect))
    return ok
