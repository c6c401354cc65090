"""The budget counters: periods (local day, calendar month, DST), clock steps, power cuts."""

import datetime
import json
import shutil
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from pycstbox.export.config.budget import parse_budget
from pycstbox.export.process.budget import next_period
from pycstbox.export.process.ledger import Ledger, period_key

UTC = datetime.timezone.utc
PARIS = ZoneInfo('Europe/Paris')


def T(s):
    return datetime.datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_period_keys_follow_the_local_calendar():
    """Day and month keys are the local date in the time zone, DST days and month ends included."""
    assert period_key(T('2026-10-31 22:59'), PARIS, 'day') == '2026-10-31'
    assert period_key(T('2026-10-31 23:00'), PARIS, 'day') == '2026-11-01'
    assert period_key(T('2026-10-31 23:00'), PARIS, 'month') == '2026-11'
    assert period_key(T('2026-10-31 22:59'), PARIS, 'month') == '2026-10'
    # the autumn DST day lasts 25 hours: one key from 22:00Z on the 24th to 23:00Z on the 25th
    assert period_key(T('2026-10-24 22:00'), PARIS, 'day') == '2026-10-25'
    assert period_key(T('2026-10-25 22:59'), PARIS, 'day') == '2026-10-25'
    assert next_period(T('2026-10-25 12:00'), PARIS, 'day') == T('2026-10-25 23:00')
    assert next_period(T('2026-03-28 12:00'), PARIS, 'day') == T('2026-03-28 23:00')
    assert next_period(T('2026-03-29 12:00'), PARIS, 'day') == T('2026-03-29 22:00')
    assert next_period(T('2026-12-15 12:00'), PARIS, 'month') == T('2026-12-31 23:00')


def test_parse_budget():
    """Sizes per day or month; a clear reason for anything else."""
    assert tuple(parse_budget('300KiB/day')) == (307200, 'day')
    assert tuple(parse_budget('1 GiB / month')) == (1024 ** 3, 'month')
    assert parse_budget('') is None
    for bad, why in (('300KiB', 'per day or per month'), ('300KiB/week', 'per day or per month'),
                     ('lots/day', 'size'), ('1KiB/day', 'too small')):
        try:
            parse_budget(bad)
        except ValueError as exc:
            assert why in str(exc)
        else:
            raise AssertionError(bad)


def test_month_boundary_starts_from_zero(tmp_path):
    """A month budget counts the whole local month and starts again on the 1st (local)."""
    led = Ledger(str(tmp_path / 'state'), str(tmp_path / 'run'), 'wh')
    budget = 100_000
    key = period_key(T('2026-10-31 22:30'), PARIS, 'month')
    assert led.reserve(key, 'month', budget, 60_000)[0]
    assert not led.reserve(key, 'month', budget, 60_000)[0]      # does not fit: blocked
    assert not led.reserve(key, 'month', budget, 10)[0]          # and nothing jumps ahead
    key = period_key(T('2026-10-31 23:00'), PARIS, 'month')      # Nov 1st, 00:00 in Paris
    ok, rec = led.reserve(key, 'month', budget, 60_000)
    assert ok and (rec['period'], rec['used'], rec['blocked']) == ('2026-11', 60_000, None)


def test_config_error_lines(tmp_path):
    """A bad budget or budget_when is one line naming the file and the key."""
    from pycstbox.export.config import ConfigError, load
    for body, key, why in (('budget = "10/week"', 'budget', 'per day or per month'),
                           ('budget_when = "sometimes"', 'budget_when', '"always" or "metered"')):
        path = tmp_path / 'c.toml'
        path.write_text('[targets.usb]\ntype = "dir"\npath = "/tmp"\n%s\n' % body)
        try:
            load(str(path), environ={})
        except ConfigError as exc:
            assert str(exc).startswith('%s: targets.usb.%s: ' % (path, key)) and why in str(exc)
        else:
            raise AssertionError(body)


ops = st.lists(st.tuples(st.sampled_from(['reserve', 'release', 'cut', 'clock']),
                         st.integers(1, 40_000), st.integers(-2, 3)), max_size=40)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_never_under_counts(tmp_path_factory, steps):
    """Whatever the order of uploads, failures, power cuts and clock steps: the count of a
    period is never below the bytes sent in it, never above the budget, and a period that
    had uploads never goes back to a lower count when the clock steps back."""
    tmp = tmp_path_factory.mktemp('ledger')
    led = Ledger(str(tmp / 'state'), str(tmp / 'run'), 'wh')
    budget = 100_000
    day = datetime.date(2026, 11, 10)
    sent = {}                       # period -> bytes really sent (reserved and not released)
    last = None
    for op, n, shift in steps:
        key = (day + datetime.timedelta(days=shift)).isoformat()
        if op == 'reserve':
            ok, rec = led.reserve(key, 'day', budget, n)
            if ok:
                sent[rec['period']] = sent.get(rec['period'], 0) + n
                last = (rec['period'], n)
        elif op == 'release' and last:
            period, m = last
            rec = led.current(key, 'day')
            if rec['period'] == period:
                led.release(key, 'day', m)
                sent[period] -= m
            last = None
        elif op == 'cut':
            shutil.rmtree(tmp / 'run', ignore_errors=True)
            last = None
        else:
            day += datetime.timedelta(days=shift)
        rec = led.current(key, 'day')
        assert rec['used'] >= sent.get(rec['period'], 0)
        assert rec['used'] <= budget
        assert rec['period'] >= key
    flash = tmp / 'state' / 'budget' / 'wh.json'
    if flash.exists():
        assert json.loads(flash.read_text())['granted'] <= budget
