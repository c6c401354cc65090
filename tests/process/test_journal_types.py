"""Journal lines of the wrong types: skipped and reported, never fatal; `audit`, `audit --json`
and `status --json` work whatever the journal holds (DESIGN.md section 12)."""

import datetime
import hashlib
import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pycstbox.export import transports
from pycstbox.export.process.audit import audit_job
from pycstbox.export.process.journal import Journal, iso, record
from pycstbox.export.process.snapshot import collect
from pycstbox.export.process.windowjob import upload_name

from .helpers import T, write_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(ROOT, 'pycstbox', 'export', 'status.schema.json')
CONFIG = '''
[eventstore]
address = "unix:path=/nonexistent"
[targets.usb]
type = "dir"
path = "%(out)s"
[jobs.daily]
target = "usb"
period = "1d"
format = "csv"
start = "2026-11-20"
'''
DAY = datetime.timedelta(days=1)


def _delivered(out, day):
    """A window of 2026-11-DAY delivered to ``out``: its journal line (a dict)."""
    start = T('2026-11-%02d 00:00' % day)
    name = upload_name('lyon-b12', 'daily', start, start + DAY, 'csv')
    body = b'time,var,value\n%d\n' % day
    (out / name).write_bytes(body)
    return record(start.strftime('%y%m%d%H%M%S'), start, start + DAY, 'usb', events=3,
                  delivered_at=T('2026-11-28 00:15'), name=name, size=len(body),
                  sha256=hashlib.sha256(body).hexdigest())


def _setup(tmp_path):
    out = tmp_path / 'usb'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    os.makedirs(os.path.join(cfg.state_dir, 'journal'), exist_ok=True)
    os.makedirs(os.path.join(cfg.state_dir, 'state'), exist_ok=True)
    with open(os.path.join(cfg.state_dir, 'state', 'daily.json'), 'w') as f:
        json.dump({'watermark': '2026-11-23T00:00:00.000000Z'}, f)
    return cfg, out


def _journal_path(cfg):
    return os.path.join(cfg.state_dir, 'journal', 'daily.jsonl')


def _cli(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, CBX_EXPORT_NOW='2026-11-28T00:30:00Z',
               CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c',
                           str(tmp_path / 'export.toml')] + list(args), env=env,
                          capture_output=True, text=True, timeout=60)


def test_wrong_types_skipped_and_reported_never_a_traceback(tmp_path):
    """Valid JSON lines with "events": "288" or "delivered_at": "yesterday" are skipped with
    a warning naming the line and the field; audit, audit --json and status --json run."""
    cfg, out = _setup(tmp_path)
    good = [_delivered(out, d) for d in (20, 21, 22)]
    bad_events = dict(good[1], events='288')
    bad_time = dict(good[2], delivered_at='yesterday')
    with open(_journal_path(cfg), 'w') as f:
        for rec in good + [bad_events, bad_time]:
            f.write(json.dumps(rec) + '\n')
    (out / good[1]['name']).unlink()                     # lost at the receiver
    r = _cli(tmp_path, 'audit')
    assert 'Traceback' not in r.stderr and r.returncode == 1, r.stderr
    assert 'line 4 skipped: events is not a whole number' in r.stderr, r.stderr
    assert 'line 5 skipped: delivered_at is not a time' in r.stderr, r.stderr
    assert '2 ok, 1 missing' in r.stdout, r.stdout
    r = _cli(tmp_path, 'audit', '--json')
    assert 'Traceback' not in r.stderr and r.returncode == 1, r.stderr
    counts = json.loads(r.stdout)['jobs']['daily']['counts']
    assert counts['ok'] == 2 and counts['missing'] == 1
    r = _cli(tmp_path, 'status', '--json')
    assert 'Traceback' not in r.stderr and r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['jobs']['daily']['last_delivery']['at'] == \
        '2026-11-28T00:15:00Z'


# -- any journal contents -----------------------------------------------------------------

_any = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
                 st.text(max_size=20), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_times = st.sampled_from(['2026-11-21T00:00:00Z', '2026-11-22T00:00:00Z',
                          '2026-11-20T00:00:00.5Z', 'yesterday', '2026-13-01T00:00:00Z',
                          '2026-11-21T00:00:00+01:00', '2026-11-21', ''])


@st.composite
def _line(draw, good):
    """A journal line: a good one altered field by field, or anything at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=40)).replace(b'\n', b' ') + b'\n'
    if kind == 1:
        return json.dumps(draw(_any)).encode() + b'\n'
    rec = dict(draw(st.sampled_from(good)))
    for field in draw(st.lists(st.sampled_from(sorted(rec) + ['s3_checksum', 'x']),
                               max_size=3)):
        rec[field] = draw(st.one_of(_any, _times) if field in ('start', 'end', 'delivered_at')
                          else _any)
    if draw(st.booleans()):
        rec.pop(draw(st.sampled_from(sorted(rec))), None)
    text = json.dumps(rec, allow_nan=True).encode()
    return text + (b'\n' if draw(st.integers(0, 7)) else b'')


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_journal_contents(tmp_path_factory, data):
    """Whatever the journal holds: the reader never raises and yields only well-typed lines,
    the audit judges every window, and the status document validates against its schema."""
    from jsonschema import Draft202012Validator
    tmp_path = tmp_path_factory.mktemp('j')
    cfg, out = _setup(tmp_path)
    good = [_delivered(out, d) for d in (20, 21, 22)]
    lines = data.draw(st.lists(_line(good), max_size=8))
    with open(_journal_path(cfg), 'wb') as f:
        f.write(b''.join(lines))
    j = Journal(cfg.state_dir, 'daily')
    recs = list(j.read())
    for rec in recs:
        assert isinstance(rec['events'], int) and rec['end'] > rec['start']
        iso(rec['start'])
    t = transports.create(cfg.targets['usb'], site='lyon-b12')
    result = audit_job(cfg, cfg.jobs['daily'], records=list(j.latest().values()), pending=[],
                       dead=[], watermark=T('2026-11-23 00:00'), transport=t)
    assert result.error is None and len(result.windows) == 3
    with open(SCHEMA_PATH, encoding='utf-8') as f:
        validator = Draft202012Validator(json.load(f))
    doc = json.loads(json.dumps(collect(cfg, T('2026-11-28 00:30'),
                                        runtime_dir=str(tmp_path / 'run'))))
    errors = [e.message for e in validator.iter_errors(doc)]
    assert not errors, errors
