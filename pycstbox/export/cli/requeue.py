"""``cbx-export backlog requeue``: dead letters back to work, one or a whole job or target.

::

    backlog requeue JOB ID          one dead-lettered window back to pending
    backlog requeue JOB --all       every dead-lettered window of JOB
    backlog requeue TARGET --all    every dead-lettered outbox file of TARGET back into its
                                    outbox folder, and every dead-lettered window of the
                                    jobs that send to TARGET

After a fix of the cause (credentials, a full receiver...).  A name that is both a job
and a target: ``--all`` takes the job's windows and the target's (its outbox files are
then not told apart from the job's letters and stay where they are).
"""

import os

from pycstbox.export.errors import ConfigError, ExportError


def _window(proc, job, jobid):
    """Move dead letter ``jobid`` of ``job`` (and its kept file) back to pending, in the
    order a power cut cannot break (:func:`pycstbox.export.process.recover.requeue`)."""
    from pycstbox.export.process.recover import requeue
    try:
        requeue(proc.dead, proc.backlog(job), proc.spool_dir(job), job, jobid)
    except KeyError:
        raise ExportError('no dead-lettered job %s for job %s ("cbx-export backlog list")'
                          % (jobid, job)) from None


def _windows(proc, job):
    ids = sorted(d.name[:-len('.json')] for d in proc.dead.list(job) if d.name.endswith('.json'))
    for jobid in ids:
        _window(proc, job, jobid)
    return len(ids)


def _outbox_files(proc, config, target):
    """Every dead letter of ``target``'s outbox back into ``outbox/<target>/``; the count."""
    folder = os.path.join(config.state_dir, 'outbox', target)
    n = 0
    for d in proc.dead.list(target):
        dest = os.path.join(folder, d.name)
        if os.path.lexists(dest):
            print('outbox %s: %s is in the outbox already: its dead letter stays in %s'
                  % (target, d.name, os.path.dirname(d.path)))
            continue
        proc.dead.take(target, d.name, dest)
        n += 1
    return n


def cmd_backlog_requeue(args, config):
    from pycstbox.export.backlog import Backlog
    from pycstbox.export.cli.commands import _process, write_metrics
    from pycstbox.export.process.lock import RunLock
    name = args.job
    if bool(args.id) == bool(args.all):
        raise ConfigError('backlog requeue: give either an ID or --all')
    if args.id:
        if name not in config.jobs:
            raise ConfigError('unknown job %r (configured: %s)'
                              % (name, ', '.join(sorted(config.jobs)) or 'none'))
        Backlog.check_job_id(args.id)
    elif name not in config.jobs and name not in config.targets:
        raise ConfigError('%r is neither a job nor a target (jobs: %s; targets: %s)' % (
            name, ', '.join(sorted(config.jobs)) or 'none',
            ', '.join(sorted(config.targets)) or 'none'))
    proc = _process(config)
    with RunLock(config.state_dir):
        if args.id:
            _window(proc, name, args.id)
            done = ['%s/%s' % (name, args.id)]
        else:
            jobs = sorted(j for j, job in config.jobs.items()
                          if j == name or (name in config.targets and job.target == name))
            done = ['%d window(s) of job %s' % (_windows(proc, j), j) for j in jobs]
            if name in config.targets and name not in config.jobs:
                done.append('%d outbox file(s) of target %s'
                            % (_outbox_files(proc, config, name), name))
    write_metrics(config)
    if args.id:
        print('requeued %s: it runs at the next slot, or now with '
              '"cbx-export backlog retry %s %s"' % (done[0], name, args.id))
    else:
        print('requeued %s: they run at the next slot (outbox files: at once under the '
              'daemon), or now with "cbx-export backlog retry"' % ', '.join(done))
    return 0
