"""The day-file fast path (read = "files") gives the same bytes as the D-Bus path, for
every format, on the same store: odd lines, missing days, DST days, a day being
appended to while it is read, unsorted or unreadable days (read over D-Bus)."""

import io
import os
import threading
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pycstbox.evtdb import fsys
from pycstbox.evtdb.client import EventStoreClient
from pycstbox.evtdb.source import FileSource, open_source
from pycstbox.export import formats
from pycstbox.export.process.extract import extract
from tests.peers.evtdb import evtdb_bus, generate_days

UTC = timezone.utc
PARIS = ZoneInfo('Europe/Paris')
DST_DAY = date(2026, 10, 25)           # Europe/Paris: 25 hours
FIRST, MISSING, UNSORTED, GROWING = date(2026, 10, 24), date(2026, 10, 27), \
    date(2026, 10, 28), date(2026, 10, 29)

# odd lines kept in time order (as bytes), so that the fast path reads them itself
ODD_LINES = (
    '261025-120000\ttemperature\tshort ts\t20.6\t{"unit": "degC"}\n'
    '261025-120000.000000\ttemperature\tsame second\t20.7\t{"unit": "degC", "value": "x"}\n'
    '261025-120000.5\ttemperature\thalf\t-0.0\t{"unit": "degC", "n": null, "l": [1, null]}\n'
    '261025-120001.000000\ttemperature\tbad json\t1\t{not json\n'
    '261025-120001.000000\ttemperature\tlist data\t1\t[1, 2]\n'
    '261025-120001.00000x\ttemperature\tbad micro\t1\t{}\n'
    '261025-120002.000000\ttemperature\tthree fields\n'
    '261025-120002.000000\ttoo\tmany\tfields\there\t{}\n'
    '261025-120003.000000\tenergy\thuge\t' + '9' * 5000 + '\t{"unit": "Wh", "delta": 5000000000}\n'
    '261025-120003.000000\tnotification\tdoor "A", \xe9t\xe9 \x01\tNone\tnull\n'
    '261025-120004.250000\tpower\tcr line\tnan\t{"unit": 7}\r\n'
    '261025-120005.000000\tmotion\tm\tTrue\t{"unit": ""}\n'
    '261025-120006.000000\tmotion\tm\t\t\n'
    '261025-120007.000000\tcounter\tc\t1e400\t{"nested": {"a": null, "b": [true, 1.5]}}\n'
    '261025-120008.000000\tpower\tbad utf8 \udcff\t12\t{"unit": "W"}\n'
    '261025-250000.000000\ttemperature\tbad hour\t1\t{}\n'
    '261026-000001.000000\ttemperature\tnext day\t1\t{}\n'
)


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """(root, address): generated days around a DST change, odd lines, a missing day,
    an unsorted day, a day that grows; cbx-evtdb serving them on a private bus."""
    root = tmp_path_factory.mktemp('fastpath-root')
    generate_days(root, FIRST, days=3, sensors=14, interval=300)
    generate_days(root, UNSORTED, days=2, sensors=7, interval=600)
    sensor = os.path.join(str(root), 'sensor')
    path = fsys.day_path(str(root), 'sensor', DST_DAY)
    with open(path, 'rb') as f:
        lines = f.read().split(b'\n')[:-1]
    odd = ODD_LINES.encode('utf-8', 'surrogateescape').split(b'\n')[:-1]
    merged = sorted(lines + odd, key=lambda line: line[:21])
    with open(path, 'wb') as f:
        f.write(b'\n'.join(merged) + b'\n')
    with open(fsys.day_path(str(root), 'sensor', UNSORTED), 'rb') as f:
        lines = f.read().split(b'\n')[:-1]
    lines[10], lines[20] = lines[20], lines[10]
    with open(fsys.day_path(str(root), 'sensor', UNSORTED), 'wb') as f:
        f.write(b'\n'.join(lines) + b'\n')
    assert not os.path.exists(fsys.day_path(str(root), 'sensor', MISSING))
    assert os.path.isdir(sensor)
    bus = tmp_path_factory.mktemp('fastpath-bus')
    with evtdb_bus(bus, root) as address:
        yield str(root), address


def at(*args):
    return datetime(*args, tzinfo=UTC)


def local_day(day):
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    nxt = day + timedelta(days=1)
    return start.astimezone(UTC), datetime(nxt.year, nxt.month, nxt.day,
                                           tzinfo=PARIS).astimezone(UTC)


def render(source, start, end, fmt, compress, var_types=(), var_names=()):
    out = io.BytesIO()
    extract(source.events(start, end, var_types, var_names), fmt, out, compress)
    return out.getvalue()


WINDOWS = [
    (at(2026, 10, 24), at(2026, 10, 30)),                     # every day, one missing
    local_day(DST_DAY),                                       # 25 h local day
    local_day(date(2026, 10, 24)),
    (at(2026, 10, 25, 12), at(2026, 10, 25, 12, 0, 4, 250000)),   # odd lines, end on one
    (at(2026, 10, 25, 12, 0, 0, 1), at(2026, 10, 25, 12, 0, 7, 1)),
    (at(2026, 10, 25, 11, 59, 59), at(2026, 10, 25, 12, 0, 0)),    # empty
    (at(2026, 10, 26, 23, 30), at(2026, 10, 28, 1, 0)),       # across the missing day
]


def test_same_bytes_every_format(store):
    """Every format (and gzip) and every window: the fast path's bytes are the D-Bus path's."""
    root, address = store
    with EventStoreClient(address, timeout=20) as dbus_client, \
            FileSource(EventStoreClient(address, timeout=20), root) as files:
        for start, end in WINDOWS:
            for fmt in formats.names():
                for compress in (('none', 'gzip') if formats.get(fmt).compressible else ('none',)):
                    want = render(dbus_client, start, end, fmt, compress)
                    got = render(files, start, end, fmt, compress)
                    assert got == want, (fmt, compress, start, end)
            assert files.stats['events'] == dbus_client.stats['events']
    assert files.stats['files'] >= 1


def test_same_events_with_filters(store):
    """var_types/var_names filters (one, several, '') select the same events on both paths."""
    root, address = store
    start, end = at(2026, 10, 24), at(2026, 10, 27)
    with EventStoreClient(address, timeout=20) as dbus_client, \
            FileSource(EventStoreClient(address, timeout=20), root) as files:
        for types, names in ((('temperature',), ()), (('motion', 'power'), ()),
                             ((), ('half', 'm', 'cr line')), (('',), ()),
                             (('notification',), ('door "A", été \x01',))):
            want = [repr(e) for e in dbus_client.events(start, end, types, names)]   # nan
            got = [repr(e) for e in files.events(start, end, types, names)]
            assert got == want and files.stats['dbus_days'] == 0


def test_odd_lines_read_from_the_file(store):
    """The day with odd lines is read from its file (not over D-Bus), values decoded."""
    root, address = store
    with FileSource(EventStoreClient(address, timeout=20), root) as files:
        events = list(files.events(at(2026, 10, 25, 12), at(2026, 10, 25, 12, 0, 9)))
        assert files.stats == dict(files.stats, files=1, dbus_days=0, skipped=5)
    by_name = {e.var_name: e for e in events}
    assert by_name['huge'].value == '9' * 5000
    assert by_name['half'].data == {'unit': 'degC', 'l': [1]}
    assert by_name['cr line'].unit == '7' and by_name['m'].value is None
    assert 'bad hour' not in by_name and 'next day' not in by_name


def test_missing_and_unsorted_days_read_over_dbus(store):
    """A day without a file and an unsorted day are read over D-Bus (same events)."""
    root, address = store
    with EventStoreClient(address, timeout=20) as dbus_client, \
            FileSource(EventStoreClient(address, timeout=20), root) as files:
        start, end = at(2026, 10, 27), at(2026, 10, 29)
        assert render(files, start, end, 'jsonl', 'none') == \
            render(dbus_client, start, end, 'jsonl', 'none')
        assert files.stats['dbus_days'] == 2 and files.stats['files'] == 0


def test_unreadable_day_read_over_dbus(store, tmp_path):
    """A day file that cannot be opened (a directory in its place) is read over D-Bus."""
    root, address = store
    other = tmp_path / 'root'
    os.makedirs(other / 'sensor' / fsys.file_name(FIRST))
    with EventStoreClient(address, timeout=20) as dbus_client, \
            FileSource(EventStoreClient(address, timeout=20), str(other)) as files:
        day = (at(2026, 10, 24), at(2026, 10, 25))
        assert render(files, *day, 'jsonl', 'none') == render(dbus_client, *day, 'jsonl', 'none')
        assert files.stats['dbus_days'] == 1


def test_day_being_appended_to(store):
    """A day appended to (partial lines included) while both paths read it: same bytes."""
    root, address = store
    path = fsys.day_path(root, 'sensor', GROWING)
    stop = threading.Event()

    def append():
        k = 0
        while not stop.is_set():
            ts = datetime(2026, 10, 29, 23, 59, 59) + timedelta(microseconds=k)
            line = fsys.format_line(ts, 'power', 'late %d' % k, str(k), '{"unit": "W"}')
            with open(path, 'a', encoding='utf-8') as f:
                f.write(line[:len(line) // 2])
                f.flush()
                time.sleep(0.001)
                f.write(line[len(line) // 2:])
            k += 1

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with EventStoreClient(address, timeout=20) as dbus_client, \
                FileSource(EventStoreClient(address, timeout=20), root) as files:
            for _ in range(3):
                window = (at(2026, 10, 29), at(2026, 10, 29, 23))
                want = render(dbus_client, *window, 'jsonl', 'none')
                got = render(files, *window, 'jsonl', 'none')
                assert got == want and files.stats['files'] == 1
    finally:
        stop.set()
        writer.join()


def test_auto_takes_files_on_a_cstbox_layout(store, tmp_path):
    """read="auto" reads the files when <root>/<channel> is readable, else D-Bus."""
    root, address = store
    src = open_source(address, 'sensor', 20, 'auto', root)
    try:
        assert isinstance(src, FileSource)
        src.flush()
    finally:
        src.close()
    src = open_source(address, 'sensor', 20, 'auto', str(tmp_path / 'none'))
    try:
        assert isinstance(src, EventStoreClient)
    finally:
        src.close()
    src = open_source(address, 'sensor', 20, 'dbus', root)
    try:
        assert isinstance(src, EventStoreClient)
    finally:
        src.close()


def test_line_without_newline(store, tmp_path):
    """A last line without its newline is left for later on a day still open (it may be
    half written) and read as the store's reader reads it on a closed day."""
    root, address = store
    day = date(2026, 10, 26)     # a day the store lists (its own file is elsewhere)
    path = fsys.day_path(str(tmp_path), 'sensor', day)
    os.makedirs(os.path.dirname(path))
    done = '261026-000001.000000\tpower\tp\t12\t{"unit": "W"}\n'
    with open(path, 'w', encoding='utf-8') as f:
        f.write(done + '261026-000002.000000\tpower\tp\t13\t')
    window = (at(2026, 10, 26), at(2026, 10, 26, 0, 0, 2))
    with FileSource(EventStoreClient(address, timeout=20), str(tmp_path)) as files:
        files.client.available_days = lambda: ['2026-10-26']       # the last day
        files.clock = lambda: at(2026, 10, 26, 12)                  # ... still open
        assert [e.value for e in files.events(*window)] == [12]
        files.clock = lambda: at(2026, 10, 27, 1, 0, 1)             # ... closed
        window = (at(2026, 10, 26), at(2026, 10, 26, 0, 0, 3))
        assert [(e.value, e.unit) for e in files.events(*window)] == [(12, 'W'), (13, '')]
        with open(path, 'a', encoding='utf-8') as f:
            f.write('{"unit": "W"}\n')
        assert [(e.value, e.unit) for e in files.events(*window)] == [(12, 'W'), (13, 'W')]
        assert files.stats['files'] == 1


def test_file_the_store_does_not_list_read_over_dbus(store, tmp_path):
    """A day file under root that the store does not list (root is not the store's) is not
    read: that day goes over D-Bus, as the store sees it."""
    root, address = store
    other = tmp_path / 'root'
    os.makedirs(other / 'sensor')
    generate_days(other, date(2026, 11, 5), days=1, sensors=3, interval=3600)
    with FileSource(EventStoreClient(address, timeout=20), str(other)) as files:
        assert list(files.events(at(2026, 11, 5), at(2026, 11, 6))) == []
        assert files.stats['dbus_days'] == 1 and files.stats['files'] == 0
