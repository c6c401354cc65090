"""Audit logic cases without a bus: old windows without journal lines, duplicates, gaps, since."""

import datetime
import hashlib
import os

from pycstbox.export import transports
from pycstbox.export.process.audit import Span, audit_job
from pycstbox.export.process.extract import digest
from pycstbox.export.process.journal import parse_time
from pycstbox.export.process.journal import record as journal_line
from pycstbox.export.process.windowjob import upload_name

from .helpers import ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[jobs.daily]
target = "usb"
period = "1d"
format = "jsonl"
start = "2026-11-20"
'''
DAY = datetime.timedelta(days=1)


def _setup(tmp_path, days=(20, 21, 22)):
    out = tmp_path / 'usb'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    job = cfg.jobs['daily']
    source = ListSource([e for d in days for e in hourly_events(T('2026-11-%02d 00:00' % d), 24)])

    def reexport(job, start, end):
        return digest(source.events(start, end), job.format, job.compress)
    return cfg, job, out, source, reexport


def record(*args, **kw):
    """A journal record as the reader gives it (times parsed)."""
    rec = journal_line(*args, **kw)
    return dict(rec, start=parse_time(rec['start']), end=parse_time(rec['end']))


def _deliver(out, job, start, reexport):
    """Write the window's file at the receiver; return its journal record."""
    events, sha, size = reexport(job, start, start + DAY)
    name = upload_name('lyon-b12', 'daily', start, start + DAY, 'jsonl')
    if events:
        path = os.path.join(out, name)
        w = open(path, 'wb')
        from pycstbox.export.process.extract import extract
        extract(ListSource(hourly_events(start, 24)).events(start, start + DAY), 'jsonl', w)
        w.close()
        assert hashlib.sha256(open(path, 'rb').read()).hexdigest() == sha
    return record(start.strftime('%y%m%d%H%M%S'), start, start + DAY, 'usb', events=events,
                  delivered_at=T('2026-11-28 00:15'), name=name, size=size, sha256=sha)


def _audit(cfg, job, records, deep=None, **kw):
    t = transports.create(cfg.targets['usb'], site='lyon-b12')
    kw.setdefault('pending', [])
    kw.setdefault('dead', [])
    return audit_job(cfg, job, records=records, watermark=T('2026-11-24 00:00'),
                     transport=t, reexport=deep, **kw)


def test_windows_without_journal_line(tmp_path):
    """No journal line: at the receiver -> ok; absent -> missing; --deep tells empty from lost."""
    cfg, job, out, source, reexport = _setup(tmp_path)
    for d in (20, 21, 22):
        _deliver(out, job, T('2026-11-%02d 00:00' % d), reexport)
    os.unlink(os.path.join(out, upload_name('lyon-b12', 'daily', T('2026-11-21 00:00'),
                                            T('2026-11-22 00:00'), 'jsonl')))
    r = _audit(cfg, job, [])
    assert [w.status for w in r.windows] == ['ok', 'missing', 'ok', 'missing']
    assert 'no journal line' in r.windows[0].detail and '--deep tells' in r.windows[3].detail
    r = _audit(cfg, job, [], deep=reexport)
    assert [w.status for w in r.windows] == ['ok', 'missing', 'ok', 'ok']
    assert r.windows[3].detail.startswith('empty window') and r.windows[0].detail.endswith(
        'equal to a re-export')


def test_duplicate_lines_and_a_gap_file(tmp_path):
    """A window journaled twice counts once; a gap delivered as one file covers its windows."""
    cfg, job, out, source, reexport = _setup(tmp_path)
    first = _deliver(out, job, T('2026-11-20 00:00'), reexport)
    stale_copy = dict(first, sha256='0' * 64)
    recs = [stale_copy, first]                  # latest() keeps the last: the good one
    r = _audit(cfg, job, [first])
    assert r.windows[0].status == 'ok'
    gap = record('261121000000', T('2026-11-21 00:00'), T('2026-11-24 00:00'), 'usb',
                 events=0, delivered_at=T('2026-11-28 00:15'))
    r = _audit(cfg, job, [recs[-1], gap])
    assert [w.status for w in r.windows] == ['ok', 'ok', 'ok', 'ok'] and r.complete


def test_pending_dead_and_since(tmp_path):
    """Backlog and dead-letter spans win over the journal; --since bounds the windows."""
    cfg, job, out, source, reexport = _setup(tmp_path)
    recs = [_deliver(out, job, T('2026-11-%02d 00:00' % d), reexport) for d in (20, 21, 22, 23)]
    r = _audit(cfg, job, recs, pending=[Span(T('2026-11-21 00:00'), T('2026-11-22 00:00'))],
               dead=[Span(T('2026-11-22 00:00'), T('2026-11-24 00:00'))])
    assert [w.status for w in r.windows] == ['ok', 'pending', 'dead', 'dead']
    assert not r.complete
    r = _audit(cfg, job, recs, since=datetime.date(2026, 11, 23))
    assert [w.jobid for w in r.windows] == ['261123000000'] and r.complete
    r = _audit(cfg, job, recs, since=datetime.date(2026, 1, 1))
    assert len(r.windows) == 4                  # never before the job's start


def test_same_size_other_content_is_a_mismatch_on_dir(tmp_path):
    """A dir target's files are hashed: same size, other bytes -> mismatch."""
    cfg, job, out, source, reexport = _setup(tmp_path)
    rec = _deliver(out, job, T('2026-11-20 00:00'), reexport)
    path = os.path.join(out, rec['name'])
    data = bytearray(open(path, 'rb').read())
    data[10] ^= 1
    open(path, 'wb').write(bytes(data))
    r = _audit(cfg, job, [rec])
    assert r.windows[0].status == 'mismatch' and 'SHA-256' in r.windows[0].detail
