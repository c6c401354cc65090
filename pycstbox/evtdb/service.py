"""``cbx-evtdb``: an EventDatabase D-Bus service serving CSTBox day files.

Same bus name, object paths, interface, method names, signatures and reply
shapes as CSTBox's ``evtdbd`` (``docs/cstbox.md``): events are
``(timestamp, var_type, var_name, value, data)`` with the value as the stored
string and ``data`` holding the stored dict plus ``'value'``.

Differences, on purpose: a request whose reply would hold more than
``max_events`` events is refused with the D-Bus error
``fr.cstb.cstbox.EventDatabase.TooManyEvents`` (the original died and its caller
got ``NoReply``); a ``null`` in stored data is dropped instead of failing the
call; day files are indexed (sorted keys and offsets, see
:class:`pycstbox.evtdb.fsys.DayIndex`) so that paged reads of a large day cost
O(page), not O(day).  The service never writes the day files.
"""

import collections
import json
import logging
import os
import signal
from datetime import datetime, timezone

import dbus
import dbus.service

from pycstbox.evtdb import fsys
from pycstbox.evtdb.bus import BUS_NAME, INTERFACE, SYSTEM_INTERFACE, SYSTEM_PATH, TOO_MANY

log = logging.getLogger(__name__)

EVENTS_SIGNATURE = 'a(sssva{sv})'
DEFAULT_MAX_EVENTS = 200000
_INT32 = (-2 ** 31, 2 ** 31 - 1)
_SIMPLE = (str, float, bool)


class TooManyEvents(dbus.DBusException):
    """The reply would exceed the configured cap: ask for a shorter time range."""

    _dbus_error_name = TOO_MANY


class InvalidArgs(dbus.DBusException):
    _dbus_error_name = 'org.freedesktop.DBus.Error.InvalidArgs'


def _variant(value):
    """A D-Bus friendly copy of a stored JSON value (None is the caller's business)."""
    if isinstance(value, _SIMPLE):
        return value
    if isinstance(value, int):
        return value if _INT32[0] <= value <= _INT32[1] else dbus.Int64(value)
    if isinstance(value, dict):
        return dbus.Dictionary({str(k): _variant(v) for k, v in value.items()
                                if v is not None}, signature='sv')
    if isinstance(value, list):
        return dbus.Array([_variant(v) for v in value if v is not None], signature='v')
    return str(value)


def _parse_time(text, name):
    """Lenient parse of a filter bound -> naive UTC datetime."""
    try:
        ts = datetime.fromisoformat(str(text).strip().replace('/', '-'))
    except ValueError as exc:
        raise InvalidArgs('%s: cannot parse %r as a time (expected e.g. '
                          '"2026-11-27 00:00:00")' % (name, text)) from exc
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts


def _parse_day(text):
    try:
        return datetime.strptime(str(text)[:10].replace('/', '-'), '%Y-%m-%d').date()
    except ValueError as exc:
        raise InvalidArgs('day: cannot parse %r (expected YYYY-MM-DD)' % text) from exc


class DayCache:
    """Keeps the :class:`fsys.DayIndex` of the most recently read days of a channel."""

    def __init__(self, root, channel, size=4):
        self.root, self.channel, self.size = root, channel, size
        self._indexes = collections.OrderedDict()

    def get(self, day):
        """Index of ``day``, rebuilt when the file changed; None when there is no file."""
        path = fsys.day_path(self.root, self.channel, day)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._drop(day)
            return None
        index = self._indexes.get(day)
        if index is None or index.signature != (st.st_size, st.st_mtime_ns):
            self._drop(day)
            index = fsys.DayIndex(path, day)
            self._indexes[day] = index
            while len(self._indexes) > self.size:
                self._indexes.popitem(last=False)[1].close()
        self._indexes.move_to_end(day)
        return index

    def _drop(self, day):
        index = self._indexes.pop(day, None)
        if index is not None:
            index.close()


class EventDatabaseObject(dbus.service.Object):
    """``/<channel>``: the EventDatabase interface over ``<root>/<channel>/*.evt-log``."""

    def __init__(self, conn, root, channel, max_events=DEFAULT_MAX_EVENTS):
        dbus.service.Object.__init__(self, conn, '/' + channel)
        self.root, self.channel, self.max_events = root, channel, max_events
        self._days = DayCache(root, channel)
        self._json = {}

    @dbus.service.method(INTERFACE, in_signature='', out_signature='')
    def flush(self):
        """Nothing is buffered here: day files are read as they are on disk."""
        log.debug('flush requested on /%s', self.channel)

    @dbus.service.method(INTERFACE, in_signature='nn', out_signature='as')
    def get_available_days(self, year, month):
        """Sorted 'YYYY-MM-DD' days with a file; year=0: all; year>0 and month=0: []."""
        days = fsys.available_days(self.root, self.channel)
        if year:
            days = [d for d in days if d.year == year and d.month == month]
        return [d.isoformat() for d in days]

    @dbus.service.method(INTERFACE, in_signature='sss', out_signature=EVENTS_SIGNATURE)
    def get_events_for_day(self, day, var_type, var_name):
        """Events of one UTC day ('YYYY-MM-DD' or 'YYYY/MM/DD'); '' disables a filter."""
        day = _parse_day(day)
        index = self._days.get(day)
        if index is None:
            return []
        return self._collect([(index, 0, len(index))], str(var_type), str(var_name))

    @dbus.service.method(INTERFACE, in_signature='a{sv}', out_signature=EVENTS_SIGNATURE)
    def get_events(self, event_filter):
        """Events with from_time <= timestamp <= to_time (naive UTC strings, optional)."""
        days = fsys.available_days(self.root, self.channel)
        if not days:
            return []
        lo = hi = None
        if 'from_time' in event_filter:
            lo = _parse_time(event_filter['from_time'], 'from_time')
        if 'to_time' in event_filter:
            hi = _parse_time(event_filter['to_time'], 'to_time')
        first = lo.date() if lo else days[0]
        last = hi.date() if hi else days[-1]
        ranges = []
        for day in days:
            if first <= day <= last:
                index = self._days.get(day)
                if index is None:
                    continue
                i, j = index.span(fsys.key_of_datetime(lo) if lo and day == first else None,
                                  fsys.key_of_datetime(hi) if hi and day == last else None)
                if j > i:
                    ranges.append((index, i, j))
        return self._collect(ranges, str(event_filter.get('var_type', '')),
                             str(event_filter.get('var_name', '')))

    def _collect(self, ranges, var_type, var_name):
        total = sum(j - i for _, i, j in ranges)
        if total > self.max_events and not (var_type or var_name):
            self._refuse(total)
        out, skipped, cache, cap = [], 0, self._json, self.max_events
        for index, i, j in ranges:
            for fields in index.lines(i, j):
                if (var_type and fields[1] != var_type) or (var_name and fields[2] != var_name):
                    continue
                text = fields[4]
                data = cache.get(text)
                try:
                    if data is None:
                        data = self._decode(text)
                        if len(cache) > 4096:
                            cache.clear()
                        cache[text] = data
                    key = fsys.timestamp_key(fields[0])
                except ValueError:
                    skipped += 1
                    continue
                data = dict(data)
                data['value'] = fields[3]
                out.append((fsys.bus_timestamp(key), fields[1], fields[2], fields[3], data))
                if len(out) > cap:
                    self._refuse('more than %d' % cap)
        if skipped:
            log.warning('/%s: %d unreadable event(s) skipped', self.channel, skipped)
        log.debug('/%s: replying %d events', self.channel, len(out))
        return out

    @staticmethod
    def _decode(text):
        data = json.loads(text) if text else {}
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ValueError('data is not an object')
        return {k: _variant(v) for k, v in data.items() if v is not None and k != 'value'}

    def _refuse(self, count):
        log.warning('/%s: refusing a request of %s events (cap %d)', self.channel, count,
                    self.max_events)
        raise TooManyEvents('%s events match, more than the cap of %d of this service: '
                            'ask for a shorter time range' % (count, self.max_events))


class SystemObject(dbus.service.Object):
    """``/__system__``: ``terminate()`` stops the service, as for every CSTBox service."""

    def __init__(self, conn, loop):
        dbus.service.Object.__init__(self, conn, SYSTEM_PATH)
        self._loop = loop

    @dbus.service.method(SYSTEM_INTERFACE, in_signature='', out_signature='')
    def terminate(self):
        log.info('terminate requested over D-Bus')
        self._loop.quit()


def serve(address, root, channels=('sensor',), max_events=DEFAULT_MAX_EVENTS):
    """Run the service on the bus at ``address`` until SIGTERM/SIGINT or terminate().

    :returns: 0 after a clean stop
    :raises dbus.DBusException: the bus cannot be reached or the name is taken
    """
    from gi.repository import GLib
    from dbus.mainloop.glib import DBusGMainLoop

    DBusGMainLoop(set_as_default=True)
    loop = GLib.MainLoop()
    conn = dbus.bus.BusConnection(address)
    objects = [EventDatabaseObject(conn, root, ch, max_events) for ch in channels]
    objects.append(SystemObject(conn, loop))
    name = dbus.service.BusName(BUS_NAME, conn, do_not_queue=True)
    conn.call_on_disconnection(lambda _conn: loop.quit())
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, lambda *a: loop.quit() or False)
    log.info('serving %s for channel(s) %s from %s (cap %d events per reply)',
             BUS_NAME, ', '.join(channels), root, max_events)
    try:
        loop.run()
    finally:
        log.info('stopped')
        del name
        conn.close()
    return 0


__all__ = ['BUS_NAME', 'INTERFACE', 'DEFAULT_MAX_EVENTS', 'serve', 'TooManyEvents',
           'EventDatabaseObject', 'SystemObject', 'DayCache']
