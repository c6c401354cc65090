"""A misbehaving EventDatabase for tests: ``stub_evtdb.py ADDRESS MODE``.

Modes: ``slow`` (get_events sleeps 30 s), ``malformed`` (events of the wrong arity
or with a bad timestamp among good ones), ``shape`` (get_events answers a string),
``numbers`` (values sent as numbers and booleans, as non-file stores do),
``hugeint`` (one value is a 5000-digit integer, past Python's int() limit),
``ignorant`` (ignores from_time/to_time: 20,000 events of 00:00:01-00:00:03 to every call).
"""

import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = 'fr.cstb.cstbox.EventDatabase'
GOOD = dbus.Struct(('2026-11-27 00:00:01.000000', 'temperature', 'ok', '21.5',
                    dbus.Dictionary({'unit': 'degC', 'value': '21.5'}, signature='sv')),
                   signature='sssva{sv}')
EMPTY = dbus.Dictionary({}, signature='sv')


class Stub(dbus.service.Object):
    def __init__(self, conn, mode):
        dbus.service.Object.__init__(self, conn, '/sensor')
        self.mode = mode
        self.same = None

    @dbus.service.method(NAME, in_signature='', out_signature='')
    def flush(self):
        pass

    @dbus.service.method(NAME, in_signature='nn', out_signature='as')
    def get_available_days(self, year, month):
        return ['2026-11-27']

    @dbus.service.method(NAME, in_signature='a{sv}', out_signature='v')
    def get_events(self, event_filter):
        if self.mode == 'slow':
            time.sleep(30)
            return dbus.Array([], signature='v')
        if self.mode == 'hugeint':
            return dbus.Array([
                GOOD,
                dbus.Struct(('2026-11-27 00:00:02.000000', 'energy', 'huge', '9' * 5000,
                             dbus.Dictionary({'unit': 'Wh'}, signature='sv')),
                            signature='sssva{sv}'),
                dbus.Struct(('2026-11-27 00:00:03.000000', 'temperature', 'ok2', '22', EMPTY),
                            signature='sssva{sv}'),
            ], signature='v')
        if self.mode == 'ignorant':
            if self.same is None:
                self.same = dbus.Array([
                    dbus.Struct(('2026-11-27 00:00:%02d.%06d' % (1 + k // 10000, k % 10000 * 100),
                                 'power', 'p%d' % (k % 10), str(k), EMPTY), signature='sssva{sv}')
                    for k in range(20000)], signature='v')
            return self.same
        if self.mode == 'shape':
            return 'not a list of events'
        if self.mode == 'numbers':
            return dbus.Array([
                dbus.Struct(('2026-11-27 00:00:01.000000', 'power', 'p', dbus.Double(12.0),
                             dbus.Dictionary({'unit': 'W', 'delta': dbus.Int64(5000000000)},
                                             signature='sv')),
                            signature='sssva{sv}'),
                dbus.Struct(('2026-11-27 00:00:02.000000', 'motion', 'm', dbus.Boolean(True),
                             EMPTY), signature='sssva{sv}'),
                dbus.Struct(('2026-11-27 00:00:03.000000', 'counter', 'c', dbus.Int32(7),
                             EMPTY), signature='sssva{sv}'),
            ], signature='v')
        return dbus.Array([
            GOOD,
            dbus.Struct(('2026-11-27 00:00:02.000000', 'temperature', 'short', '1'),
                        signature='sssv'),
            dbus.Struct(('27/11/2026 00h00', 'temperature', 'bad ts', '2', EMPTY),
                        signature='sssva{sv}'),
            dbus.Struct(('2026-11-27 00:00:03.000000', 'temperature', 'ok2', '22', EMPTY),
                        signature='sssva{sv}'),
        ], signature='v')


def main():
    address, mode = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(address)
    stub = Stub(conn, mode)  # noqa: F841
    name = dbus.service.BusName(NAME, conn, do_not_queue=True)  # noqa: F841
    GLib.MainLoop().run()


if __name__ == '__main__':
    main()
