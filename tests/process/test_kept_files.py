"""A window's file kept on flash after a failed upload follows its window (found by test_model)."""

import os

from pycstbox.export import transports
from pycstbox.export.errors import TemporaryError
from pycstbox.export.process.process import ExportProcess

from .helpers import FlakyDir, ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[jobs.q]
target = "usb"
period = "1h"
delay = "0s"
format = "%(fmt)s"
start = "2026-11-20"
max_age = "2d"
max_try = 1
'''
FIRST = '261120000000'


def make(tmp_path, fmt='csv', failing=True):
    out = tmp_path / 'received'
    out.mkdir(exist_ok=True)
    cfg = write_config(tmp_path, CONFIG % {'out': out, 'fmt': fmt})
    source = ListSource(hourly_events(T('2026-11-19 00:00'), 24 * 5))
    errors = [TemporaryError('503 (test)')] * 1000 if failing else []
    return ExportProcess(cfg, source_factory=lambda store: source,
                         transport_factory=lambda t, site: FlakyDir(
                             transports.create(t, site=site), errors),
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)


def spool(tmp_path):
    d = tmp_path / 'state' / 'spool' / 'q'
    return sorted(os.listdir(d)) if d.is_dir() else []


def test_window_dead_by_age_keeps_its_file(tmp_path):
    """A window dead-lettered for staying pending past max_age takes its kept file along."""
    proc = make(tmp_path)
    proc.run(now=T('2026-11-20 01:00'))
    assert spool(tmp_path) == [FIRST + '.csv']
    proc.run(now=T('2026-11-21 12:00'))
    rep = proc.run(now=T('2026-11-22 01:30'))
    assert rep.dead_lettered >= 1
    proc.run(now=T('2026-11-22 01:40'))               # its sweep must not find it
    failed = os.listdir(tmp_path / 'state' / 'failed' / 'q')
    assert FIRST + '.json' in failed and FIRST + '.csv' in failed
    assert FIRST + '.csv' not in spool(tmp_path)


def test_window_delivered_in_a_new_format_leaves_no_old_file(tmp_path):
    """A window kept as csv, then delivered as tsv after a reload, leaves nothing in spool."""
    make(tmp_path).run(now=T('2026-11-20 01:00'))
    assert spool(tmp_path) == [FIRST + '.csv']
    rep = make(tmp_path, fmt='tsv', failing=False).run(now=T('2026-11-20 01:10'))
    assert rep.delivered == 1 and rep.pending == 0
    assert spool(tmp_path) == []


def test_corrupt_entry_set_aside_with_its_file(tmp_path):
    """An unreadable entry set aside takes its kept file to corrupt/ (not swept later)."""
    proc = make(tmp_path)
    proc.run(now=T('2026-11-20 01:00'))
    (tmp_path / 'state' / 'backlog' / 'q' / (FIRST + '.json')).write_bytes(b'\x00garbage')
    proc.run(now=T('2026-11-20 01:10'))
    proc.run(now=T('2026-11-20 01:20'))
    corrupt = os.listdir(tmp_path / 'state' / 'backlog' / 'q' / 'corrupt')
    assert FIRST + '.csv' in corrupt and spool(tmp_path) == []


def test_entry_with_wrong_types_set_aside_not_wedged(tmp_path):
    """An entry whose attempts is not a whole number is set aside with its file, not retried."""
    import json
    proc = make(tmp_path)
    proc.run(now=T('2026-11-20 01:00'))
    entry = tmp_path / 'state' / 'backlog' / 'q' / (FIRST + '.json')
    doc = json.loads(entry.read_bytes())
    doc['parms']['attempts'] = 'x'
    entry.write_text(json.dumps(doc))
    rep = proc.run(now=T('2026-11-20 01:10'))
    assert not entry.exists() and any('not a window' in p for p in rep.problems)
    corrupt = os.listdir(tmp_path / 'state' / 'backlog' / 'q' / 'corrupt')
    assert FIRST + '.json' in corrupt and FIRST + '.csv' in corrupt
    staging = tmp_path / 'run' / 'staging' / 'q'
    assert not staging.is_dir() or os.listdir(staging) == []


def test_half_written_file_of_killed_run_goes_with_its_entry(tmp_path):
    """A staged file left by a killed run is removed when its entry is set aside."""
    proc = make(tmp_path)
    proc.run(now=T('2026-11-20 01:00'))
    staged = tmp_path / 'run' / 'staging' / 'q' / (FIRST + '.csv')
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b'timestamp,msec,var')             # the run was killed here
    (tmp_path / 'state' / 'backlog' / 'q' / (FIRST + '.json')).write_bytes(b'\x00garbage')
    proc.run(now=T('2026-11-20 01:10'))
    assert not staged.exists()
