"""cbx-evtdb against CSTBox's EventDatabase interface, over a real private bus."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import dbus
import pytest

from tests.peers.evtdb import evtdb_bus, write_dense_day
from .conftest import DAY1

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

NAME = IFACE = 'fr.cstb.cstbox.EventDatabase'


@pytest.fixture
def bus(evtdb_address):
    conn = dbus.bus.BusConnection(evtdb_address)
    try:
        yield conn
    finally:
        conn.close()


def call(conn, method, sig='', args=(), path='/sensor', iface=IFACE):
    return conn.call_blocking(NAME, path, iface, method, sig, args, timeout=10)


def methods(conn, path, iface):
    xml = call(conn, 'Introspect', path=path, iface='org.freedesktop.DBus.Introspectable')
    node = ET.fromstring(str(xml))
    out = {}
    for itf in node.findall('interface'):
        if itf.get('name') != iface:
            continue
        for m in itf.findall('method'):
            args = m.findall('arg')
            out[m.get('name')] = (''.join(a.get('type') for a in args if a.get('direction') == 'in'),
                                  ''.join(a.get('type') for a in args if a.get('direction') == 'out'))
    return out


def test_introspection_matches_cstbox(bus):
    """/sensor and /__system__ expose exactly CSTBox's methods and signatures."""
    assert methods(bus, '/sensor', IFACE) == {
        'flush': ('', ''),
        'get_available_days': ('nn', 'as'),
        'get_events_for_day': ('sss', 'a(sssva{sv})'),
        'get_events': ('a{sv}', 'a(sssva{sv})'),
    }
    assert methods(bus, '/__system__', 'fr.cstb.cstbox.__system__') == {'terminate': ('', '')}
    assert 'get_events' in methods(bus, '/sysmon', IFACE)


def test_available_days_and_quirk(bus):
    """year=0 lists all days; year>0 with month=0 returns [] like CSTBox."""
    assert list(call(bus, 'get_available_days', 'nn', (0, 0))) == [
        '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']
    assert list(call(bus, 'get_available_days', 'nn', (2026, 11))) == [
        '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']
    assert list(call(bus, 'get_available_days', 'nn', (2026, 0))) == []
    assert list(call(bus, 'get_available_days', 'nn', (2026, 12))) == []
    assert list(call(bus, 'get_available_days', 'nn', (0, 0), path='/sysmon')) == []


def test_reply_shape_value_as_string(bus):
    """Events are (ts '%Y-%m-%d %H:%M:%S.%f', type, name, value str, data with 'value')."""
    reply = call(bus, 'get_events_for_day', 'sss', ('2026/11/30', 'energy', ''))
    assert len(reply) == 1
    ts, vt, vn, value, data = reply[0]
    assert (ts, vt, vn, value) == ('2026-11-30 00:00:09.000000', 'energy', 'big counter',
                                   '5000000000')
    assert dict(data) == {'unit': 'Wh', 'delta': 5000000000, 'value': '5000000000'}


def test_garbage_lines_skipped(bus):
    """A day file with garbage lines serves only its readable lines of that day."""
    reply = call(bus, 'get_events_for_day', 'sss', ('2026-11-30', '', ''))
    assert [str(e[2]) for e in reply] == ['good 1', 'short ts', 'door "A", été', 'big counter']
    assert dict(reply[2][4]) == {'message': 'x', 'value': 'None'}   # null dropped


def test_day_filters_and_missing_day(bus):
    """get_events_for_day filters by type and name; a day without file gives []."""
    reply = call(bus, 'get_events_for_day', 'sss', ('2026-11-27', 'temperature', ''))
    assert reply and {str(e[1]) for e in reply} == {'temperature'}
    name = str(reply[0][2])
    reply = call(bus, 'get_events_for_day', 'sss', ('2026-11-27', '', name))
    assert reply and {str(e[2]) for e in reply} == {name}
    assert list(call(bus, 'get_events_for_day', 'sss', ('2026-10-01', '', ''))) == []


def test_get_events_bounds_inclusive(bus):
    """get_events includes both from_time and to_time, to the microsecond."""
    reply = call(bus, 'get_events', 'a{sv}', ({'from_time': '2026-11-29 12:00:00.000001',
                                                'to_time': '2026-11-29 12:00:10.000000'},))
    assert [str(e[0])[11:] for e in reply] == ['12:00:00.000001', '12:00:09.999999',
                                               '12:00:10.000000']


def test_over_cap_refused_without_dying(tmp_path):
    """A request above --max-events gets a TooManyEvents D-Bus error; the service lives on."""
    root = tmp_path / 'root'
    write_dense_day(root, DAY1, 3000)
    with evtdb_bus(tmp_path, root, max_events=1000) as address:
        conn = dbus.bus.BusConnection(address)
        try:
            with pytest.raises(dbus.DBusException) as info:
                call(conn, 'get_events_for_day', 'sss', ('2026-11-27', '', ''))
            assert info.value.get_dbus_name() == IFACE + '.TooManyEvents'
            reply = call(conn, 'get_events', 'a{sv}', ({'from_time': '2026-11-27 00:00:00',
                                                        'to_time': '2026-11-27 01:00:00'},))
            assert len(reply) == 126    # one every 28.8 s, both bounds included
        finally:
            conn.close()


def test_terminate_stops_service(tmp_path):
    """/__system__ terminate() makes cbx-evtdb exit with status 0."""
    from tests.peers.evtdb import evtdb_service, private_bus
    (tmp_path / 'root').mkdir()
    with private_bus(tmp_path) as address:
        with evtdb_service(address, tmp_path / 'root') as proc:
            conn = dbus.bus.BusConnection(address)
            try:
                call(conn, 'terminate', path='/__system__', iface='fr.cstb.cstbox.__system__')
            finally:
                conn.close()
            assert proc.wait(10) == 0


def test_service_without_python3_gi_says_what_to_install(tmp_path):
    """Without python3-gi, cbx-evtdb says in one line to install it (no traceback)."""
    hide = tmp_path / 'hide'
    hide.mkdir()
    (hide / 'gi.py').write_text("raise ModuleNotFoundError(\"No module named 'gi'\", name='gi')\n")
    env = dict(os.environ, PYTHONPATH='%s:%s' % (hide, REPO), DBUS_SESSION_BUS_ADDRESS='')
    r = subprocess.run([sys.executable, '-m', 'pycstbox.evtdb', '--root', str(tmp_path)],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 2, r.stderr
    assert 'Traceback' not in r.stderr and len(r.stderr.splitlines()) == 1
    assert 'python3-gi' in r.stderr and 'apt-get install python3-gi' in r.stderr
