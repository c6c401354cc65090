"""cbx-export export --format parquet from the real store: DuckDB and pyarrow read the window."""

from datetime import datetime, timezone

import pytest

from pycstbox.evtdb.event import Event, decode_value as store_decode
from tests.formats.test_parquet import expected, norm
from tests.peers import parquet as peer

from .conftest import run_export

UTC = timezone.utc
needs_readers = pytest.mark.skipif(bool(peer.readers_usable()), reason=peer.readers_usable())


def store_events(events, lo, hi):
    """The store's events of the naive UTC window [lo, hi), as the client decodes them."""
    return [Event(ts.replace(tzinfo=UTC), vt, vn, store_decode(str(v)), d.get('unit', ''), d)
            for ts, vt, vn, v, d in events if lo <= ts < hi]


@needs_readers
@pytest.mark.parametrize('day, lo, hi, count', [
    ('2026-03-29', datetime(2026, 3, 28, 23), datetime(2026, 3, 29, 22), 197),    # 23 h
    ('2026-10-25', datetime(2026, 10, 24, 22), datetime(2026, 10, 25, 23), 214),  # 25 h
])
def test_dst_days_in_paris(store, tmp_path, day, lo, hi, count):
    """A local DST day of Europe/Paris (23 h, 25 h) exported as parquet is read by DuckDB and
    pyarrow as exactly the store's events of that day, UTC timestamps to the millisecond."""
    address, events = store
    end = {'2026-03-29': '2026-03-30', '2026-10-25': '2026-10-26'}[day]
    r = run_export(address, tmp_path, '--from', day, '--to', end, '--format', 'parquet',
                   '-o', 'day.parquet', tz='Europe/Paris')
    assert r.returncode == 0, r.stderr
    want = norm(expected(store_events(events, lo, hi)))
    assert len(want) == count
    for engine in ('duckdb', 'pyarrow'):
        [doc] = peer.read(engine, [tmp_path / 'day.parquet'])
        assert norm(doc['rows']) == want


def test_gzip_refused_for_parquet(store, tmp_path):
    """export --format parquet --compress gzip is a usage error naming the option, no file."""
    address, _ = store
    r = run_export(address, tmp_path, '--from', '2026-03-29', '--to', '2026-03-30',
                   '--format', 'parquet', '--compress', 'gzip', '-o', 'x.parquet.gz')
    assert r.returncode == 2
    assert b'--compress' in r.stderr and b'parquet is already compressed inside' in r.stderr
    assert not (tmp_path / 'x.parquet.gz').exists()
