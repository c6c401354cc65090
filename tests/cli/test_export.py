"""cbx-export export end to end: real dbus-daemon + cbx-evtdb, exact windows, clear failures."""

import gzip
import os
import select
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from pycstbox.evtdb.event import decode_value as store_decode
from tests.formats import reader
from tests.peers.evtdb import write_dense_day, evtdb_bus

from .conftest import run_export

UTC = timezone.utc


def expected(events, lo, hi):
    """Rows the csv reader should give for the naive UTC window [lo, hi)."""
    return [(ts.replace(tzinfo=UTC, microsecond=ts.microsecond // 1000 * 1000), vt, vn,
             reader.norm(store_decode(str(v))), d.get('unit', ''))
            for ts, vt, vn, v, d in events if lo <= ts < hi]


def test_window_across_midnight_exact(store, tmp_path):
    """A 23:00-01:00 window holds exactly its events: start included, end excluded."""
    address, events = store
    r = run_export(address, tmp_path, '--from', '2026-11-27T23:00', '--to', '2026-11-28 01:00:00',
                   '-o', 'out.csv')
    assert r.returncode == 0, r.stderr
    rows = reader.read_csv((tmp_path / 'out.csv').read_bytes())
    want = expected(events, datetime(2026, 11, 27, 23), datetime(2026, 11, 28, 1))
    assert rows == want and len(rows) == 18
    assert rows[0][2] == 'bound' and all(r[2] != 'bound' for r in rows[1:])
    assert b'18 events' in r.stderr
    assert [n for n in os.listdir(tmp_path) if n.endswith('.tmp')] == []


def test_autumn_dst_day_in_paris(store, tmp_path):
    """With timezone Europe/Paris, the 25-hour local day of 2026-10-25 is exported whole."""
    address, events = store
    r = run_export(address, tmp_path, '--from', '2026-10-25', '--to', '2026-10-26',
                   '--format', 'jsonl', '-o', 'day.jsonl', tz='Europe/Paris')
    assert r.returncode == 0, r.stderr
    rows = reader.read_jsonl((tmp_path / 'day.jsonl').read_bytes())
    lo, hi = datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 23)   # 25 h in UTC
    assert [row[:5] for row in rows] == expected(events, lo, hi)
    # minutes 22:03 (Oct 24) .. 22:58 (Oct 25) every 7 min: 214 events, a 24-h day has 205
    assert len(rows) == 214


def test_spring_dst_day_in_paris(store, tmp_path):
    """With timezone Europe/Paris, the 23-hour local day of 2026-03-29 is exported whole."""
    address, events = store
    r = run_export(address, tmp_path, '--from', '2026-03-29', '--to', '2026-03-30',
                   '-o', 'day.csv.gz', tz='Europe/Paris')
    assert r.returncode == 0, r.stderr
    rows = reader.read_csv((tmp_path / 'day.csv.gz').read_bytes(), gz=True)
    assert rows == expected(events, datetime(2026, 3, 28, 23), datetime(2026, 3, 29, 22))


def test_explicit_zone_overrides_config(store, tmp_path):
    """A time with Z or +01:00 is taken in that zone, whatever the config timezone."""
    address, events = store
    r = run_export(address, tmp_path, '--from', '2026-11-28T00:00+01:00', '--to',
                   '2026-11-28T00:30Z', '-o', '-', tz='Asia/Tokyo')
    assert r.returncode == 0, r.stderr
    assert reader.read_csv(r.stdout) == expected(events, datetime(2026, 11, 27, 23),
                                                 datetime(2026, 11, 28, 0, 30))


def test_filters_and_dwh_zip(store, tmp_path):
    """--var-type/--var-name filter the events; dwh-zip holds one member per variable."""
    address, events = store
    r = run_export(address, tmp_path, '--from', '2026-11-27T20:00', '--to', '2026-11-28T04:00',
                   '--format', 'dwh-zip', '--var-name', 'pir;hall', '--var-name', 'temp séjour',
                   '-o', 'x.zip')
    assert r.returncode == 0, r.stderr
    series = reader.read_dwh((tmp_path / 'x.zip').read_bytes())
    assert set(series) == {'pir;hall', 'temp séjour'}
    assert {v for _, v in series['pir;hall']} == {('int', '0'), ('int', '1')}


def test_empty_window(store, tmp_path):
    """An empty window exits 0, says so on stderr, and writes a header-only file."""
    address, _ = store
    r = run_export(address, tmp_path, '--from', '2025-01-01', '--to', '2025-01-02',
                   '-o', 'empty.csv')
    assert r.returncode == 0, r.stderr
    assert b'no events' in r.stderr
    assert (tmp_path / 'empty.csv').read_bytes() == \
        b'timestamp,msec,var_type,var_name,value,units\r\n'


def test_store_unreachable(tmp_path):
    """No store on the address: exit 1, a clear one-line message, no file left behind."""
    r = run_export('unix:path=%s/nobus' % tmp_path, tmp_path, '--from', '2026-11-27',
                   '--to', '2026-11-28', '-o', 'out.csv')
    assert r.returncode == 1
    assert r.stderr.startswith(b'cbx-export: cannot connect to the event store bus')
    assert b'Traceback' not in r.stderr
    assert sorted(os.listdir(tmp_path)) == ['export.toml']


def test_bad_times_are_usage_errors(store, tmp_path):
    """An unreadable time or an empty window (--to before --from) is exit 2, one line."""
    address, _ = store
    r = run_export(address, tmp_path, '--from', '27/11/2026', '--to', '2026-11-28')
    assert r.returncode == 2 and r.stderr.count(b'\n') == 1
    assert r.stderr.startswith(b"--from: invalid time '27/11/2026'")
    r = run_export(address, tmp_path, '--from', '2026-11-28', '--to', '2026-11-27')
    assert r.returncode == 2 and r.stderr.startswith(b'--to: must be after --from')


def test_default_output_name_and_no_progress_off_tty(store, tmp_path):
    """Without -o the file is {site}_export_{from}_{to}.{ext}; no progress when not a tty."""
    address, _ = store
    r = run_export(address, tmp_path, '--from', '2026-11-27T23:00Z', '--to', '2026-11-28T00:00Z',
                   '--compress', 'gzip')
    assert r.returncode == 0, r.stderr
    names = [n for n in os.listdir(tmp_path) if n.endswith('.csv.gz')]
    assert len(names) == 1 and names[0].endswith(
        '_export_20261127T230000Z_20261128T000000Z.csv.gz')
    gzip.decompress((tmp_path / names[0]).read_bytes())
    assert b'\r' not in r.stderr and r.stderr.count(b'\n') == 1


def test_interrupted_export_leaves_no_complete_file(tmp_path):
    """Interrupted (SIGINT) in the middle, the export leaves neither the file nor its temp."""
    root = tmp_path / 'db'
    day = datetime(2026, 11, 27).date()
    write_dense_day(str(root), day, 150000)
    with evtdb_bus(tmp_path, str(root)) as address:
        cfg = tmp_path / 'export.toml'
        cfg.write_text('[eventstore]\naddress = "%s"\n' % address)
        out = tmp_path / 'out'
        out.mkdir()
        proc = subprocess.Popen([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg),
                                 'export', '--from', '2026-11-27', '--to', '2026-11-28',
                                 '-o', str(out / 'big.csv')], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not any(n.endswith('.tmp') and os.path.getsize(out / n) > 100000
                          for n in os.listdir(out)):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.01)
            assert not (out / 'big.csv').exists()
            proc.send_signal(signal.SIGINT)
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stderr.close()
        assert proc.returncode != 0
        assert os.listdir(out) == []


def test_progress_line_on_a_terminal(tmp_path):
    """With stderr on a terminal, a progress line (events, rate, position) is drawn and erased."""
    import pty
    root = tmp_path / 'db'
    write_dense_day(str(root), datetime(2026, 11, 27).date(), 120000)
    with evtdb_bus(tmp_path, str(root)) as address:
        cfg = tmp_path / 'export.toml'
        cfg.write_text('[eventstore]\naddress = "%s"\n' % address)
        master, slave = pty.openpty()
        proc = None
        try:
            proc = subprocess.Popen([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg),
                                     'export', '--from', '2026-11-27', '--to', '2026-11-28',
                                     '-o', str(tmp_path / 'big.tsv'), '--format', 'tsv'],
                                    stderr=slave, stdout=subprocess.DEVNULL)
            os.close(slave)
            slave = None
            chunks = []
            deadline = time.monotonic() + 60
            while True:
                assert time.monotonic() < deadline, 'export did not finish'
                if not select.select([master], [], [], 1)[0]:
                    continue
                try:
                    data = os.read(master, 4096)
                except OSError:          # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            assert proc.wait(30) == 0
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if slave is not None:
                os.close(slave)
            os.close(master)
    text = b''.join(chunks).decode()
    assert '\r' in text and ' events, ' in text and '/s, at 2026-11-27 ' in text and '%)' in text
    assert text.rstrip().endswith('120,000 events of 2026-11-27 00:00:00 - 2026-11-28 00:00:00 '
                                  'UTC written to %s' % (tmp_path / 'big.tsv'))
