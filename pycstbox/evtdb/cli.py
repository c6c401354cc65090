"""``cbx-evtdb``: run the EventDatabase service over day files, or generate sample data.

::

    cbx-evtdb [--address ADDR] --root DIR [--channel NAME]... [--max-events N]
    cbx-evtdb generate --root DIR --from DAY --days N [--sensors N] [--interval SECONDS]
"""

import argparse
import logging
import os
import sys
from datetime import date

LOG_FORMAT = '%(asctime)s [%(levelname).1s] %(name)s > %(message)s'
LOG_DATEFMT = '%d/%m %H:%M:%S'


def _common(parser):
    parser.add_argument('-L', '--loglevel', default='INFO',
                        choices=['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'])
    parser.add_argument('--debug', action='store_true', help='same as -L DEBUG')


def _setup_logging(args):
    level = 'DEBUG' if args.debug else args.loglevel.replace('WARN', 'WARNING')
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt=LOG_DATEFMT)


def _serve(argv):
    parser = argparse.ArgumentParser(
        prog='cbx-evtdb', description='CSTBox EventDatabase D-Bus service over day files '
        '(<root>/<channel>/YYMMDD.evt-log). "cbx-evtdb generate --help" for sample data.')
    parser.add_argument('--address', default='',
                        help='D-Bus address (default: $DBUS_SESSION_BUS_ADDRESS, then '
                        '/var/run/cstbox/cstbox-dbus)')
    parser.add_argument('--root', required=True, help='directory holding <channel>/ folders')
    parser.add_argument('--channel', action='append', default=None,
                        help='channel to serve, repeatable (default: sensor)')
    parser.add_argument('--max-events', type=int, default=200000,
                        help='refuse requests matching more events (default: 200000)')
    _common(parser)
    args = parser.parse_args(argv)
    _setup_logging(args)
    if not os.path.isdir(args.root):
        parser.exit(2, 'cbx-evtdb: --root %s: no such directory\n' % args.root)
    missing = missing_bindings()
    if missing:
        parser.exit(2, 'cbx-evtdb: the EventDatabase service needs %s (%s): '
                    'apt-get install %s\n' % missing)
    from pycstbox.evtdb import bus, service
    from pycstbox.export.errors import EventStoreError
    address = args.address or os.environ.get('DBUS_SESSION_BUS_ADDRESS', '')
    try:
        address = bus.resolve_address(address)
    except EventStoreError as exc:
        parser.exit(2, 'cbx-evtdb: %s\n' % exc)
    import dbus
    try:
        return service.serve(address, args.root, tuple(args.channel or ['sensor']),
                             args.max_events)
    except dbus.DBusException as exc:
        logging.getLogger('cbx-evtdb').error(
            'cannot serve on bus %s: %s (is another EventDatabase running? is the bus up?)',
            address, exc.get_dbus_message() or exc)
        return 1


#: what the service imports, and the Debian package of each (python3-gi is only Recommended)
BINDINGS = (('dbus', 'python3-dbus'), ('dbus.mainloop.glib', 'python3-dbus'),
            ('gi', 'python3-gi'), ('gi.repository.GLib', 'python3-gi'))


def missing_bindings():
    """(package, import error, package) of the first binding that does not import, or None."""
    import importlib
    for module, package in BINDINGS:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return package, exc, package
    return None


def _generate(argv):
    parser = argparse.ArgumentParser(prog='cbx-evtdb generate',
                                     description='write realistic sample day files')
    parser.add_argument('--root', required=True)
    parser.add_argument('--from', dest='first', required=True, type=date.fromisoformat,
                        help='first day, YYYY-MM-DD')
    parser.add_argument('--days', type=int, required=True)
    parser.add_argument('--sensors', type=int, default=12)
    parser.add_argument('--interval', type=float, default=60.0, help='seconds')
    parser.add_argument('--channel', default='sensor')
    _common(parser)
    args = parser.parse_args(argv)
    _setup_logging(args)
    from pycstbox.evtdb.generate import generate
    try:
        count = generate(args.root, args.first, args.days, args.sensors, args.interval,
                         args.channel)
    except (ValueError, OSError) as exc:
        parser.exit(2, 'cbx-evtdb generate: %s\n' % exc)
    print('%d events written for %d day(s) under %s'
          % (count, args.days, os.path.join(args.root, args.channel)))
    return 0


def main(argv=None):
    """Entry point of ``cbx-evtdb``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == 'generate':
        return _generate(argv[1:])
    return _serve(argv)


if __name__ == '__main__':
    sys.exit(main())
