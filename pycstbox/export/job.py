"""The export job (seed API ``EventsExportJob``).

A job is one unit of work: ``prepare()``, ``export_events()`` -> event count,
``send_data()`` when that count is not zero (immediately retried up to
``max_try`` attempts, ``retry_delay`` seconds apart), and ``cleanup(error)``,
**always**, whatever happened.  ``run()`` returns 0 or the failed step's
``ERR_*`` code plus the error's subcode; the error itself is kept in
``last_error``.  An unexpected exception (a bug, an ``OSError``...) in any step
is caught, logged with its traceback and reported as that step's code, so it
never stops the jobs after it; only ``KeyboardInterrupt`` and ``SystemExit``
propagate (after ``cleanup``).
"""

import datetime
import logging
import time

from pycstbox.export.errors import ExportError

_STEP_TEXT = {
    0: 'no error',
    100: 'preparation failed',
    200: 'events extraction failed',
    300: 'data sending failed',
}


class EventsExportJob:
    """Base class of export jobs: subclasses implement ``export_events`` and ``send_data``."""

    ERR_NONE = 0
    ERR_PREPARE = 100
    ERR_EXPORT_EVENTS = 200
    ERR_SEND = 300

    #: seconds above which a receiver's Retry-After ends the immediate retries
    MAX_IMMEDIATE_WAIT = 60

    def __init__(self, jobname, jobid, parms, logger=None):
        """
        :param str jobname: the job name
        :param str jobid: the job id (sortable, chronological)
        :param parms: the execution parameters
        :param logger: optional ``logging.Logger`` (default: one named after the job)
        :raises ValueError: if a mandatory parameter is empty
        """
        if not jobname or not jobid or parms is None:
            raise ValueError('missing mandatory parameter (jobname, jobid and parms are required)')
        self._name = jobname
        self._id = jobid
        self._parms = parms
        self._error = None
        self._sleep = time.sleep
        self.log = logger or logging.getLogger('%s.%s' % (__name__, jobname))
        self.log.debug('job %s:%s created, parameters: %s', jobname, jobid, self._format_parms())

    def _format_parms(self):
        """Printable parameters, for the logs; override to hide sensitive values."""
        return str(self._parms)

    @property
    def name(self):
        return self._name

    @property
    def job_id(self):
        return self._id

    @property
    def parms(self):
        return self._parms

    @property
    def last_error(self):
        """The exception of the last failed run, None after a success."""
        return self._error

    @staticmethod
    def make_jobid(ts=None):
        """``'YYMMDDHHMMSS'`` of ``ts``, or of the current UTC time when ``ts`` is None."""
        if ts is None:
            ts = datetime.datetime.now(datetime.timezone.utc)
        elif ts.tzinfo is not None:
            ts = ts.astimezone(datetime.timezone.utc)
        return ts.strftime('%y%m%d%H%M%S')

    @staticmethod
    def jobid_time(jobid):
        """The aware UTC time a job id starts with (inverse of :meth:`make_jobid`), or None.

        Only the first 12 characters count (``261120000000.2``, a dead letter's second id).
        """
        try:
            return datetime.datetime.strptime(jobid[:12], '%y%m%d%H%M%S').replace(
                tzinfo=datetime.timezone.utc)
        except (ValueError, TypeError):
            return None

    @classmethod
    def error_text(cls, code):
        """A readable text for a code returned by :meth:`run` (subcode included)."""
        try:
            code = int(code)
        except (TypeError, ValueError):
            return 'unknown error code %r' % (code,)
        if code < 0:
            return 'unknown error code %d' % code
        step, sub = (code // 100) * 100, code % 100
        text = _STEP_TEXT.get(step)
        if text is None:
            return 'unknown error code %d' % code
        if step and sub:
            return '%s (subcode %d)' % (text, sub)
        return text

    def run(self, max_try=1, retry_delay=10):
        """Run the job: see the module docstring.

        :param int max_try: total number of send attempts (>= 1)
        :param retry_delay: seconds between attempts (>= 0)
        :returns: 0, or ``ERR_*`` + subcode
        :raises ValueError: on invalid arguments
        """
        if isinstance(max_try, bool) or not isinstance(max_try, int) or max_try < 1:
            raise ValueError('invalid max_try (%r): a whole number >= 1 is required' % (max_try,))
        if isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float)) \
                or not retry_delay >= 0:
            raise ValueError('invalid retry_delay (%r): a number of seconds >= 0 is required'
                             % (retry_delay,))
        self._error = None
        code = self.ERR_PREPARE
        error = None
        try:
            self.prepare()
            code = self.ERR_EXPORT_EVENTS
            count = self.export_events()
            if count:
                self.log.info('%s:%s: %d events exported', self._name, self._id, count)
                code = self.ERR_SEND
                self._send_with_retries(max_try, retry_delay)
            else:
                self.log.info('%s:%s: no event in the window, nothing to send',
                              self._name, self._id)
        except ExportError as exc:
            error = exc
            self.log.log(getattr(exc, 'log_level', logging.ERROR), '%s:%s: %s: %s', self._name,
                         self._id, self.error_text(code), exc)
        except (KeyboardInterrupt, SystemExit) as exc:
            self._error = exc
            self._safe_cleanup(exc)
            raise
        except Exception as exc:  # noqa: BLE001 -- one bad job must not stop the others
            error = exc
            self.log.exception('%s:%s: %s: unexpected error', self._name, self._id,
                               self.error_text(code))
        self._error = error
        self._safe_cleanup(error)
        if error is None:
            return self.ERR_NONE
        return code + (error.subcode if isinstance(error, ExportError) else 0)

    def _send_with_retries(self, max_try, retry_delay):
        attempt = 1
        while True:
            try:
                self.send_data()
                return
            except ExportError as exc:
                retry_after = getattr(exc, 'retry_after', None) or 0
                if attempt >= max_try or not exc.temporary \
                        or retry_after > self.MAX_IMMEDIATE_WAIT:
                    raise
                wait = max(retry_delay, retry_after)
                self.log.warning('%s:%s: send attempt %d/%d failed (%s), retrying in %s s',
                                 self._name, self._id, attempt, max_try, exc, wait)
                self._sleep(wait)
                attempt += 1

    def _safe_cleanup(self, error):
        try:
            self.cleanup(error)
        except Exception:  # noqa: BLE001
            self.log.exception('%s:%s: cleanup failed', self._name, self._id)

    # -- steps for subclasses ----------------------------------------------------

    def prepare(self):
        """Optional: called first. :raises ExportError: on failure."""

    def export_events(self):
        """Mandatory: extract and format the events. :returns: the event count."""
        raise NotImplementedError()

    def send_data(self):
        """Mandatory: send what ``export_events`` produced. :raises ExportError: on failure."""
        raise NotImplementedError()

    def cleanup(self, error=None):
        """Optional: always called last, with the error (None on success)."""
