"""A fake NetworkManager on a private bus: only its ``Metered`` property (tests of budget_when).

Usage::

    from tests.peers.evtdb import private_bus
    from tests.peers.networkmanager import fake_networkmanager
    with private_bus(tmp_path) as address, fake_networkmanager(address, tmp_path) as nm:
        nm.set(3)                       # guess-yes: read again at the next Get
        ...                             # [network] bus = address

The service (a ``python3`` child using python3-dbus and python3-gi) owns
``org.freedesktop.NetworkManager`` and serves ``org.freedesktop.DBus.Properties.Get`` on
``/org/freedesktop/NetworkManager`` for the interface ``org.freedesktop.NetworkManager``:
``Metered`` is a ``u`` (uint32) read from a file at every call (``nm.set(value)``); ``nm.set
('junk')`` makes it answer a string, as a broken service would.  Other properties: the D-Bus
error ``org.freedesktop.DBus.Error.UnknownProperty``.
"""

import contextlib
import os
import subprocess
import sys

from tests.peers.evtdb import REPO, _env, _stop, wait_for_name

NAME = 'org.freedesktop.NetworkManager'
SERVICE = r'''
import sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

VALUE_FILE = sys.argv[2]


class NM(dbus.service.Object):
    @dbus.service.method('org.freedesktop.DBus.Properties', in_signature='ss',
                         out_signature='v')
    def Get(self, interface, prop):
        if interface != 'org.freedesktop.NetworkManager' or prop != 'Metered':
            raise dbus.exceptions.DBusException(
                'no property %s.%s' % (interface, prop),
                name='org.freedesktop.DBus.Error.UnknownProperty')
        with open(VALUE_FILE) as f:
            text = f.read().strip()
        return dbus.UInt32(int(text)) if text.isdigit() else dbus.String(text)


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
name = dbus.service.BusName('org.freedesktop.NetworkManager', bus)
NM(bus, '/org/freedesktop/NetworkManager')
GLib.MainLoop().run()
'''


class FakeNM:
    def __init__(self, value_file):
        self.value_file = value_file

    def set(self, value):
        with open(self.value_file, 'w') as f:
            f.write(str(value))


@contextlib.contextmanager
def fake_networkmanager(address, tmp_path, value=0):
    """Run the fake service on ``address``; yields a :class:`FakeNM` (``set(value)``)."""
    nm = FakeNM(os.path.join(str(tmp_path), 'nm-metered'))
    nm.set(value)
    log = open(os.path.join(str(tmp_path), 'fake-nm.log'), 'ab')
    proc = subprocess.Popen([sys.executable, '-c', SERVICE, address, nm.value_file],
                            env=_env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for_name(address, NAME, proc=proc)
        yield nm
    finally:
        _stop(proc)
        log.close()
