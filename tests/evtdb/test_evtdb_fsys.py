"""CSTBox day files: format, tolerant reading, indexing."""

from datetime import date, datetime

from pycstbox.evtdb import fsys

from .conftest import GARBAGE_LINES


def test_line_format_matches_cstbox():
    """A line is ts(%y%m%d-%H%M%S.%f) TAB type TAB name TAB str(value) TAB json(data)."""
    line = fsys.format_line(datetime(2015, 11, 4, 8, 15, 42, 123000), 'temperature',
                            'temp_living', 21.5, {'unit': 'degC'})
    assert line == '151104-081542.123000\ttemperature\ttemp_living\t21.5\t{"unit": "degC"}\n'
    assert fsys.file_name(date(2015, 11, 4)) == '151104.evt-log'


def test_reader_is_tolerant(tmp_path):
    """Bad lines are skipped and counted, short timestamps padded, other days ignored."""
    (tmp_path / 'sensor').mkdir()
    (tmp_path / 'sensor' / '261130.evt-log').write_text(GARBAGE_LINES, encoding='utf-8')
    counters = {}
    got = list(fsys.read_day(str(tmp_path), 'sensor', date(2026, 11, 30), counters=counters))
    names = [r[2] for r in got]
    assert names == ['good 1', 'short ts', 'door "A", été', 'big counter']
    assert got[1][0] == datetime(2026, 11, 30, 0, 0, 2)
    assert got[2][0] == datetime(2026, 11, 30, 0, 0, 8, 500000)
    assert counters['skipped'] == 5   # not an event, 6 fields, bad ts, bad json, bad hour


def test_reader_filters(tmp_path):
    """var_type and var_name filters select lines; a missing day yields nothing."""
    (tmp_path / 'sensor').mkdir()
    (tmp_path / 'sensor' / '261130.evt-log').write_text(GARBAGE_LINES, encoding='utf-8')
    got = list(fsys.read_day(str(tmp_path), 'sensor', date(2026, 11, 30), var_type='energy'))
    assert [r[2] for r in got] == ['big counter']
    assert list(fsys.read_day(str(tmp_path), 'sensor', date(2026, 11, 1))) == []


def test_index_sorts_and_spans(tmp_path):
    """The day index orders lines by timestamp and bounds are inclusive."""
    (tmp_path / 'sensor').mkdir()
    path = tmp_path / 'sensor' / '261127.evt-log'
    path.write_text('261127-000003.000000\ta\tc\t3\t{}\n'
                    '261127-000001.000000\ta\ta\t1\t{}\n'
                    '261127-000002.000000\ta\tb\t2\t{}\n', encoding='utf-8')
    index = fsys.DayIndex(str(path), date(2026, 11, 27))
    try:
        key = fsys.key_of_datetime
        i, j = index.span(key(datetime(2026, 11, 27, 0, 0, 1)), key(datetime(2026, 11, 27, 0, 0, 2)))
        assert [f[2] for f in index.lines(i, j)] == ['a', 'b']
        assert [f[2] for f in index.lines(*index.span())] == ['a', 'b', 'c']
    finally:
        index.close()


def test_available_days(tmp_path):
    """Only YYMMDD.evt-log files count as days, sorted."""
    d = tmp_path / 'sensor'
    d.mkdir()
    for name in ('261128.evt-log', '261127.evt-log', 'stats.dat', '261399.evt-log', 'x.evt-log'):
        (d / name).write_text('')
    assert fsys.available_days(str(tmp_path), 'sensor') == [date(2026, 11, 27), date(2026, 11, 28)]
    assert fsys.available_days(str(tmp_path), 'nothing') == []
