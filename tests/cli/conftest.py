"""Fixtures: one private dbus-daemon + cbx-evtdb serving known day files for the module."""

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.peers.evtdb import evtdb_bus, write_events

# events every 7 minutes from 2026-03-28 to 2026-03-30 (spring DST in Paris on the 29th),
# around 2026-10-25 (autumn DST) and across 2026-11-27/28 midnight, with odd names
SPANS = [(datetime(2026, 3, 28), datetime(2026, 3, 30, 12)),
         (datetime(2026, 10, 24), datetime(2026, 10, 26, 12)),
         (datetime(2026, 11, 27, 20), datetime(2026, 11, 28, 4))]
NAMES = [('temperature', 'temp séjour', 'degC'), ('energy', 'compteur "général", A', 'kWh'),
         ('motion', 'pir;hall', '')]


def make_events():
    """(naive UTC ts, var_type, var_name, value, data) of the fixture store, in time order."""
    out = []
    k = 0
    for lo, hi in SPANS:
        t = lo
        while t < hi:
            var_type, var_name, unit = NAMES[k % 3]
            value = (k % 2 == 0) if var_type == 'motion' else round(k * 0.1, 1)
            data = {'unit': unit} if unit else {}
            out.append((t + timedelta(microseconds=k % 1000 * 1000), var_type, var_name,
                        value, data))
            t += timedelta(minutes=7)
            k += 1
    # events exactly on the window bounds used by the tests
    for ts in (datetime(2026, 11, 27, 23, 0), datetime(2026, 11, 28, 1, 0)):
        out.append((ts, 'temperature', 'bound', 1.5, {'unit': 'degC'}))
    return sorted(out, key=lambda e: e[0])


@pytest.fixture(scope='package')
def store(tmp_path_factory):
    """Address of a running cbx-evtdb on a private bus, and the events it serves."""
    tmp = tmp_path_factory.mktemp('evtdb')
    events = make_events()
    write_events(str(tmp / 'db'), events)
    with evtdb_bus(tmp, str(tmp / 'db')) as address:
        yield address, events


def run_export(address, tmp_path, *args, tz='UTC', timeout=60, **kw):
    """Run ``cbx-export -c CFG export ARGS`` in a subprocess; returns CompletedProcess."""
    cfg = tmp_path / 'export.toml'
    cfg.write_text('timezone = "%s"\n[eventstore]\naddress = "%s"\ntimeout = 10\n'
                   % (tz, address))
    env = dict(os.environ)
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg), 'export']
                          + list(args), capture_output=True, timeout=timeout, cwd=tmp_path,
                          env=env, **kw)
