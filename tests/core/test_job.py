"""The seed EventsExportJob API: sequence, codes, retries, cleanup."""

import datetime
import time

import pytest

from pycstbox.export import (ERR_EXPORT_EVENTS, ERR_PREPARE, ERR_SEND, EventsExportJob,
                             ExportError, PermanentError, TemporaryError)


class Job(EventsExportJob):
    """A scriptable job recording its steps."""

    def __init__(self, *, count=3, prepare=None, export=None, send=(), cleanup=None):
        super().__init__('test', '261127000000', {'p': 1})
        self.count, self.fail_prepare, self.fail_export = count, prepare, export
        self.send_errors = list(send)
        self.fail_cleanup = cleanup
        self.steps = []
        self.sleeps = []
        self._sleep = self.sleeps.append

    def prepare(self):
        self.steps.append('prepare')
        if self.fail_prepare:
            raise self.fail_prepare

    def export_events(self):
        self.steps.append('export')
        if self.fail_export:
            raise self.fail_export
        return self.count

    def send_data(self):
        self.steps.append('send')
        if self.send_errors:
            raise self.send_errors.pop(0)

    def cleanup(self, error=None):
        self.steps.append(('cleanup', error))
        if self.fail_cleanup:
            raise self.fail_cleanup


@pytest.mark.parametrize('args', [('', 'id', {}), ('n', '', {}), ('n', 'id', None)])
def test_mandatory_parameters(args):
    """An empty jobname, jobid or a None parms raises ValueError."""
    with pytest.raises(ValueError):
        EventsExportJob(*args)


def test_properties():
    """job_id and last_error are exposed; last_error is None before a run."""
    j = Job()
    assert j.job_id == '261127000000' and j.last_error is None


def test_success_sequence():
    """prepare, export, send, cleanup(None) in that order; run returns 0."""
    j = Job()
    assert j.run() == 0
    assert j.steps == ['prepare', 'export', 'send', ('cleanup', None)]
    assert j.last_error is None


def test_zero_events_skip_send():
    """send_data is not called when no event was exported; still a success."""
    j = Job(count=0)
    assert j.run() == 0
    assert j.steps == ['prepare', 'export', ('cleanup', None)]


@pytest.mark.parametrize('step,code', [('prepare', ERR_PREPARE), ('export', ERR_EXPORT_EVENTS)])
def test_step_errors_codes_and_subcode(step, code):
    """An ExportError in a step returns that step's code plus the subcode; cleanup gets it."""
    err = ExportError('boom', subcode=7)
    j = Job(**{step: err})
    assert j.run() == code + 7
    assert j.last_error is err
    assert j.steps[-1] == ('cleanup', err)


def test_subcode_modulo_100():
    """ExportError keeps its subcode modulo 100."""
    assert ExportError('x', 142).subcode == 42
    assert ExportError('x').subcode == 0


def test_send_retried_up_to_max_try():
    """send_data is attempted max_try times, retry_delay seconds apart."""
    j = Job(send=[TemporaryError('t1'), TemporaryError('t2')])
    assert j.run(max_try=3, retry_delay=5) == 0
    assert j.steps.count('send') == 3 and j.sleeps == [5, 5]


def test_send_exhausted_returns_err_send():
    """When every attempt fails run returns ERR_SEND + subcode and keeps the error."""
    errs = [TemporaryError('t', subcode=4) for _ in range(2)]
    j = Job(send=errs)
    assert j.run(max_try=2, retry_delay=1) == ERR_SEND + 4
    assert j.last_error is errs[1]


def test_permanent_error_not_retried():
    """A permanent error is not retried immediately."""
    j = Job(send=[PermanentError('401')])
    assert j.run(max_try=3, retry_delay=1) == ERR_SEND
    assert j.steps.count('send') == 1


def test_retry_after_respected():
    """A receiver's Retry-After longer than retry_delay is waited for."""
    j = Job(send=[TemporaryError('429', retry_after=30)])
    assert j.run(max_try=2, retry_delay=1) == 0
    assert j.sleeps == [30]


@pytest.mark.parametrize('step,code', [('prepare', ERR_PREPARE), ('export', ERR_EXPORT_EVENTS),
                                       ('send', ERR_SEND)])
def test_unexpected_exception_is_step_error_and_cleanup_runs(step, code, caplog):
    """A non-ExportError is caught, logged with traceback, reported as the step's code (defect 5)."""
    err = ZeroDivisionError('bug')
    kw = {'send': [err]} if step == 'send' else {step: err}
    j = Job(**kw)
    assert j.run(max_try=3) == code
    assert j.steps[-1] == ('cleanup', err)
    assert j.last_error is err
    assert any(r.exc_info for r in caplog.records)


def test_keyboard_interrupt_propagates_after_cleanup():
    """KeyboardInterrupt propagates, but cleanup still ran."""
    j = Job(export=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        j.run()
    assert j.steps[-1][0] == 'cleanup'


def test_failing_cleanup_does_not_change_result():
    """An error in cleanup is logged and does not turn a success into a crash."""
    j = Job(cleanup=RuntimeError('cleanup bug'))
    assert j.run() == 0


@pytest.mark.parametrize('kw', [{'max_try': 0}, {'max_try': -1}, {'max_try': 1.5},
                                {'max_try': 'x'}, {'retry_delay': -1}, {'retry_delay': 'x'},
                                {'max_try': True}])
def test_invalid_run_arguments(kw):
    """Invalid max_try / retry_delay raise ValueError."""
    with pytest.raises(ValueError):
        Job().run(**kw)


def test_make_jobid_of_timestamp():
    """make_jobid(ts) formats ts as YYMMDDHHMMSS."""
    ts = datetime.datetime(2026, 11, 27, 13, 45, 12)
    assert EventsExportJob.make_jobid(ts) == '261127134512'


def test_make_jobid_aware_is_utc():
    """An aware timestamp is converted to UTC first."""
    tz = datetime.timezone(datetime.timedelta(hours=1))
    assert EventsExportJob.make_jobid(datetime.datetime(2026, 11, 27, 1, 0, tzinfo=tz)) \
        == '261127000000'


def test_make_jobid_default_is_now_not_import_time():
    """The default timestamp is evaluated at each call (defect 1)."""
    a = EventsExportJob.make_jobid()
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%y%m%d%H%M%S')
    assert abs(int(a) - int(now)) <= 1 or a[:10] == now[:10]
    time.sleep(1.05)
    assert EventsExportJob.make_jobid() != a


@pytest.mark.parametrize('code,text', [(0, 'no error'), (100, 'preparation failed'),
                                       (200, 'events extraction failed'),
                                       (300, 'data sending failed'),
                                       (304, 'data sending failed (subcode 4)'),
                                       (242, 'events extraction failed (subcode 42)')])
def test_error_text(code, text):
    """error_text works for every code run() can return, subcode included."""
    assert Job().error_text(code) == text


def test_error_text_unknown():
    """Unknown codes get a text saying so, not an exception."""
    assert 'unknown' in EventsExportJob.error_text(999)
    assert 'unknown' in EventsExportJob.error_text(None)
