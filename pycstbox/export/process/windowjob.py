"""The concrete export job: one window of one configured job, from the store to the target.

``WindowJob`` is an :class:`EventsExportJob`: ``export_events`` streams the
window from the event store through the format into an :class:`Artifact`
(or reuses the artifact a previous failed attempt kept on flash), and
``send_data`` hands it to the transport under its stable name with its
idempotency key.  It does no retry of its own beyond the seed ``run()``.
"""

import datetime
import os

from pycstbox.export.process.artifact import Artifact
from pycstbox.export.errors import EventStoreError, ExportError
from pycstbox.export.job import EventsExportJob

UTC = datetime.timezone.utc


def upload_name(site, job, start, end, ext):
    """``{site}_{job}_{start}_{end}.{ext}`` with UTC ``%Y%m%dT%H%M%SZ`` stamps (contract)."""
    fmt = '%Y%m%dT%H%M%SZ'
    return '%s_%s_%s_%s.%s' % (site, job, start.astimezone(UTC).strftime(fmt),
                               end.astimezone(UTC).strftime(fmt), ext)


class WindowJob(EventsExportJob):
    """Export the window ``[parms['start'], parms['end'])`` of job ``jobcfg``."""

    def __init__(self, jobcfg, jobid, parms, *, site, source, transport, runtime_dir,
                 spool_dir, logger=None, spill_limit=None, sleep=None, progress=None,
                 gate=None):
        super().__init__(jobcfg.name, jobid, parms, logger)
        if sleep is not None:
            self._sleep = sleep           # the seed job's wait between immediate attempts
        self._progress = progress         # progress(start, end) -> reporter, or None
        from pycstbox.export import formats
        self.cfg = jobcfg
        self.site = site
        self._source = source            # callable returning the event store client
        self._transport = transport      # callable returning the transport
        self.start = parms['start']
        self.end = parms['end']
        ext = formats.extension(jobcfg.format, jobcfg.compress)
        self.upload_name = upload_name(site, jobcfg.name, self.start, self.end, ext)
        kw = {'limit': spill_limit} if spill_limit else {}
        self.artifact = Artifact(runtime_dir, spool_dir, '%s.%s' % (jobid, ext), **kw)
        self.count = None
        self.delivery = None             # what send() returned: None or a Delivery(key, checksum)
        self.sha256 = self.bytes = None  # of the file sent (for the journal)
        self.store_failed = False
        self.send_failed = False
        self._gate = gate                # gate(size, name) -> bytes counted (budget) or raises
        self.reserved = None             # BudgetWait; what it counted, once per window

    def _format_parms(self):
        return '%s..%s' % (self.parms['start'].isoformat(), self.parms['end'].isoformat())

    @property
    def idempotency_key(self):
        return '%s-%s-%s' % (self.site, self.cfg.name, self.job_id)

    def export_events(self):
        kept = self.parms.get('artifact')
        if kept and os.path.isfile(self.artifact.slow):
            self.artifact.path = self.artifact.slow
            self.count = int(self.parms.get('events') or 1)
            self.log.info('%s:%s: reusing the file kept from a previous attempt (%d events)',
                          self.name, self.job_id, self.count)
            return self.count
        from pycstbox.export.process.extract import extract
        progress = self._progress(self.start, self.end) if self._progress else None
        try:
            client = self._source()
            events = client.events(self.start, self.end, self.cfg.var_types, self.cfg.var_names)
            out = self.artifact.open()
            try:
                self.count = extract(events, self.cfg.format, out, self.cfg.compress,
                                     tmpdir=os.path.dirname(self.artifact.path or out.path),
                                     progress=progress, level=self.cfg.compress_level)
            finally:
                if progress is not None:
                    progress.finish()
                self.artifact.finish()
        except EventStoreError:
            self.store_failed = True
            raise
        except ImportError as exc:       # zstd without python3-zstandard: pending until installed
            raise ExportError('%s: %s' % (self.name, exc)) from exc
        except OSError as exc:
            raise ExportError('cannot write the export file %s: %s (is the disk full?)'
                              % (self.artifact.name, exc.strerror or exc)) from exc
        return self.count

    def send_data(self):
        try:
            # hashed while written; a file kept from an earlier attempt is read once here
            try:
                self.sha256, self.bytes = self.artifact.digest()
            except OSError:
                pass                     # the transport says what is wrong with the file
            if self._gate is not None and self.reserved is None:
                size = self.bytes if self.bytes is not None else os.path.getsize(
                    self.artifact.path)
                self.reserved = self._gate(size, self.upload_name)
            from pycstbox.export.transports import takes_meta
            transport = self._transport()
            kw = {'meta': {'start': self.start, 'end': self.end, 'events': self.count,
                           'sha256': self.sha256}} if takes_meta(transport) else {}
            forced = self.parms.get('overwrite') is True and \
                getattr(transport, 'overwrite', None) is False
            if forced:                  # audit --repair --force-overwrite: this window only
                transport.overwrite = True
            try:
                self.delivery = transport.send(
                    self.artifact.path, self.upload_name, job=self.cfg.name,
                    key=self.idempotency_key, start=self.start, **kw)
            finally:
                if forced:
                    transport.overwrite = False
        except ExportError:
            self.send_failed = True
            raise

    def cleanup(self, error=None):
        if error is None:
            self.artifact.discard()
        elif self.store_failed or not self.count:
            self.artifact.discard()
