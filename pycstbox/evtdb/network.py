"""Is the network connection metered?  NetworkManager's ``Metered`` property over D-Bus.

``metered(bus='', timeout=2.0) -> Metered(value, text)``: the ``Metered`` property of
``org.freedesktop.NetworkManager`` (object ``/org/freedesktop/NetworkManager``, interface
``org.freedesktop.NetworkManager``), read over the system bus (``bus = ""``) or the D-Bus
address ``bus`` (``[network] bus`` of the configuration; tests point it at a private bus
with a fake NetworkManager).  One private connection per look-up, closed after it: the
answer is looked up again at each run or slot.

Values (NetworkManager's ``NMMetered``): 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no.
Without NetworkManager (no system bus, service not running, no answer within ``timeout``,
a value out of range) the answer is 0 "unknown", with the reason in ``text``.
:attr:`Metered.metered` is True for 1 and 3 *and for 0*: a box that cannot tell keeps to
its budgets (a data plan is better safe than billed); False only for 2 and 4.

Only this module of the export side talks to NetworkManager; it lives under
``pycstbox/evtdb`` because only that package may import ``dbus``.
"""

from typing import NamedTuple

NM_NAME = NM_INTERFACE = 'org.freedesktop.NetworkManager'
NM_PATH = '/org/freedesktop/NetworkManager'
PROPERTIES = 'org.freedesktop.DBus.Properties'
NAMES = {0: 'unknown', 1: 'yes', 2: 'no', 3: 'guess-yes', 4: 'guess-no'}


class Metered(NamedTuple):
    value: int            # 0..4 (NMMetered)
    text: str             # 'yes', 'guess-no', 'unknown (NetworkManager is not running)'...

    @property
    def metered(self):
        """True unless NetworkManager says the connection is not metered (2, 4)."""
        return self.value not in (2, 4)


def unknown(why):
    return Metered(0, 'unknown (%s)' % why)


def metered(bus='', timeout=2.0):
    """NetworkManager's answer (see the module docstring); never raises."""
    try:
        import dbus
    except ImportError:
        return unknown('python3-dbus is not installed')
    where = bus or 'the system bus'
    try:
        conn = dbus.bus.BusConnection(bus or dbus.bus.BUS_SYSTEM)
    except dbus.DBusException as exc:
        return unknown('cannot connect to %s: %s' % (where, exc.get_dbus_message() or exc))
    try:
        obj = conn.get_object(NM_NAME, NM_PATH, introspect=False)
        value = obj.Get(NM_INTERFACE, 'Metered', dbus_interface=PROPERTIES, timeout=timeout)
    except dbus.DBusException as exc:
        name = (exc.get_dbus_name() or '').rsplit('.', 1)[-1]
        if name in ('ServiceUnknown', 'NameHasNoOwner'):
            return unknown('NetworkManager is not running on %s' % where)
        return unknown('NetworkManager did not answer on %s: %s'
                       % (where, exc.get_dbus_message() or name or exc))
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass
    try:
        value = int(value)
    except (TypeError, ValueError):
        return unknown('NetworkManager answered %r' % (value,))
    if value not in NAMES:
        return unknown('NetworkManager answered %d' % value)
    return Metered(value, NAMES[value])
