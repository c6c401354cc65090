"""Fixtures of the event store tests: real dbus-daemon, real cbx-evtdb, real day files."""

import os
import sys
from datetime import date, datetime

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tests.peers.evtdb import evtdb_bus, generate_days, write_events  # noqa: E402

DAY1, DAY2, GARBAGE_DAY = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)
HERE = os.path.dirname(os.path.abspath(__file__))


def boundary_events():
    """Events placed on and around window boundaries of 2026-11-29 (microseconds)."""
    base = datetime(2026, 11, 29, 12, 0, 0)
    out = []
    for sec, us in ((0, 0), (0, 1), (9, 999999), (10, 0), (10, 1), (19, 999999), (20, 0)):
        ts = base.replace(second=sec, microsecond=us)
        out.append((ts, 'temperature', 'edge %02d.%06d' % (sec, us), '21.5', {'unit': 'degC'}))
    return out


GARBAGE_LINES = (
    '261130-000001.000000\ttemperature\tgood 1\t20.5\t{"unit": "degC"}\n'
    'this is not an event\n'
    '261130-000002\ttemperature\tshort ts\t20.6\t{"unit": "degC"}\n'
    '261130-000003.000000\ttemperature\ttoo\tmany\tfields\t{}\n'
    'xx1130-000004.000000\ttemperature\tbad ts\t1\t{}\n'
    '261130-000005.000000\ttemperature\tbad json\t1\t{not json\n'
    '261130-250006.000000\ttemperature\tbad hour\t1\t{}\n'
    '261201-000007.000000\ttemperature\tnext month\t1\t{}\n'
    '\n'
    '261130-000008.500000\tnotification\tdoor "A", ét\xe9\tNone\t{"message": "x", "n": null}\n'
    '261130-000009.000000\tenergy\tbig counter\t5000000000\t{"unit": "Wh", "delta": 5000000000}\n'
)


@pytest.fixture(scope='session')
def evtdb_root(tmp_path_factory):
    """Day files: two generated days, boundary events, one day with garbage lines."""
    root = tmp_path_factory.mktemp('evtdb-root')
    generate_days(root, DAY1, days=2, sensors=10, interval=60)
    write_events(root, boundary_events())
    with open(os.path.join(str(root), 'sensor', '261130.evt-log'), 'w', encoding='utf-8') as f:
        f.write(GARBAGE_LINES)
    os.makedirs(os.path.join(str(root), 'sysmon'))
    return root


@pytest.fixture(scope='session')
def evtdb_address(tmp_path_factory, evtdb_root):
    """Address of a private bus where cbx-evtdb serves ``evtdb_root`` (sensor, sysmon)."""
    tmp = tmp_path_factory.mktemp('evtdb-bus')
    with evtdb_bus(tmp, evtdb_root, channels=('sensor', 'sysmon'), max_events=50000) as address:
        yield address


@pytest.fixture
def client(evtdb_address):
    """An EventStoreClient on the shared service, closed after the test."""
    from pycstbox.evtdb.client import EventStoreClient
    c = EventStoreClient(evtdb_address, timeout=10)
    try:
        yield c
    finally:
        c.close()
