"""Names and address of CSTBox's private D-Bus bus (no dbus import here)."""

import os
import re

from pycstbox.export.errors import EventStoreError

CSTBOX_BUS_FILE = '/var/run/cstbox/cstbox-dbus'
BUS_NAME = INTERFACE = 'fr.cstb.cstbox.EventDatabase'
TOO_MANY = INTERFACE + '.TooManyEvents'
SYSTEM_PATH, SYSTEM_INTERFACE = '/__system__', 'fr.cstb.cstbox.__system__'

_ADDRESS_RE = re.compile(r'''DBUS_SESSION_BUS_ADDRESS=(?:'([^']*)'|"([^"]*)"|([^;\s'"]+))''')


def resolve_address(address='', cstbox_file=CSTBOX_BUS_FILE, environ=os.environ):
    """The D-Bus address of the event store's bus.

    In order: ``address`` (the configuration); the ``DBUS_SESSION_BUS_ADDRESS`` of
    CSTBox's ``cstbox_file`` (shell syntax written by ``dbus-launch --sh-syntax``,
    ``unix:abstract=`` or ``unix:path=``); ``$DBUS_SESSION_BUS_ADDRESS`` of ``environ``.

    :raises EventStoreError: none of them gives an address (the message lists what was tried)
    """
    if address:
        return address
    tried = ['the configuration ([eventstore] address is empty)']
    try:
        with open(cstbox_file, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except FileNotFoundError:
        tried.append('%s (no such file: CSTBox bus not started?)' % cstbox_file)
    except OSError as exc:
        tried.append('%s (%s)' % (cstbox_file, exc.strerror or exc))
    else:
        m = _ADDRESS_RE.search(text)
        found = m and next(g for g in m.groups() if g is not None)
        if found:
            return found
        tried.append('%s (no DBUS_SESSION_BUS_ADDRESS in it)' % cstbox_file)
    env = environ.get('DBUS_SESSION_BUS_ADDRESS', '')
    if env:
        return env
    tried.append('$DBUS_SESSION_BUS_ADDRESS (not set)')
    raise EventStoreError('no D-Bus address for the event store: tried %s. Start CSTBox '
                          '(its cstbox-dbus service) or set [eventstore] address.'
                          % ', '.join(tried))
