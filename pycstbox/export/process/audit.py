"""``cbx-export audit``: does the receiver hold, window by window, what was delivered?

For each job, every window from ``--since`` (else the job's ``start``, else the oldest
window the box knows of) up to the watermark gets one status (DESIGN section 12):

- ``pending`` / ``dead``: in the backlog / in the dead letters;
- ``ok``: the receiver holds the journaled key with the journaled size (and SHA-256
  or checksum where the receiver gives one), or the window was empty;
- ``missing``: not at the receiver; ``mismatch``: another size or checksum;
- ``unverifiable``: the target cannot be listed (http, serial), or the window was
  delivered to another target than the one configured now;
- ``stale`` (``deep`` only): a re-export of the window from the store now gives other
  bytes than were delivered (late events).  Exports are deterministic, so equal
  SHA-256 means equal events.

The inputs are handed in (journal records, pending and dead windows, a transport,
a re-export function): nothing here reads the clock or talks to the network itself.
"""

import datetime
import logging
import os
from typing import NamedTuple

from pycstbox.export.errors import ExportError
from pycstbox.export.job import EventsExportJob
from pycstbox.export.process.verdict import differs as _differs
from pycstbox.export.process.verdict import same_checksum as _same_checksum
from pycstbox.export.process.window import first_window, next_window, window_containing
from pycstbox.export.process.windowjob import upload_name

log = logging.getLogger(__name__)

STATUSES = ('ok', 'missing', 'mismatch', 'pending', 'dead', 'unverifiable', 'stale')
#: statuses that make the audit fail (exit 1)
GAPS = ('missing', 'mismatch', 'stale', 'pending', 'dead')
#: statuses that ``--repair`` puts back in the backlog
REPAIRABLE = ('missing', 'mismatch', 'stale')
SCHEMA = 'cstbox-export-audit/1'


class Span(NamedTuple):
    """A backlog entry, a dead letter or a journal line: what it covers."""
    start: datetime.datetime
    end: datetime.datetime
    info: object = None


class WindowAudit(NamedTuple):
    jobid: str
    start: datetime.datetime
    end: datetime.datetime
    name: str
    key: str
    status: str
    detail: str = ''


class JobAudit:
    """The windows of one job with their status, the counts and a job-level error."""

    def __init__(self, job, target_type=''):
        self.job = job
        self.target_type = target_type
        self.windows = []
        self.counts = dict.fromkeys(STATUSES, 0)
        self.error = None
        self.repaired = []
        self.not_repaired = []         # (jobid, why) of windows --repair could not queue

    def add(self, w):
        self.windows.append(w)
        self.counts[w.status] += 1

    @property
    def complete(self):
        return self.error is None and not any(self.counts[s] for s in GAPS)

    @property
    def repaired_all(self):
        """After ``--repair``: every gap is queued (repaired now, or pending already)."""
        queued = set(self.repaired)
        return self.error is None and not self.not_repaired and not [
            w for w in self.windows
            if w.status in GAPS and w.status != 'pending' and w.jobid not in queued]


class _Lookup:
    """Spans found by window: exact ones by job id, wider ones (gaps) by interval."""

    def __init__(self, spans, period):
        self.exact = {}
        self.wide = []
        for s in spans:
            if s.end - s.start > period + datetime.timedelta(hours=2):
                self.wide.append(s)
            else:
                self.exact[EventsExportJob.make_jobid(s.start)] = s

    def get(self, jobid, start):
        found = self.exact.get(jobid)
        if found is None:
            for s in self.wide:
                if s.start <= start < s.end:
                    return s
        return found

    def starts(self):
        return [s.start for s in self.exact.values()] + [s.start for s in self.wide]


def windows(job, tz, first, bound):
    """The windows of ``job`` from the one holding ``first`` (date or instant) to ``bound``."""
    if isinstance(first, datetime.datetime):
        w = window_containing(first, job.period, tz)
    else:
        w = first_window(first, job.period, tz)
    while w.end <= bound:
        yield w
        w = next_window(w, job.period, tz)


def audit_job(config, job, *, records, pending, dead, watermark, transport=None,
              reexport=None, since=None, progress=None, stat_transport=None):
    """Audit one job; returns a :class:`JobAudit`.

    :param records: journal records (dicts with aware ``start``/``end``), last per job id
    :param pending: :class:`Span` of the job's backlog entries; ``dead``: of its dead letters
    :param watermark: end of the last window put in the backlog (None: nothing yet)
    :param transport: the job's target transport (listing/stat/remote_key), or None
    :param reexport: ``reexport(job, start, end) -> (events, sha256, bytes)`` for ``--deep``
    :param since: a ``date``: audit the windows from that local day on
    :param progress: ``progress(done, total, window_start)`` or None
    :param stat_transport: makes another transport of the target (for the stats the
        listing cannot answer, asked ahead a few at a time: :mod:`.statahead`), or None
    """
    from pycstbox.export import formats
    result = JobAudit(job.name, getattr(transport, 'type', ''))
    period = job.period
    journal = _Lookup([Span(r['start'], r['end'], r) for r in records], period)
    waiting = _Lookup(pending, period)
    lost = _Lookup(dead, period)
    known = journal.starts() + waiting.starts() + lost.starts()
    first = since or job.start or (min(known) if known else None)
    if since and job.start and since < job.start:
        first = job.start              # windows before the job's start were never due
    ends = ([watermark] if watermark else []) + [s.end for s in pending] + [s.end for s in dead]
    if first is None or not ends:
        return result
    bound = max(ends)
    todo = list(windows(job, config.tz, first, bound))
    ext = formats.extension(job.format, job.compress)
    checker = _Checker(result, job, transport, reexport, todo, ext, config.site)
    if result.error:
        return result
    if stat_transport is not None and checker.files is not None:
        checker.ahead([journal.get(EventsExportJob.make_jobid(w.start), w.start)
                       for w in todo if not waiting.get(EventsExportJob.make_jobid(w.start),
                                                        w.start)
                       and not lost.get(EventsExportJob.make_jobid(w.start), w.start)],
                      stat_transport)
    try:
        _judge(config, job, result, todo, ext, checker, journal, waiting, lost, progress)
    finally:
        checker.close()
    return result


def _judge(config, job, result, todo, ext, checker, journal, waiting, lost, progress):
    """One status per window of ``todo``, added to ``result``."""
    for done, w in enumerate(todo, 1):
        if progress is not None:
            progress(done, len(todo), w.start)
        jobid = EventsExportJob.make_jobid(w.start)
        name = upload_name(config.site, job.name, w.start, w.end, ext)
        if waiting.get(jobid, w.start):
            result.add(WindowAudit(jobid, w.start, w.end, name, '', 'pending',
                                   'waiting in the backlog'))
        elif lost.get(jobid, w.start):
            result.add(WindowAudit(jobid, w.start, w.end, name, '', 'dead',
                                   'dead-lettered: see "cbx-export status"'))
        else:
            span = journal.get(jobid, w.start)
            result.add(checker.check(jobid, w, name, span.info if span else None))
        if result.error:
            break


class _Checker:
    """Compares one window with the receiver's listing and (deep) with a re-export."""

    def __init__(self, result, job, transport, reexport, todo, ext, site):
        self.result = result
        self.job = job
        self.transport = transport
        self.reexport = reexport
        self._digests = {}
        self.files = None          # {key: RemoteFile}, None when the target cannot be listed
        self.stated = None         # a StatAhead when stats are fetched ahead
        self.prefix = ''
        self.why = ''
        if transport is None:
            self.why = 'target %s is not configured' % job.target
            return
        keys = [self.key(upload_name(site, job.name, w.start, w.end, ext), w.start)
                for w in (todo[0], todo[-1])] if todo else ['']
        self.prefix = os.path.commonprefix(keys)
        try:
            self.files = {f.key: f for f in transport.listing(self.prefix)}
        except NotImplementedError:
            self.why = 'target %s (%s) cannot be listed' % (job.target, transport.type)
        except ExportError as exc:
            result.error = 'cannot list target %s: %s' % (job.target, exc)

    def ahead(self, spans, make_transport):
        """Ask ahead for the stats the journaled windows of ``spans`` will need."""
        from pycstbox.export.process.statahead import MINIMUM, StatAhead
        keys = []
        for span in spans:
            rec = span.info if span is not None else None
            if not rec or not rec.get('events') or rec.get('target') != self.job.target:
                continue
            key = rec.get('key') or rec.get('name') or ''
            f = self.files.get(key)
            if f is not None and not (f.sha256 or f.checksum) and (
                    rec.get('s3_checksum') or getattr(self.transport, 'stat_checksum', False)):
                keys.append(key)
        if len(keys) >= MINIMUM:
            self.stated = StatAhead(keys, make_transport)

    def _stat(self, key):
        """``transport.stat(key)``, or its answer fetched ahead."""
        if self.stated is not None and key in self.stated:
            return self.stated.take(key)
        return self.transport.stat(key)

    def close(self):
        if self.stated is not None:
            self.stated.close()

    def key(self, name, start):
        return self.transport.remote_key(name, job=self.job.name, start=start)

    def remote(self, key, need_checksum, journaled_checksum=False):
        """The receiver's RemoteFile for ``key`` (None when absent).

        A key the listing does not show is asked for (``stat``): a listing only ever
        proves presence, never absence (a store may leave keys out of a page), so
        ``missing`` is said only when the receiver itself answers that the key is absent.
        When the listing gave no checksum, ``stat`` is asked for one if the transport
        says its ``stat`` has one (dir: hashes the file) or the receiver gave one at
        delivery (s3: HEAD with checksum mode).
        """
        f = self.files.get(key)
        if f is None:
            return self.transport.stat(key)
        if need_checksum and not (f.sha256 or f.checksum) and (
                journaled_checksum or getattr(self.transport, 'stat_checksum', False)):
            f = self._stat(key) or f
        return f

    def confirmed(self, key, f, differs):
        """``f`` once the receiver's own answer (``stat``) agrees that it ``differs``."""
        if self.files.get(key) is f and differs(f):
            return self.transport.stat(key)
        return f

    def digest(self, start, end):
        """(events, sha256, bytes) of a re-export, None when not deep or when it failed."""
        if self.reexport is None or self.result.error:
            return None
        if (start, end) not in self._digests:
            try:
                self._digests[(start, end)] = self.reexport(self.job, start, end)
            except ExportError as exc:
                self.result.error = 'cannot re-export %s..%s from the event store: %s' % (
                    start.isoformat(), end.isoformat(), exc)
                return None
        return self._digests[(start, end)]

    def check(self, jobid, w, name, rec):
        out = lambda status, detail, key='', n=name: WindowAudit(  # noqa: E731
            jobid, w.start, w.end, n, key, status, detail)
        try:
            if rec is None:
                return self._unjournaled(out, w, name)
            return self._journaled(out, rec)
        except ExportError as exc:
            self.result.error = 'cannot check target %s: %s' % (self.job.target, exc)
            return out('unverifiable', str(exc))

    def _journaled(self, out, rec):
        start, end = rec['start'], rec['end']
        if not rec.get('events'):
            d = self.digest(start, end)
            if d and d[0]:
                return out('stale', 'empty when exported; the store now has %d event(s)'
                           % d[0], n='')
            return out('ok', 'empty window', n='')
        name, key = rec.get('name') or '', rec.get('key') or rec.get('name') or ''
        if rec.get('target') != self.job.target:
            return self._deep(out('unverifiable', 'delivered to target %s, the job now sends '
                                  'to %s' % (rec.get('target'), self.job.target), key, name),
                              rec)
        if self.files is None:
            return self._deep(out('unverifiable', self.why, key, name), rec)
        f = self.remote(key, True, bool(rec.get('s3_checksum')))
        f = self.confirmed(key, f, lambda f: _differs(f, rec) is not None)
        if f is None:
            return out('missing', 'not at the receiver (%d bytes, %d events delivered %s)'
                       % (rec.get('bytes') or 0, rec['events'], rec.get('delivered_at')),
                       key, name)
        why = _differs(f, rec)
        if why is not None:
            return out('mismatch', why, key, name)
        how = 'SHA-256' if f.sha256 else 'checksum' if _same_checksum(f, rec) else 'size'
        return self._deep(out('ok', '%d bytes, %s checked' % (f.size, how), key, name), rec)

    def _deep(self, found, rec):
        d = self.digest(rec['start'], rec['end'])
        if d is None or d[1] == rec.get('sha256'):
            return found
        return found._replace(status='stale', detail='the store now gives %d event(s), %d '
                              'delivered (late data): the receiver\'s copy is out of date'
                              % (d[0], rec['events']))

    def _unjournaled(self, out, w, name):
        key = self.key(name, w.start) if self.transport is not None else name
        d = self.digest(w.start, w.end)
        if d is not None and d[0] == 0:
            return out('ok', 'empty window (no journal line; re-exported)', key, '')
        if self.files is None:
            return out('unverifiable', 'no journal line; %s' % self.why, key)
        f = self.remote(key, d is not None)
        if f is None:
            what = ('%d event(s) in the store' % d[0]) if d else 'an empty window, or lost: ' \
                '--deep tells'
            return out('missing', 'no journal line and not at the receiver (%s)' % what, key)
        if d is not None and (f.size != d[2] or (f.sha256 and f.sha256 != d[1])):
            return out('stale', 'no journal line; the receiver\'s %d bytes differ from a '
                       're-export (%d bytes, %d events)' % (f.size, d[2], d[0]), key)
        return out('ok', 'no journal line (delivered before the journal existed?); %d bytes '
                   'at the receiver%s' % (f.size, ', equal to a re-export' if d else ''), key)

