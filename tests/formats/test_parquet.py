"""parquet: files read by real engines (DuckDB, pyarrow) give exactly the events, typed.

The readers run in the venv of ``.ci/install-deps`` (``tests/peers/parquet.py``); without
it (no PyPI) those tests skip and say why.  The writer's own checks (registry, bytes,
memory) need no reader.
"""

import io
import math
import random
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest

from pycstbox.evtdb.event import Event
from pycstbox.export import formats
from pycstbox.export.formats import parquet
from pycstbox.export.process.extract import extract
from tests.peers import parquet as peer

UTC = timezone.utc
T0 = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
NASTY = [',', '"', "'", ';', '\t', '\n', '\r', '\r\n', '\\', '\\t', '\x00', ' ', 'é', 'ß',
         '中', '😀', '%', '/', '..', '~', '=', '\u2028', '\x0b', '\x1c', '\x7f', '\ufeff',
         '\U0010ffff', '\ud800', '\udce9']
VALUES = [None, True, False, 0, -1, 42, 2 ** 53, 2 ** 53 + 1, -2 ** 53 - 1, 2 ** 63, -2 ** 64,
          10 ** 400, -10 ** 400, 0.1, -0.0, 0.0, 5e-324, 1.7976931348623157e308,
          float('nan'), float('inf'), float('-inf'), 'on', 'line\nbreak', 'nul\x00byte',
          'caf\udce9', '\ud800', 'x' * 70000, ''.join(NASTY)]
needs_readers = pytest.mark.skipif(bool(peer.readers_usable()), reason=peer.readers_usable())
ENGINES = ['duckdb', 'pyarrow']


def _utf8(text):
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def expected(events):
    """The rows the readers must give: [epoch ms, var_type, var_name, value, text, unit]."""
    rows = []
    for e in events:
        ts = e.timestamp.astimezone(UTC)
        ms = (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        v = e.value
        if v is None:
            value, text = None, None
        elif isinstance(v, bool):
            value, text = float(v), str(v)
        elif isinstance(v, int):
            try:
                value = float(v)
            except OverflowError:
                value = None
            text = None if value is not None and int(value) == v else str(v)
        elif isinstance(v, float):
            value, text = v, None
        else:
            value, text = None, _utf8(v)
        rows.append([ms, _utf8(e.var_type), _utf8(e.var_name), value, text, _utf8(e.unit)])
    return rows


def norm(rows):
    """Rows comparable with == (NaN equals NaN, -0.0 differs from 0.0, types kept)."""
    return [[(type(x).__name__, repr(x)) if isinstance(x, float) else x for x in r]
            for r in rows]


def write(events, path=None):
    out = io.BytesIO()
    w = formats.open_writer('parquet', out)
    for e in events:
        w.write(e)
    assert w.close() == len(events)
    if path is not None:
        path.write_bytes(out.getvalue())
    return out.getvalue()


def edge_events():
    out = []
    for i, value in enumerate(VALUES):
        name = NASTY[i % len(NASTY)]
        out.append(Event(T0 + timedelta(microseconds=999 * i), 'type' + name, 'var' + name,
                         value, '' if i % 3 else 'unit' + name, {}))
    # before 1970, sub-millisecond, far future, a naive and a non-UTC time
    out.append(Event(datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), 't', 'n', 1, '', {}))
    out.append(Event(datetime(2200, 1, 1, tzinfo=UTC), 't', 'n', 2.5, 'W', {}))
    out.append(Event(datetime(2026, 10, 25, 2, 30, 0, 1500,
                              tzinfo=timezone(timedelta(hours=2))), 't', 'n', 3, '', {}))
    return out


def random_events(rng, n):
    pool = NASTY + ['', 'temperature', 'energy', 'é' * 40]
    names = [rng.choice(pool) + rng.choice(pool) for _ in range(rng.randint(1, 9))]
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10 ** 8))
    out = []
    for _ in range(n):
        t += timedelta(microseconds=rng.choice([0, 1, 999, 1000, 7 * 10 ** 6]))
        kind = rng.random()
        if kind < 0.3:
            value = rng.choice(VALUES[:-2])
        elif kind < 0.6:
            value = rng.uniform(-1e6, 1e6)
        elif kind < 0.8:
            value = rng.randint(-10, 10)
        else:
            value = ''.join(rng.choice(pool) for _ in range(rng.randint(1, 4)))
        out.append(Event(t, rng.choice(['a', 'b', 'c']), rng.choice(names), value,
                         rng.choice(['', 'W', 'degC']), {}))
    return out


@needs_readers
@pytest.mark.parametrize('engine', ENGINES)
def test_edge_values_read_exactly(engine, tmp_path):
    """Every type and odd value (NaN, inf, -0.0, huge ints, NUL, newlines, lone surrogates,
    a 70 kB text, times before 1970 and in 2200) is read back exactly, typed."""
    events = edge_events()
    write(events, tmp_path / 'edge.parquet')
    [doc] = peer.read(engine, [tmp_path / 'edge.parquet'])
    assert norm(doc['rows']) == norm(expected(events))
    types = [t for _, t in doc['schema']]
    if engine == 'duckdb':
        assert types == ['TIMESTAMP WITH TIME ZONE', 'VARCHAR', 'VARCHAR', 'DOUBLE', 'VARCHAR',
                         'VARCHAR']
    else:
        assert types == ['timestamp[ms, tz=UTC] not null', 'string not null', 'string not null',
                         'double', 'string', 'string not null']


@needs_readers
@pytest.mark.parametrize('engine', ENGINES)
def test_random_windows_read_exactly(engine, tmp_path):
    """40 random windows (0-400 events, mixed types, repeated and unique texts) read back exactly."""
    rng = random.Random(22)
    windows = [random_events(rng, rng.choice([0, 1, 2, 17, 100, 400])) for _ in range(40)]
    paths = []
    for i, events in enumerate(windows):
        paths.append(tmp_path / ('%d.parquet' % i))
        write(events, paths[-1])
    docs = peer.read(engine, paths)
    for events, doc in zip(windows, docs):
        assert norm(doc['rows']) == norm(expected(events))


@needs_readers
@pytest.mark.parametrize('engine', ENGINES)
def test_empty_window(engine, tmp_path):
    """A window without events is a valid file: the six typed columns and no rows."""
    write([], tmp_path / 'empty.parquet')
    [doc] = peer.read(engine, [tmp_path / 'empty.parquet'])
    assert doc['rows'] == [] and doc['row_groups'] == 0
    assert [c for c, _ in doc['schema']] == ['timestamp', 'var_type', 'var_name', 'value',
                                             'text', 'unit']


@needs_readers
def test_row_groups_dictionary_plain_and_statistics(tmp_path, monkeypatch):
    """Many row groups (by rows and by bytes), dictionary and plain text chunks, statistics
    without NaN: both readers give every row, pyarrow sees the encodings and min/max."""
    monkeypatch.setattr(parquet, 'ROWS', 1000)
    rng = random.Random(7)
    events = [Event(T0 + timedelta(seconds=k), 'power', 'p%d' % (k % 13),
                    [k * 0.5, float('nan'), 'unique %d' % k, 'other %d' % k, None][k % 5], 'W', {})
              for k in range(4500)]
    write(events, tmp_path / 'rows.parquet')
    monkeypatch.setattr(parquet, 'ROW_GROUP_BYTES', 3000)
    big = [Event(T0 + timedelta(seconds=k), 'x', 'y', 'text %d ' % k + 'z' * rng.randint(0, 200),
                 '', {}) for k in range(300)]
    write(big, tmp_path / 'bytes.parquet')
    for engine in ENGINES:
        rows, by_bytes = peer.read(engine, [tmp_path / 'rows.parquet', tmp_path / 'bytes.parquet'])
        assert norm(rows['rows']) == norm(expected(events)) and rows['row_groups'] == 5
        assert norm(by_bytes['rows']) == norm(expected(big)) and by_bytes['row_groups'] > 5
    doc = peer.read('pyarrow', [tmp_path / 'rows.parquet'])[0]
    assert doc['created_by'] == 'cstbox-export version %s' % parquet.__version__
    first = doc['encodings'][0]
    assert 'PLAIN_DICTIONARY' in first[2]              # var_name: 13 names
    assert first[4] == ['PLAIN', 'RLE']                # text: all unique -> plain
    assert 'PLAIN_DICTIONARY' in doc['encodings'][0][1]   # var_type: one value
    ts, value, unit = doc['stats'][0][0], doc['stats'][0][3], doc['stats'][0][5]
    assert ts == ['2026-03-29T00:59:59.999000+00:00', '2026-03-29T01:16:38.999000+00:00', 0]
    assert value == [0.0, 497.5, 600]                  # NaN left out; 200 NaN + 400 non-numbers
    assert unit == ['W', 'W', 0]


def test_same_window_same_bytes(monkeypatch):
    """Two exports of the same events give identical bytes, whatever the clock."""
    import time
    events = edge_events() * 3
    first = write(events)
    monkeypatch.setattr(time, 'time', lambda: 2_000_000_000.0)
    assert write(events) == first
    assert first.startswith(b'PAR1') and first.endswith(b'PAR1')


def test_registry_and_compress_refused():
    """parquet is registered (extension parquet) and cannot be gzipped again."""
    assert 'parquet' in formats.names() and formats.extension('parquet') == 'parquet'
    with pytest.raises(ValueError, match='already compressed'):
        formats.open_writer('parquet', io.BytesIO(), 'gzip')


def test_memory_bounded_by_row_group(monkeypatch):
    """Peak memory writing 4x more events than a row group holds is that of one row group."""
    monkeypatch.setattr(parquet, 'ROWS', 4000)

    def many(n):
        for k in range(n):
            yield Event(T0 + timedelta(milliseconds=37 * k), 'power', 'p%d' % (k % 50),
                        k * 0.5 if k % 7 else 'state %d' % k, 'W', {})

    def peak(n):
        tracemalloc.start()
        try:
            extract(many(n), 'parquet', _Sink())
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    small, large = peak(8000), peak(32000)
    assert large < small * 1.3 + 256 * 1024, (small, large)


class _Sink:
    def write(self, b):
        return len(b)


def test_number_rules():
    """value/text of each value type (the rules of the module docstring)."""
    assert parquet.number(True) == (1.0, 'True') and parquet.number(False) == (0.0, 'False')
    assert parquet.number(2 ** 53) == (float(2 ** 53), None)
    assert parquet.number(2 ** 53 + 1) == (float(2 ** 53), str(2 ** 53 + 1))
    assert parquet.number(10 ** 400) == (None, str(10 ** 400))
    assert parquet.number(None) == (None, None) and parquet.number('x') == (None, 'x')
    assert math.isnan(parquet.number(float('nan'))[0])


@needs_readers
@pytest.mark.parametrize('engine', ENGINES)
def test_golden_file_read_exactly(engine):
    """golden/out.parquet (the golden test's bytes) is read by each engine as the golden events."""
    from tests.formats.test_golden import GOLDEN, golden_events
    [doc] = peer.read(engine, [GOLDEN + '/out.parquet'])
    assert norm(doc['rows']) == norm(expected(golden_events()))


@needs_readers
def test_timestamps_any_order_and_block_sizes(tmp_path):
    """Timestamps out of order, equal, jumping by centuries, and counts around the delta
    encoding's block (128) and miniblock (32) sizes are read back exactly by both engines."""
    rng = random.Random(5)
    windows = []
    for n in (1, 2, 31, 32, 33, 127, 128, 129, 257, 1000):
        base = datetime(1970, 1, 1, tzinfo=UTC)
        times = [base + timedelta(milliseconds=rng.choice(
            [0, 1, rng.randint(-10 ** 6, 10 ** 6), rng.randint(-10 ** 12, 7 * 10 ** 12)]))
            for _ in range(n)]
        windows.append([Event(ts, 't', 'n%d' % (k % 3), k, '', {}) for k, ts in enumerate(times)])
    paths = []
    for i, events in enumerate(windows):
        paths.append(tmp_path / ('%d.parquet' % i))
        write(events, paths[-1])
    for engine in ENGINES:
        for events, doc in zip(windows, peer.read(engine, paths)):
            assert norm(doc['rows']) == norm(expected(events))


@needs_readers
def test_runs_and_literals_read_exactly(tmp_path):
    """Dictionary indices and null flags in runs (RLE) and between runs (bit-packed), with
    narrow (<= 8 bits) and wide (300 distinct texts) indices, are read back exactly."""
    rng = random.Random(3)
    events = []
    t = T0
    for _ in range(120):
        length = rng.choice([1, 3, 7, 8, 9, 15, 16, 17, 40])
        text = 'state %d' % rng.randrange(300)
        name = 'v%d' % rng.randrange(200)
        for _ in range(length):
            t += timedelta(milliseconds=rng.randrange(5000))
            value = text if rng.random() < 0.7 else rng.choice([None, 1.5])
            events.append(Event(t, 'kind', name, value, '', {}))
    write(events, tmp_path / 'runs.parquet')
    for engine in ENGINES:
        [doc] = peer.read(engine, [tmp_path / 'runs.parquet'])
        assert norm(doc['rows']) == norm(expected(events))
