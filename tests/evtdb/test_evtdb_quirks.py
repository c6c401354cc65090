"""The day-file fast path reads quirky day files as the store's own reader does (cbx-evtdb
over a private dbus-daemon is the reference): a corpus of quirky days, then hypothesis
mutations of lines, every format, byte for byte; quirks no longer send a day over D-Bus."""

import io
import logging
import os
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pycstbox.evtdb import fsys
from pycstbox.evtdb.client import EventStoreClient
from pycstbox.evtdb.source import FileSource
from pycstbox.export import formats
from pycstbox.export.errors import EventStoreError
from pycstbox.export.process.extract import extract
from tests.peers.evtdb import evtdb_bus

UTC = timezone.utc
LATER = date(2031, 1, 1)        # a later day: every other day of the store is closed
FORMATS = [(fmt, compress) for fmt in formats.names()
           for compress in (('none', 'gzip') if formats.get(fmt).compressible else ('none',))]


def line(day, seconds, var_name='t', value='21.5', data='{"unit": "degC"}', micro=None):
    """One day-file line (with its newline) ``seconds`` after the start of ``day``."""
    ts = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    if micro is not None:
        ts = ts.replace(microsecond=micro)
    return '%s\ttemperature\t%s\t%s\t%s\n' % (ts.strftime(fsys.TS_FORMAT), var_name, value, data)


def five_minutes(day, count=288):
    """``count`` lines, one every 5 minutes from midnight."""
    return ''.join(line(day, 300 * k, 'v%d' % (k % 7), str(k), micro=k) for k in range(count))


D_NO_NEWLINE, D_CRLF_EMPTY, D_SHORT, D_FOREIGN, D_MIXED, D_MONTH_END = (
    date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 5),
    date(2026, 9, 30))

CORPUS = {
    # a closed day whose last line has no final newline: the reader reads it (288, not 287)
    D_NO_NEWLINE: five_minutes(D_NO_NEWLINE)[:-1],
    # CRLF lines, one with an empty data field: the reader strips the CR, data is {}
    D_CRLF_EMPTY: ''.join(s.replace('\n', '\r\n') for s in (
        line(D_CRLF_EMPTY, 10), line(D_CRLF_EMPTY, 20, 'empty', '3', ''),
        line(D_CRLF_EMPTY, 30, 'cr', 'None', '{}'), line(D_CRLF_EMPTY, 40))),
    # short timestamps where their time puts them (not where their bytes sort)
    D_SHORT: (line(D_SHORT, 3600 * 8 + 14 * 60 + 59, 'before') +
              '260903-0815\ttemperature\tshort\t1\t{}\n' +
              '260903-08150\ttemperature\tshorter\t3\t{}\n' +
              '260903-081500.5\ttemperature\thalf\t2\t{}\n' +
              line(D_SHORT, 3600 * 8 + 15 * 60, 'same second', micro=600000) +
              '260903-09\ttemperature\thour\t4\t{}\n' + line(D_SHORT, 3600 * 10)),
    # lines of another day (before, inside, after), the reader ignores them
    D_FOREIGN: (line(D_FOREIGN - timedelta(days=1), 86000, 'yesterday') + line(D_FOREIGN, 60) +
                line(D_FOREIGN - timedelta(days=3), 100, 'older') + line(D_FOREIGN, 120) +
                line(D_FOREIGN + timedelta(days=1), 5, 'tomorrow') + line(D_FOREIGN, 180)),
    # every odd line the issue lists, and more, in one day
    D_MIXED: (line(D_MIXED, 1) + '\n' + '260905-000002\ttemperature\tshort\t2\t{}\n' +
              '\r\n' + 'not an event at all\n' +
              '260905-000003.000000\ttemperature\tfour fields\t{}\n' +
              '260905-000003.000000\ttemperature\tsix\tfields\t1\t{}\n' +
              line(D_MIXED, 4, 'bad json', '1', '{"unit": ') +
              line(D_MIXED, 4, 'list', '1', '[1]') + line(D_MIXED, 4, 'null', '1', 'null') +
              line(D_MIXED, 5, 'nulls', '1', '{"unit": null, "l": [null, 2], "d": {"x": null}}') +
              line(D_MIXED, 5, 'value key', '7', '{"value": 99, "unit": "W"}') +
              line(D_MIXED, 6, 'crlf', '8', '{"unit": "W"}').replace('\n', '\r\n') +
              line(D_MIXED, 6, 'crcr', '9', '').replace('\n', '\r\r\n') +
              '260905-250000.000000\ttemperature\tbad hour\t1\t{}\n' +
              line(D_MIXED, 7, 'x' * 3000, 'bad utf8 \udcff', '{"n": 1e400}') +
              line(D_MIXED, 8, 'big', '5000000000', '{"delta": 5000000000}') +
              line(D_MIXED + timedelta(days=1), 1, 'next day') +
              line(D_MIXED, 9, 'unfinished', '1', '{"unit"')[:-1]),
    # the month-change bug of CSTBox's writer: the next month's events in this file
    D_MONTH_END: line(D_MONTH_END, 86399) + line(date(2026, 10, 1), 0, 'october') +
    line(date(2026, 10, 1), 1, 'october', data='{"unit": "degC"}')[:-1],
}


def write_day(root, day, text):
    path = fsys.day_path(str(root), 'sensor', day)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(text.encode('utf-8', 'surrogateescape') if isinstance(text, str) else text)
    return path


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """(root, address): the corpus and a later day, served by cbx-evtdb on a private bus."""
    root = tmp_path_factory.mktemp('quirks-root')
    for day, text in CORPUS.items():
        write_day(root, day, text)
    write_day(root, LATER, line(LATER, 1))
    with evtdb_bus(tmp_path_factory.mktemp('quirks-bus'), root) as address:
        yield str(root), address


def at(day, seconds=0):
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


def read(source, start, end, var_types=()):
    """The events of a window, or the error: an error of one path must be the other's too."""
    try:
        return list(source.events(start, end, var_types))
    except EventStoreError:
        return 'EventStoreError'


def render(events, fmt, compress):
    if isinstance(events, str):
        return events
    out = io.BytesIO()
    extract(iter(events), fmt, out, compress)
    return out.getvalue()


def same_everywhere(root, address, windows, var_types=()):
    """Assert byte identity of both paths for every format; returns the file path's stats."""
    with EventStoreClient(address, timeout=20) as bus, \
            FileSource(EventStoreClient(address, timeout=20), root) as files:
        for start, end in windows:
            want, got = read(bus, start, end, var_types), read(files, start, end, var_types)
            for fmt, compress in FORMATS:
                assert render(got, fmt, compress) == render(want, fmt, compress), \
                    (fmt, compress, start, end)
        return dict(files.stats)


def test_closed_day_last_line_without_newline_read(store):
    """The last line of a closed day is read even without its final newline (288, not 287)."""
    root, address = store
    with FileSource(EventStoreClient(address, timeout=20), root) as files:
        assert len(list(files.events(at(D_NO_NEWLINE), at(D_NO_NEWLINE, 86400)))) == 288
        assert files.stats['files'] == 1 and files.stats['dbus_days'] == 0
    same_everywhere(root, address, [(at(D_NO_NEWLINE), at(D_NO_NEWLINE, 86400)),
                                    (at(D_NO_NEWLINE, 86000), at(D_NO_NEWLINE, 86400))])


def test_crlf_line_with_empty_data_read(store):
    """A CRLF line with an empty data field is an event with no data, as the reader reads it."""
    root, address = store
    with FileSource(EventStoreClient(address, timeout=20), root) as files:
        events = list(files.events(at(D_CRLF_EMPTY), at(D_CRLF_EMPTY, 86400)))
        assert [(e.var_name, e.value, e.data) for e in events][1:3] == \
            [('empty', 3, {}), ('cr', None, {})] and len(events) == 4
        assert files.stats['dbus_days'] == 0
    same_everywhere(root, address, [(at(D_CRLF_EMPTY), at(D_CRLF_EMPTY, 86400))])


@pytest.mark.parametrize('day', sorted(CORPUS))
def test_corpus_day_read_from_its_file(store, day):
    """Each quirky day of the corpus is read from its file, byte-identical to D-Bus in every
    format, over the whole day and over windows cutting through its odd lines."""
    root, address = store
    windows = [(at(day), at(day, 86400)), (at(day, 2), at(day, 8)),
               (at(day, 8 * 3600 + 15 * 60), at(day, 8 * 3600 + 15 * 60 + 1)),
               (at(day, 5), at(day, 86399))]
    stats = same_everywhere(root, address, windows)
    assert stats['files'] == 1 and stats['dbus_days'] == 0, stats
    same_everywhere(root, address, [(at(day), at(day, 86400))], var_types=('temperature',))


def test_open_day_unfinished_line(store, tmp_path, caplog):
    """On a day still open, an unfinished last line is left for later when it falls after the
    window, and sends the day over D-Bus (logged once, with why) when it falls inside."""
    root, address = store
    path = write_day(tmp_path, LATER, line(LATER, 1, 'done') + line(LATER, 2, 'half')[:-8])
    clock = lambda: at(LATER, 3600)    # noqa: E731
    caplog.set_level(logging.DEBUG, 'pycstbox.evtdb.source')
    with FileSource(EventStoreClient(address, timeout=20), str(tmp_path), clock=clock) as files:
        assert [e.var_name for e in files.events(at(LATER), at(LATER, 2))] == ['done']
        assert files.stats['files'] == 1
        for _ in range(2):
            list(files.events(at(LATER), at(LATER, 3)))
            assert files.stats['dbus_days'] == 1 and files.stats['files'] == 0
        told = [r for r in caplog.records if r.levelno >= logging.INFO and 'unfinished' in
                r.getMessage()]
        assert len(told) == 1 and path in told[0].getMessage()
        with open(path, 'a') as f:
            f.write('"degC"}\n')
        assert [(e.var_name, e.unit) for e in files.events(at(LATER), at(LATER, 3))] == \
            [('done', 'degC'), ('half', 'degC')]
        assert files.stats['files'] == 1


def test_out_of_order_day_over_dbus(store, tmp_path):
    """A day whose kept lines go back in time is read over D-Bus (the reader sorts it)."""
    root, address = store
    text = line(D_NO_NEWLINE, 10) + line(D_NO_NEWLINE, 5) + line(D_NO_NEWLINE, 20)
    write_day(tmp_path, D_NO_NEWLINE, text)
    with FileSource(EventStoreClient(address, timeout=20), str(tmp_path)) as files:
        list(files.events(at(D_NO_NEWLINE), at(D_NO_NEWLINE, 86400)))
        assert files.stats['dbus_days'] == 1


# -- hypothesis: random quirks applied to lines of a day, one new day per example --------

FIRST_DAY = date(2020, 1, 1)
_days = iter(range(10 ** 6))


def mutate(day, k, kind, arg):
    """Line ``k`` of a day (seconds ``k * 37``), with a quirk of ``kind``."""
    base = line(day, k * 37, 'n%d' % (k % 3), str(k), '{"unit": "W", "k": %d}' % (k % 4),
                micro=(k * 1000) % 1000000)
    ts, rest = base.split('\t', 1)
    if kind == 'short':
        return ts[:max(7, len(ts) - arg)] + '\t' + rest
    if kind == 'crlf':
        return base[:-1] + '\r' * (1 + arg % 2) + '\n'
    if kind == 'empty data':
        return base.rsplit('\t', 1)[0] + '\t' + '\r' * (arg % 2) + '\n'
    if kind == 'empty line':
        return base + ('\n', '\r\n', ' \n')[arg % 3]
    if kind == 'other day':
        other = day + timedelta(days=(-1, 1, -40, 400)[arg % 4])
        return base + other.strftime('%y%m%d') + ts[6:] + '\t' + rest
    if kind == 'fields':
        return (base.replace('\tW', '\t\tW', 1), base.replace('\t', ' ', 1),
                base.rsplit('\t', 1)[0] + '\n')[arg % 3]
    if kind == 'bad json':
        return base.rsplit('\t', 1)[0] + '\t' + ('{"unit"', '[1]', 'null', '7', '{}',
                                                 '{"unit": null}', '{"value": 1}')[arg % 7] + '\n'
    if kind == 'bad ts':
        return ('xx' + ts[2:], ts[:8] + '9' + ts[9:], ts[:14] + 'x' + ts[15:],
                ts + '0')[arg % 4] + '\t' + rest
    if kind == 'bytes':
        return base.replace('\tW', '\t\udce9\udc80W', 1)
    if kind == 'same time':
        return base + ts + '\tpower\tsame\t' + str(arg) + '\t{}\n'
    if kind == 'swap':
        return 'SWAP' + base
    return base


KINDS = ['plain', 'plain', 'short', 'crlf', 'empty data', 'empty line', 'other day', 'fields',
         'bad json', 'bad ts', 'bytes', 'same time', 'swap']


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(kinds=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 20)), min_size=1,
                      max_size=40),
       newline=st.booleans(), cut=st.integers(0, 40), width=st.integers(1, 2000))
def test_mutated_lines_same_bytes(store, kinds, newline, cut, width):
    """Whatever mix of quirks a day holds, both paths give the same bytes in every format."""
    root, address = store
    day = FIRST_DAY + timedelta(days=next(_days))
    lines = [mutate(day, k, kind, arg) for k, (kind, arg) in enumerate(kinds)]
    for i, text in enumerate(lines):
        if text.startswith('SWAP'):
            lines[i] = text[4:]
            if i:
                lines[i - 1], lines[i] = lines[i], lines[i - 1]
    text = ''.join(lines)
    if not newline:
        text = text.rstrip('\n')
    write_day(root, day, text)
    start = at(day, min(cut, len(kinds)) * 37)
    same_everywhere(root, address, [(at(day), at(day, 86400)),
                                    (start, start + timedelta(seconds=width))])
