"""Running pending backlog entries, one by one: the inside of ``ExportProcess.run``.

A :class:`Runner` shares one event store client and one transport per target
between the entries of a run, and decides what each outcome means: success ->
entry deleted; temporary failure -> entry kept (with the file on flash when it
was made), the rest of that target (send failure) or of the store (read
failure) skipped for this run; permanent failure -> dead letter.
"""

import datetime
import logging
import os

from pycstbox.export.backlog import entry_bytes
from pycstbox.export.errors import ExportError
from pycstbox.export.process.state import JobState
from pycstbox.export.process.windowjob import WindowJob

log = logging.getLogger(__name__)


class Runner:
    """Runs pending entries one by one, sharing the store client and transports."""

    def __init__(self, process, now):
        self.p = process
        self.now = now
        self.delivered = self.empty = self.failed = self.dead = self.skipped = 0
        self.problems = []
        self._client = None
        self._flushed = False
        self._transports = {}
        self._bad_targets = {}
        self._store_down = None
        self._states = {}

    def state(self, job):
        if job not in self._states:
            self._states[job] = JobState(self.p.state_dir, job)
        return self._states[job]

    def source(self):
        if self._client is None:
            store = self.p.config.eventstore
            self._client = self.p._source_factory(store)
        if not self._flushed and self.p.config.eventstore.flush:
            self._client.flush()
            self._flushed = True
        return self._client

    def transport(self, target):
        if target not in self._transports:
            cfg = self.p.config.targets[target]
            self._transports[target] = self.p._transport_factory(cfg, self.p.config.site)
        return self._transports[target]

    def run_one(self, job, jobid):
        b = self.p.backlog(job.name)
        try:
            parms = b[jobid]
        except KeyError:
            self.problems.append('job %s: backlog entry %s was unreadable and was moved to %s'
                                 % (job.name, jobid, os.path.join(b.location, 'corrupt')))
            return
        if not (isinstance(parms, dict) and isinstance(parms.get('start'), datetime.datetime)
                and isinstance(parms.get('end'), datetime.datetime)
                and parms['start'].tzinfo and parms['start'] < parms['end']):
            b.set_aside(jobid, 'not a window entry (no aware start < end)')
            self.problems.append('job %s: backlog entry %s is not a window and was moved to %s'
                                 % (job.name, jobid, os.path.join(b.location, 'corrupt')))
            return
        if job.target in self._bad_targets:
            self.skipped += 1
            return
        if self._store_down and not parms.get('artifact'):
            self.skipped += 1
            return
        state = self.state(job.name)
        w = '%s..%s' % (parms['start'].strftime('%Y-%m-%dT%H:%M:%SZ'),
                        parms['end'].strftime('%Y-%m-%dT%H:%M:%SZ'))
        if parms['end'] < self.now - job.max_age and parms.get('attempts', 0) > 0:
            self._dead_letter(b, job, jobid, parms, None,
                              'window %s stayed pending longer than max_age (%s); last error: %s'
                              % (w, job.max_age, (state.last_error or {}).get('message')))
            return
        wj = WindowJob(job, jobid, parms, site=self.p.config.site, source=self.source,
                       transport=lambda: self.transport(job.target),
                       runtime_dir=os.path.join(self.p.runtime_dir, 'staging', job.name),
                       spool_dir=self.p.spool_dir(job.name), spill_limit=self.p._spill_limit)
        wj._sleep = self.p._sleep
        code = wj.run(max_try=job.max_try, retry_delay=job.retry_delay)
        if code == 0:
            del b[jobid]
            wj.artifact.discard()
            if wj.count:
                self.delivered += 1
                state.record_success(jobid, self.now, wj.count, wj.upload_name)
                log.info('job %s: window %s delivered to %s as %s (%d events)', job.name, w,
                         job.target, wj.upload_name, wj.count)
            else:
                self.empty += 1
                state.record_success(jobid, self.now, 0, None)
            return
        err = wj.last_error
        message = '%s: %s' % (wj.error_text(code), err)
        temporary = getattr(err, 'temporary', True)
        if temporary:
            self.failed += 1
            parms = dict(parms, attempts=parms.get('attempts', 0) + 1)
            if wj.artifact.path and wj.count:
                try:
                    wj.artifact.persist()
                    parms['artifact'] = wj.artifact.name
                    parms['events'] = wj.count
                except OSError as exc:
                    log.error('job %s: cannot keep the file of %s for the retry: %s', job.name,
                              jobid, exc)
                    wj.artifact.discard()
            try:
                b[jobid] = parms
            except ExportError as exc:
                log.error('job %s: %s', job.name, exc)
            if wj.store_failed:
                self._store_down = message
            elif wj.send_failed:
                self._bad_targets[job.target] = message
            log.warning('job %s: window %s stays pending (attempt %d): %s', job.name, w,
                        parms['attempts'], message)
            state.record_error(jobid, self.now, message, True)
        else:
            self._dead_letter(b, job, jobid, parms, wj, message)

    def _dead_letter(self, b, job, jobid, parms, wj, message):
        self.dead += 1
        if wj is not None and wj.artifact.path and os.path.exists(wj.artifact.path):
            wj.artifact.persist()
            self.p.dead.add_file(job.name, wj.artifact.path, wj.artifact.name, message,
                                 self.now)
        self.p.dead.add_data(job.name, jobid + '.json', entry_bytes(jobid, parms),
                             '%s\ntarget: %s\nwhat to do: fix the cause, then '
                             '"cbx-export backlog requeue %s %s"'
                             % (message, job.target, job.name, jobid), self.now)
        del b[jobid]
        state = self.state(job.name)
        state.record_error(jobid, self.now, message, False)

    def _save(self, state):
        try:
            state.save()
        except OSError as exc:
            msg = 'job %s: cannot write its state file: %s' % (state.job, exc)
            log.error('%s', msg)
            self.problems.append(msg)

    def close(self):
        """Save the job states (once per run: they are reports, not promises), close peers."""
        for state in self._states.values():
            self._save(state)
        for t in self._transports.values():
            try:
                t.close()
            except Exception:  # noqa: BLE001
                log.debug('closing a transport failed', exc_info=True)
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                log.debug('closing the event store client failed', exc_info=True)

