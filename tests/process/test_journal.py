"""The delivery journal: durable appends, torn lines, duplicates, rotation, written before delete."""

import json
import os
import signal
import subprocess
import sys

from pycstbox.export import transports
from pycstbox.export.backlog import Backlog
from pycstbox.export.process.journal import Journal, record
from pycstbox.export.process.process import ExportProcess

from .helpers import ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[jobs.daily]
target = "usb"
period = "1d"
delay = "15m"
format = "csv"
compress = "gzip"
start = "2026-11-20"
'''


def _rec(day, events=10):
    return record('2611%02d000000' % day, T('2026-11-%02d 00:00' % day),
                  T('2026-11-%02d 00:00' % (day + 1)), 'usb', events=events,
                  delivered_at=T('2026-11-28 00:15'), name='n%d.csv' % day, size=100,
                  sha256='ab' * 32)


def test_append_and_read_back(tmp_path):
    """Lines come back as written, with times parsed; an empty window has no name."""
    j = Journal(str(tmp_path), 'daily')
    j.append(_rec(20))
    j.append(_rec(21, events=0))
    recs = list(j.read())
    assert [r['jobid'] for r in recs] == ['261120000000', '261121000000']
    assert recs[0]['start'] == T('2026-11-20 00:00') and recs[0]['key'] == 'n20.csv'
    assert recs[1]['events'] == 0 and 'name' not in recs[1] and 'sha256' not in recs[1]
    text = (tmp_path / 'journal' / 'daily.jsonl').read_text()
    assert text.splitlines()[0].startswith('{"jobid":"261120000000","start":"2026-11-20T00:00:00Z"')


def test_torn_last_line_is_skipped_and_next_append_is_whole(tmp_path):
    """A line cut by a kill is skipped without error; the next append is still readable."""
    j = Journal(str(tmp_path), 'daily')
    j.append(_rec(20))
    with open(j.path, 'ab') as f:
        f.write(json.dumps(_rec(21), default=str).encode()[:57])     # torn: no newline
    assert [r['jobid'] for r in j.read()] == ['261120000000'] and j.skipped == 1
    j.append(_rec(22))
    assert [r['jobid'] for r in j.read()] == ['261120000000', '261122000000']
    assert j.skipped == 1


def test_kill_during_appends_never_spoils_earlier_lines(tmp_path):
    """A writer killed at a random moment leaves every earlier line readable."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'from tests.process.test_journal import _rec\n'
            'from pycstbox.export.process.journal import Journal\n'
            'j = Journal(%r, "daily")\n'
            'i = 0\n'
            'while True:\n'
            '    j.append(_rec(1 + i %% 27)); i += 1\n'
            '    if i == 50: print("go", flush=True)\n'
            % (os.getcwd(), str(tmp_path)))
    p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE)
    assert p.stdout.readline() == b'go\n'
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    j = Journal(str(tmp_path), 'daily')
    recs = list(j.read())
    assert len(recs) >= 50 and j.skipped <= 1


def test_duplicates_last_wins(tmp_path):
    """A window journaled twice (crash between append and delete) counts once, the last line."""
    j = Journal(str(tmp_path), 'daily')
    j.append(_rec(20))
    again = dict(_rec(20), sha256='cd' * 32)
    j.append(again)
    latest = j.latest()
    assert list(latest) == ['261120000000'] and latest['261120000000']['sha256'] == 'cd' * 32


def test_rotation_keeps_one_old_generation(tmp_path):
    """Past the limit the journal starts again; one old generation is kept and read first."""
    j = Journal(str(tmp_path), 'daily', limit=1000)
    for day in range(1, 28):
        j.append(_rec(day))
    assert os.path.getsize(j.path) <= 1000 and os.path.getsize(j.old) <= 1000
    days = [r['jobid'] for r in j.read()]
    assert days == sorted(days) and days[-1] == '261127000000'
    assert len(days) < 27                      # the oldest generation was dropped
    assert not os.path.exists(j.old + '.1')


def test_journal_line_written_before_backlog_entry_deleted(tmp_path):
    """When a delivered window's backlog entry is deleted, its journal line is already on disk."""
    out = tmp_path / 'received'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    seen = []

    class Watching(Backlog):
        def __delitem__(self, jobid):
            lines = Journal(cfg.state_dir, 'daily').latest()
            seen.append((jobid, jobid in lines))
            Backlog.__delitem__(self, jobid)

    source = ListSource(hourly_events(T('2026-11-20 00:00'), 24 * 3))
    proc = ExportProcess(cfg, source_factory=lambda store: source,
                         transport_factory=lambda t, site: transports.create(t, site=site),
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    proc.backlog = lambda job: Watching(job, root=proc.backlog_root)
    rep = proc.run(now=T('2026-11-24 00:20'))
    assert rep.delivered == 3 and rep.empty == 1
    assert seen == [('2611%02d000000' % d, True) for d in (20, 21, 22, 23)]
    recs = Journal(cfg.state_dir, 'daily').latest()
    assert recs['261123000000']['events'] == 0
    name = recs['261120000000']['name']
    data = (out / name).read_bytes()
    import hashlib
    assert recs['261120000000']['bytes'] == len(data)
    assert recs['261120000000']['sha256'] == hashlib.sha256(data).hexdigest()


def test_file_kept_for_a_retry_is_journaled_with_its_hash(tmp_path):
    """A window sent at the next slot from the file kept on flash is journaled with that file's SHA-256."""
    import hashlib
    from pycstbox.export.errors import TemporaryError
    from .helpers import FlakyDir
    out = tmp_path / 'received'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    source = ListSource(hourly_events(T('2026-11-20 00:00'), 24))
    runs = []

    def tfactory(t, site):          # the first run's max_try attempts fail
        runs.append(site)
        down = [TemporaryError('down', target='usb')] * 3 if len(runs) == 1 else ()
        return FlakyDir(transports.create(t, site=site), down)
    proc = ExportProcess(cfg, source_factory=lambda store: source, transport_factory=tfactory,
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    rep = proc.run(now=T('2026-11-21 00:20'))
    assert rep.failed == 1 and not os.path.exists(os.path.join(cfg.state_dir, 'journal'))
    source.events_list = []                      # the store lost it: the kept file is sent
    rep = proc.run(now=T('2026-11-21 01:20'))
    assert rep.delivered == 1
    rec = Journal(cfg.state_dir, 'daily').latest()['261120000000']
    data = (out / rec['name']).read_bytes()
    assert rec['events'] == 144 and rec['bytes'] == len(data)
    assert rec['sha256'] == hashlib.sha256(data).hexdigest()


def test_line_size_stays_small(tmp_path):
    """A typical line (daily csv.gz window, realistic names) stays under 400 bytes of flash."""
    j = Journal(str(tmp_path), 'daily')
    name = 'lyon-b12_daily_20261127T000000Z_20261128T000000Z.csv.gz'
    j.append(record('261127000000', T('2026-11-27 00:00'), T('2026-11-28 00:00'), 'warehouse',
                    events=1234567, delivered_at=T('2026-11-28 00:15'), name=name,
                    size=123456789, sha256='ab' * 32))
    assert os.path.getsize(j.path) < 400
