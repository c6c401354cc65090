"""EventStoreClient against cbx-evtdb (and misbehaving stubs) on a private bus."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from pycstbox.evtdb import fsys
from pycstbox.evtdb.client import EventStoreClient
from pycstbox.export.errors import EventStoreError
from tests.peers.evtdb import _env, bus_pid, evtdb_bus, evtdb_service, private_bus, \
    wait_for_name, write_dense_day

from .conftest import DAY1, DAY2, HERE

UTC = timezone.utc


def at(*args):
    return datetime(*args, tzinfo=UTC)


def stored(root, days, **filters):
    """What the day files hold for ``days``, via the file reader: (ts, type, name)."""
    out = []
    for day in days:
        for ts, vt, vn, _, _ in fsys.read_day(str(root), 'sensor', day, **filters):
            out.append((ts.replace(tzinfo=UTC), vt, vn))
    return out


def test_whole_days_match_files(client, evtdb_root):
    """A two-day window returns exactly the stored events, oldest first, decoded."""
    events = list(client.events(at(2026, 11, 27), at(2026, 11, 29)))
    assert [(e.timestamp, e.var_type, e.var_name) for e in events] == stored(evtdb_root, (DAY1, DAY2))
    assert client.stats['events'] == len(events) and client.stats['skipped'] == 0
    kinds = {e.var_type: e for e in events}
    assert isinstance(kinds['temperature'].value, float) and kinds['temperature'].unit == 'degC'
    assert isinstance(kinds['motion'].value, bool) and kinds['motion'].unit == ''
    assert 'value' not in kinds['power'].data and kinds['power'].data['unit'] == 'W'
    assert all(e.timestamp.tzinfo is UTC or e.timestamp.utcoffset() == timedelta(0) for e in events)


def test_half_open_window_boundaries(client):
    """An event exactly at start is read, one exactly at end is not (microseconds)."""
    names = [e.var_name for e in client.events(at(2026, 11, 29, 12, 0, 10),
                                               at(2026, 11, 29, 12, 0, 20))]
    assert names == ['edge 10.000000', 'edge 10.000001', 'edge 19.999999']


def test_adjacent_windows_neither_lose_nor_repeat(client):
    """Consecutive windows cut at microsecond boundaries cover each event exactly once."""
    cuts = [at(2026, 11, 29, 11), at(2026, 11, 29, 12, 0, 0, 1), at(2026, 11, 29, 12, 0, 10),
            at(2026, 11, 29, 12, 0, 10, 1), at(2026, 11, 29, 12, 0, 20), at(2026, 11, 29, 13)]
    pieces = [[e.var_name for e in client.events(a, b)] for a, b in zip(cuts, cuts[1:])]
    assert pieces == [['edge 00.000000'], ['edge 00.000001', 'edge 09.999999'], ['edge 10.000000'],
                      ['edge 10.000001', 'edge 19.999999'], ['edge 20.000000']]


def test_naive_bounds_are_utc(client):
    """Naive datetimes given as bounds are taken as UTC."""
    assert len(list(client.events(datetime(2026, 11, 29, 12), datetime(2026, 11, 29, 12, 0, 20)))) == 6


def test_filters_single_and_multiple(client, evtdb_root):
    """One var_type/var_name filters at the service, several filter client side."""
    win = (at(2026, 11, 27), at(2026, 11, 28))
    temps = [(e.timestamp, e.var_type, e.var_name) for e in client.events(*win, var_types=['temperature'])]
    assert temps and temps == stored(evtdb_root, [DAY1], var_type='temperature')
    both = list(client.events(*win, var_types=('temperature', 'humidity')))
    want = [r for r in stored(evtdb_root, [DAY1]) if r[1] in ('temperature', 'humidity')]
    assert [(e.timestamp, e.var_type, e.var_name) for e in both] == want
    name = temps[0][2]
    one = list(client.events(*win, var_names=[name]))
    assert one and {e.var_name for e in one} == {name}
    two = list(client.events(*win, var_names=[name, 'motion hall 1'], var_types=['motion', 'temperature']))
    assert {e.var_name for e in two} == {name, 'motion hall 1'}


def test_empty_window_and_days(client):
    """A window without events or without day files yields nothing, without error."""
    assert list(client.events(at(2026, 10, 1), at(2026, 10, 20))) == []
    assert list(client.events(at(2026, 11, 29, 0), at(2026, 11, 29, 11))) == []
    assert list(client.events(at(2026, 11, 29, 13), at(2026, 11, 29, 13))) == []


def test_garbage_day_values(client):
    """A day with garbage lines yields its good events; no value decodes to None."""
    events = list(client.events(at(2026, 11, 30), at(2026, 12, 1)))
    assert [e.var_name for e in events] == ['good 1', 'short ts', 'door "A", été', 'big counter']
    assert events[2].value is None and events[2].data == {'message': 'x'}
    assert events[3].value == 5000000000 and events[3].data['delta'] == 5000000000


def test_flush_and_available_days(client):
    """flush() succeeds and available_days() lists the store's days."""
    client.flush()
    assert client.available_days() == ['2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']


def test_pages_stay_near_target(tmp_path):
    """On a dense day, replies stay near target_events and never reach the service cap."""
    root = tmp_path / 'root'
    write_dense_day(root, DAY1, 120000)
    with evtdb_bus(tmp_path, root, max_events=30000) as address:
        with EventStoreClient(address, timeout=10, target_events=5000) as c:
            n = sum(1 for _ in c.events(at(2026, 11, 26), at(2026, 11, 29)))
            assert n == 120000
            assert c.stats['largest'] <= 12000 and c.stats['calls'] < 60


def test_abandoned_read_leaves_client_usable(client, evtdb_root):
    """Stopping a read early (pending call cancelled) does not disturb the next read."""
    it = client.events(at(2026, 11, 27), at(2026, 11, 29))
    first = [next(it) for _ in range(10)]
    it.close()
    again = list(client.events(at(2026, 11, 27), at(2026, 11, 29)))
    assert [e.var_name for e in again[:10]] == [e.var_name for e in first]
    assert len(again) == len(stored(evtdb_root, (DAY1, DAY2)))


def test_service_not_running(tmp_path):
    """No service on the bus: a clear EventStoreError saying it is not running."""
    with private_bus(tmp_path) as address:
        with EventStoreClient(address, timeout=5) as c:
            with pytest.raises(EventStoreError, match='not running') as info:
                list(c.events(at(2026, 11, 27), at(2026, 11, 28)))
            assert info.value.temporary


def test_bus_unreachable(tmp_path):
    """A bus address nobody listens on: EventStoreError naming the address."""
    address = 'unix:path=%s' % (tmp_path / 'nobus')
    with pytest.raises(EventStoreError, match='nobus'):
        EventStoreClient(address, timeout=2)


@pytest.mark.parametrize('victim', ['service', 'bus'])
def test_killed_mid_read(tmp_path, victim):
    """Service or bus killed in the middle of a read: EventStoreError quickly, no hang."""
    root = tmp_path / 'root'
    write_dense_day(root, DAY1, 100000)
    with private_bus(tmp_path) as address:
        with evtdb_service(address, root) as proc:
            c = EventStoreClient(address, timeout=20)
            try:
                it = c.events(at(2026, 11, 27), at(2026, 11, 28))
                for _ in range(100):
                    next(it)
                if victim == 'service':
                    proc.kill()
                else:
                    os.kill(bus_pid(address), signal.SIGKILL)
                t0 = time.monotonic()
                with pytest.raises(EventStoreError) as info:
                    for _ in it:
                        pass
                assert time.monotonic() - t0 < 5
                assert 'The window stays pending' in str(info.value)
            finally:
                c.close()


def run_stub(address, mode):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'stub_evtdb.py'), address, mode],
                            env=_env())
    wait_for_name(address, proc=proc)
    return proc


def stop(proc):
    proc.kill()
    proc.wait(5)


def test_slow_service_times_out(tmp_path):
    """A service slower than the timeout: EventStoreError after about the timeout."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'slow')
        try:
            with EventStoreClient(address, timeout=0.5) as c:
                t0 = time.monotonic()
                with pytest.raises(EventStoreError, match='no reply within 0.5 s'):
                    list(c.events(at(2026, 11, 27), at(2026, 11, 27, 0, 0, 5)))
                assert time.monotonic() - t0 < 3
        finally:
            stop(proc)


def test_malformed_events_skipped(tmp_path, caplog):
    """Events of wrong arity or bad timestamp are skipped, counted and logged."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'malformed')
        try:
            with EventStoreClient(address, timeout=5) as c:
                events = list(c.events(at(2026, 11, 27), at(2026, 11, 27, 0, 0, 5)))
                assert [e.var_name for e in events] == ['ok', 'ok2']
                assert c.stats['skipped'] == 2
                assert 'bad ts' in caplog.text and 'short' in caplog.text
        finally:
            stop(proc)


def test_wrong_shape_reply(tmp_path):
    """A reply that is not a list of events is an EventStoreError."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'shape')
        try:
            with EventStoreClient(address, timeout=5) as c:
                with pytest.raises(EventStoreError, match='wrong shape'):
                    list(c.events(at(2026, 11, 27), at(2026, 11, 27, 0, 0, 5)))
        finally:
            stop(proc)


def test_numeric_values_kept(tmp_path):
    """Values sent as numbers or booleans keep their type; data is plain Python."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'numbers')
        try:
            with EventStoreClient(address, timeout=5) as c:
                events = list(c.events(at(2026, 11, 27), at(2026, 11, 27, 0, 0, 5)))
        finally:
            stop(proc)
    assert [(e.value, type(e.value)) for e in events] == [(12.0, float), (True, bool), (7, int)]
    assert events[0].data == {'unit': 'W', 'delta': 5000000000} and type(events[0].data['unit']) is str
