"""The audit run: its inputs read from the state directory, the re-export, the repair.

``run_audit(config, jobs, ...)`` reads, for each selected job, the journal, the
backlog and the dead letters (read only: nothing is moved, nothing is written),
builds the job's transport, and calls :func:`pycstbox.export.process.audit.audit_job`.
``repair(...)`` puts the ``missing``/``mismatch``/``stale`` windows back in the
backlog, under the run lock, so that the next run re-sends them under their stable
names.
"""

import datetime
import json
import logging
import os

from pycstbox.export.job import EventsExportJob
from pycstbox.export.atomic import list_names
from pycstbox.export.backlog import Backlog, decode_value
from pycstbox.export.errors import ExportError
from pycstbox.export.process.audit import REPAIRABLE, JobAudit, Span, audit_job
from pycstbox.export.process.journal import Journal
from pycstbox.export.process.lock import RunLock
from pycstbox.export.process.state import JobState

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def _entry_span(path, jobid, period):
    """The window of a backlog entry or dead letter file (read only)."""
    try:
        with open(path, 'rb') as f:
            parms = decode_value(json.loads(f.read().decode('utf-8'))['parms'])
        start, end = parms['start'], parms['end']
        if isinstance(start, datetime.datetime) and start.tzinfo and end > start:
            return Span(start.astimezone(UTC), end.astimezone(UTC))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    start = EventsExportJob.jobid_time(jobid)     # unreadable: its id still tells its start
    return None if start is None else Span(start, start + period)


def entry_spans(directory, period):
    """:class:`Span` of every ``<jobid>.json`` in ``directory``."""
    out = []
    for n in list_names(directory):
        if n.endswith('.json') and not n.startswith('.'):
            span = _entry_span(os.path.join(directory, n), n[:-5], period)
            if span is not None:
                out.append(span)
    return out


def store_reexport(config, source_factory, tmpdir=None):
    """A ``reexport(job, start, end) -> (events, sha256, bytes)`` reading the event store.

    The client is made on first use (flushed once when the config says so); call
    ``reexport.close()`` at the end.
    """
    from pycstbox.export.process.extract import digest
    held = {}

    def reexport(job, start, end):
        client = held.get('client')
        if client is None:
            client = held['client'] = source_factory(config.eventstore)
            if config.eventstore.flush:
                client.flush()
        events = client.events(start, end, job.var_types, job.var_names)
        return digest(events, job.format, job.compress, tmpdir, job.compress_level)

    def close():
        client = held.pop('client', None)
        if client is not None:
            client.close()
    reexport.close = close
    return reexport


def run_audit(config, jobs, *, transport_factory, reexport=None, since=None, progress=None):
    """Audit the jobs named (all when empty); returns a list of :class:`JobAudit`."""
    state_dir = config.state_dir
    results = []
    for name in jobs or sorted(config.jobs):
        job = config.jobs[name]
        journal = Journal(state_dir, name)
        records = list(journal.latest().values())
        pending = entry_spans(os.path.join(state_dir, 'backlog', name), job.period)
        dead = entry_spans(os.path.join(state_dir, 'failed', name), job.period)
        watermark = JobState(state_dir, name, readonly=True).watermark
        target = config.targets.get(job.target)
        transport = None
        try:
            if target is not None:
                transport = transport_factory(target, config.site)
            result = audit_job(config, job, records=records, pending=pending, dead=dead,
                               watermark=watermark, transport=transport, reexport=reexport,
                               since=since,
                               progress=(lambda d, t, at, n=name: progress(n, d, t, at))
                               if progress else None,
                               stat_transport=(lambda t=target: transport_factory(
                                   t, config.site)) if target is not None else None)
        except ExportError as exc:
            result = JobAudit(name)
            result.error = str(exc)
        finally:
            if transport is not None:
                try:
                    transport.close()
                except Exception:  # noqa: BLE001
                    log.debug('closing a transport failed', exc_info=True)
        if journal.skipped:
            log.warning('job %s: %d unreadable journal line(s) skipped (a torn last line '
                        'after a crash is normal)', name, journal.skipped)
        results.append(result)
    return results


#: why a window is not queued on a target that never replaces an object
NO_OVERWRITE = 'cannot be replaced (overwrite = false): --force-overwrite replaces it once'


def _no_overwrite(config, job):
    """Whether the job's target refuses to replace a stored object (s3 overwrite = false)."""
    target = config.targets.get(config.jobs[job].target) if job in config.jobs else None
    return target is not None and target.type == 's3' and \
        target.options.get('overwrite', True) is False


def repair(config, results, *, now, force_overwrite=False):
    """Queue every repairable window again (under the run lock); fills ``result.repaired``
    and ``result.not_repaired``.

    On an s3 target with ``overwrite = false`` a ``mismatch`` or ``stale`` window could
    not be replaced (the run would get 412 and dead-letter it): it is reported and left
    alone, unless ``force_overwrite``: its backlog entry then says ``overwrite: true``,
    and the run replaces the stored object for this window only.

    :raises LockError: when a run holds the lock
    """
    from pycstbox.export.process.process import entry_parms
    from pycstbox.export.process.window import Window
    with RunLock(config.state_dir):
        for result in results:
            todo = [w for w in result.windows if w.status in REPAIRABLE]
            if not todo:
                continue
            keep = _no_overwrite(config, result.job)
            b = Backlog(result.job, root=os.path.join(config.state_dir, 'backlog'))
            for w in todo:
                replace = keep and w.status != 'missing'
                if replace and not force_overwrite:
                    result.not_repaired.append((w.jobid, NO_OVERWRITE))
                    continue
                if w.jobid not in b:
                    parms = entry_parms(result.job, Window(w.start, w.end), now)
                    if replace:
                        parms['overwrite'] = True
                    b[w.jobid] = parms
                result.repaired.append(w.jobid)
            if result.repaired:
                log.warning('job %s: %d window(s) queued again by audit --repair',
                            result.job, len(result.repaired))
