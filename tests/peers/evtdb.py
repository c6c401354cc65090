"""Real event-store peers for tests: a private dbus-daemon and ``cbx-evtdb``.

Usage::

    from tests.peers.evtdb import evtdb_bus, write_events, generate_days
    generate_days(root, date(2026, 11, 27), days=2)
    with evtdb_bus(tmp_path, root) as address:
        client = EventStoreClient(address)

``private_bus(tmp_path)`` -> address of a new dbus-daemon (never the host's buses);
``evtdb_service(address, root)`` -> the running ``cbx-evtdb`` ``Popen`` (to kill it);
``evtdb_bus(tmp_path, root)`` -> both, yields the address.  Everything started is
stopped on exit, whatever happens.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime

_BUS_PIDS = {}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUS_NAME = 'fr.cstb.cstbox.EventDatabase'

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>%s</listen>
  <policy context="default">
    <allow send_destination="*"/><allow receive_sender="*"/>
    <allow own="*"/><allow user="*"/>
  </policy>
</busconfig>
"""


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    return env


def _stop(proc, grace=5.0):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


@contextlib.contextmanager
def private_bus(tmp_path=None, abstract=False, timeout=10.0):
    """Start a private dbus-daemon; yield its address.

    ``unix:path=...`` by default, ``unix:abstract=...`` (like CSTBox's own bus) when
    ``abstract`` is true.
    """
    # a short /tmp directory: unix socket paths are limited to 108 bytes
    sockdir = tempfile.mkdtemp(prefix='cbxbus-', dir='/tmp')
    sock = os.path.join(sockdir, 'bus')
    address = ('unix:abstract=' if abstract else 'unix:path=') + sock
    conf = os.path.join(sockdir, 'bus.conf')
    with open(conf, 'w') as f:
        f.write(_CONFIG % address)
    log = open(os.path.join(str(tmp_path) if tmp_path else sockdir, 'dbus-daemon.log'), 'ab')
    proc = subprocess.Popen(['dbus-daemon', '--config-file=' + conf, '--nofork'],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not _reachable(address, sock, abstract):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('dbus-daemon did not start (see %s)' % log.name)
            time.sleep(0.01)
        _BUS_PIDS[address] = proc.pid
        yield address
    finally:
        _BUS_PIDS.pop(address, None)
        _stop(proc)
        log.close()
        shutil.rmtree(sockdir, ignore_errors=True)


def bus_pid(address):
    """Process id of the dbus-daemon started by :func:`private_bus` for ``address``."""
    return _BUS_PIDS[address]


def _reachable(address, sock, abstract):
    if not abstract:
        return os.path.exists(sock)
    import dbus
    try:
        dbus.bus.BusConnection(address).close()
        return True
    except dbus.DBusException:
        return False


def wait_for_name(address, name=BUS_NAME, timeout=10.0, proc=None):
    """Wait until ``name`` is owned on the bus (raise RuntimeError after ``timeout``)."""
    import dbus
    conn = dbus.bus.BusConnection(address)
    try:
        deadline = time.monotonic() + timeout
        while not conn.name_has_owner(name):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError('service exited with status %s before owning %s'
                                   % (proc.returncode, name))
            if time.monotonic() > deadline:
                raise RuntimeError('%s not on the bus after %s s' % (name, timeout))
            time.sleep(0.02)
    finally:
        conn.close()


@contextlib.contextmanager
def evtdb_service(address, root, channels=('sensor',), max_events=None, log_path=None,
                  args=(), timeout=10.0):
    """Run ``python3 -m pycstbox.evtdb --address ADDR --root ROOT``; yield its Popen."""
    cmd = [sys.executable, '-m', 'pycstbox.evtdb', '--address', address, '--root', str(root)]
    for ch in channels:
        cmd += ['--channel', ch]
    if max_events is not None:
        cmd += ['--max-events', str(max_events)]
    cmd += list(args)
    log = open(log_path, 'wb') if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_name(address, BUS_NAME, timeout, proc)
        yield proc
    finally:
        _stop(proc)
        if log_path:
            log.close()


@contextlib.contextmanager
def evtdb_bus(tmp_path, root, channels=('sensor',), max_events=None):
    """A private bus with ``cbx-evtdb`` serving ``root``; yield the bus address."""
    with private_bus(tmp_path) as address:
        with evtdb_service(address, root, channels, max_events,
                           log_path=os.path.join(str(tmp_path), 'cbx-evtdb.log')):
            yield address


def generate_days(root, first_day, days=1, sensors=12, interval=60.0, channel='sensor'):
    """Realistic deterministic day files (``cbx-evtdb generate``); returns the event count."""
    from pycstbox.evtdb.generate import generate
    return generate(str(root), first_day, days, sensors, interval, channel)


def write_events(root, events, channel='sensor'):
    """Append ``(naive UTC datetime, var_type, var_name, value, data)`` to their day files."""
    from pycstbox.evtdb.fsys import DayWriter
    with DayWriter(str(root), channel) as writer:
        for ts, var_type, var_name, value, data in events:
            writer.write(ts, var_type, var_name, value, data)


def write_dense_day(root, day, count, channel='sensor'):
    """Quickly write ``count`` evenly spread events for ``day`` (returns the file path).

    Events are ``power``/``p<k % 100>`` with value ``k`` and ``{"unit": "W"}``; the
    k-th is at ``day + k * 86400 / count`` seconds (microsecond resolution).
    """
    from pycstbox.evtdb import fsys
    path = fsys.day_path(str(root), channel, day)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    prefix = day.strftime('%y%m%d-')
    step = 86400 * 1000000 // count
    with open(path, 'w', encoding='utf-8') as f:
        lines = []
        for k in range(count):
            us = k * step
            s, us = divmod(us, 1000000)
            h, s = divmod(s, 3600)
            m, s = divmod(s, 60)
            lines.append('%s%02d%02d%02d.%06d\tpower\tp%d\t%d\t{"unit": "W"}\n'
                         % (prefix, h, m, s, us, k % 100, k))
            if len(lines) >= 50000:
                f.write(''.join(lines))
                lines = []
        f.write(''.join(lines))
    return path


def day_start(day):
    """Naive UTC midnight of a date."""
    return datetime(day.year, day.month, day.day)


__all__ = ['private_bus', 'bus_pid', 'evtdb_service', 'evtdb_bus', 'wait_for_name', 'generate_days',
           'write_events', 'write_dense_day', 'day_start']
