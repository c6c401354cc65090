"""Client of CSTBox's ``EventDatabase`` D-Bus service: paged, bounded, exact reads.

One D-Bus reply cannot carry more than ~500k events, and the real service dies
when it tries.  :meth:`EventStoreClient.events` therefore reads a window
``[start, end)`` as consecutive sub-windows whose width adapts to the density
observed so each reply stays near ``target_events`` (5,000): it starts small,
grows at most 8x per call, shrinks after a dense reply, caps the width so that
no call can plausibly return more than 100,000 events, and skips days the store
has no file for.  Calls are pipelined: the request for the next sub-window is
sent as soon as a reply arrives, so the service prepares it while this side
decodes (one decoded page plus one raw reply in memory: flat whatever the window).

The service's bounds are inclusive and its times naive UTC strings: each
sub-window ``[a, b)`` is asked as ``from_time=a, to_time=b`` and events at ``b``
are dropped here, so adjacent windows neither lose nor repeat an event.

A store that ignores the requested range cannot make a read endless: events
outside it are dropped and counted in ``stats['outside']``, the width adapts to
the events inside only, and :data:`STALE_REPLIES` consecutive replies holding
events but none inside their range are an :class:`EventStoreError`.

Every D-Bus call has a timeout.  Every failure is an
:class:`~pycstbox.export.errors.EventStoreError` (temporary).  A malformed event
is skipped, counted in ``stats['skipped']`` and logged with its content.
"""

import logging
import os
from datetime import date, datetime, timedelta

from pycstbox.evtdb import reply as replies
from pycstbox.evtdb.bus import BUS_NAME, CSTBOX_BUS_FILE, INTERFACE, TOO_MANY, \
    resolve_address
from pycstbox.evtdb.event import as_utc, format_bus_timestamp
from pycstbox.export.errors import EventStoreError

log = logging.getLogger(__name__)

HARD_LIMIT = 100000          # no call may plausibly return more events than this
FIRST_WIDTH = timedelta(seconds=10)
MIN_WIDTH = timedelta(milliseconds=1)
BLIND_MAX_WIDTH = timedelta(minutes=15)   # widest call while no event was seen (~9M/day)
GROWTH = 8
STALE_REPLIES = 3            # consecutive replies with only out-of-range events: an error

__all__ = ['EventStoreClient', 'resolve_address', 'CSTBOX_BUS_FILE']


class EventStoreClient:
    """Reads events from the EventDatabase service of one channel.

    :param address: D-Bus address ('' = CSTBox's bus file, then the environment)
    :param channel: object path ``/<channel>``
    :param timeout: seconds allowed to every D-Bus call
    :param target_events: wished number of events per reply
    :param pipeline: ask for the next page while the current one is decoded
    :raises EventStoreError: no address, or the bus cannot be reached
    """

    def __init__(self, address='', channel='sensor', timeout=60.0, target_events=5000,
                 cstbox_file=CSTBOX_BUS_FILE, environ=None, pipeline=True):
        import dbus
        import dbus.lowlevel
        self._dbus = dbus
        replies.register(dbus)
        self.address = resolve_address(address, cstbox_file,
                                       os.environ if environ is None else environ)
        self.channel = channel
        self.path = '/' + channel
        self.timeout = float(timeout)
        self.target_events = max(1, min(int(target_events), HARD_LIMIT // GROWTH))
        self.pipeline = pipeline
        self.stats = {'events': 0, 'calls': 0, 'skipped': 0, 'largest': 0, 'outside': 0}
        try:
            self._conn = dbus.bus.BusConnection(self.address)
        except dbus.DBusException as exc:
            raise EventStoreError(
                'cannot connect to the event store bus %s: %s. Is CSTBox (or cbx-evtdb) '
                'running, and is this the right [eventstore] address?'
                % (self.address, exc.get_dbus_message() or exc)) from exc

    # -- calls -------------------------------------------------------------------

    def _send(self, method, signature='', args=()):
        """Send a request; returns a handle for :meth:`_wait`."""
        dbus = self._dbus
        if self._conn is None:
            raise EventStoreError('event store client already closed')
        msg = dbus.lowlevel.MethodCallMessage(BUS_NAME, self.path, INTERFACE, method)
        if signature:
            msg.append(signature=signature, *args)
        box = []
        try:
            pending = self._conn.send_message_with_reply(msg, box.append, self.timeout,
                                                         require_main_loop=False)
        except dbus.DBusException as exc:
            raise self._translate(method, exc) from exc
        self.stats['calls'] += 1
        return method, pending, box

    def _wait(self, handle):
        """Block (at most the timeout) until the reply of ``handle``; return the raw message."""
        method, pending, box = handle
        pending.block()
        if not box:
            raise self._translate(method, self._dbus.DBusException(
                'no reply', name='org.freedesktop.DBus.Error.NoReply'))
        msg = box[0]
        if isinstance(msg, self._dbus.lowlevel.ErrorMessage):
            args = msg.get_args_list()
            exc = self._dbus.DBusException(str(args[0]) if args else '',
                                           name=msg.get_error_name())
            raise self._translate(method, exc) from exc
        return msg

    def _call(self, method, signature='', args=()):
        """One blocking call; returns the first value of the reply (None if empty)."""
        values = self._wait(self._send(method, signature, args)).get_args_list()
        return values[0] if values else None

    def _translate(self, method, exc):
        name = exc.get_dbus_name() or ''
        text = exc.get_dbus_message() or str(exc)
        what = 'event store %s%s on bus %s, %s()' % (BUS_NAME, self.path, self.address, method)
        short = name.rsplit('.', 1)[-1]
        if short in ('ServiceUnknown', 'NameHasNoOwner'):
            why = 'the service is not running: start CSTBox\'s evtdb (or cbx-evtdb)'
        elif short in ('NoReply', 'Timeout', 'TimedOut'):
            why = ('no reply within %g s (service busy, stopped or crashed while replying; '
                   '%s)' % (self.timeout, text))
        elif short == 'Disconnected' or 'disconnect' in text.lower():
            why = 'the connection to the bus was lost (%s)' % text
        elif short in ('UnknownObject', 'UnknownMethod', 'UnknownInterface'):
            why = 'channel %r is not served there (%s)' % (self.channel, text)
        else:
            why = '%s: %s' % (name or 'D-Bus error', text)
        err = EventStoreError('%s: %s. The window stays pending.' % (what, why))
        err.dbus_name = name
        return err

    def flush(self):
        """Ask the store to write its buffered events (call it before reading)."""
        self._call('flush')

    def available_days(self):
        """Sorted ``'YYYY-MM-DD'`` days for which the store has events."""
        days = self._call('get_available_days', 'nn', (0, 0))
        if not isinstance(days, list):
            raise EventStoreError('event store %s%s on bus %s answered get_available_days() '
                                  'with %r instead of a list of days'
                                  % (BUS_NAME, self.path, self.address, type(days).__name__))
        return [str(d) for d in days]

    def close(self):
        """Close the private bus connection (idempotent)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- paged reads -------------------------------------------------------------

    def events(self, start, end, var_types=(), var_names=()):
        """Yield the events of ``[start, end)``, oldest first, one by one.

        A filter with one element is passed to the service; with several, the
        service is not filtered on that dimension and events are filtered here.

        :param start, end: datetimes (naive ones are UTC)
        :raises EventStoreError: the store failed (events already yielded stand)
        """
        start, end = as_utc(start), as_utc(end)
        self.stats = stats = {'events': 0, 'calls': 0, 'skipped': 0, 'largest': 0,
                              'outside': 0}
        if end <= start:
            return
        var_types, var_names = tuple(var_types), tuple(var_names)
        service_filter = {}
        if len(var_types) == 1:
            service_filter['var_type'] = var_types[0]
        if len(var_names) == 1:
            service_filter['var_name'] = var_names[0]
        types = frozenset(var_types) if len(var_types) > 1 else None
        names = frozenset(var_names) if len(var_names) > 1 else None
        pages = self._pages(start, end, service_filter)
        try:
            for lo, hi, page in pages:
                for event in replies.decode(page, lo, hi, stats, types, names):
                    stats['events'] += 1
                    yield event
        finally:
            pages.close()
            if stats['skipped']:
                log.warning('%d malformed event(s) skipped reading %s - %s',
                            stats['skipped'], start, end)
            if stats['outside']:
                log.warning('%d event(s) outside the requested time ranges dropped reading '
                            '%s - %s (the event store ignores from_time/to_time?)',
                            stats['outside'], start, end)

    def _request(self, lo, width, end, service_filter):
        hi = min(lo + width, end)
        args = dict(service_filter, from_time=format_bus_timestamp(lo),
                    to_time=format_bus_timestamp(hi))
        return lo, hi, self._send('get_events', 'a{sv}', (args,))

    def _pages(self, start, end, service_filter):
        """Yield ``(lo, hi, reply)`` for consecutive sub-windows covering [start, end)."""
        width, peak = FIRST_WIDTH, 0.0   # peak: highest density seen (events/s)
        stale = 0                         # consecutive replies with nothing in range
        days = self._days_with_files()
        lo = _skip_empty_days(start, end, days)
        current = self._request(lo, width, end, service_filter) if lo < end else None
        try:
            while current is not None:
                lo, hi, handle = current
                current = None
                try:
                    raw = self._wait(handle)
                except EventStoreError as exc:
                    if getattr(exc, 'dbus_name', '') == TOO_MANY and hi - lo > MIN_WIDTH:
                        width = max((hi - lo) / 4, MIN_WIDTH)
                        log.info('service refused %s - %s as too large: trying %s',
                                 lo, hi, width)
                        current = self._request(lo, width, end, service_filter)
                        continue
                    raise
                after = _skip_empty_days(hi, end, days)
                if self.pipeline and after < end:   # the service works while we decode
                    current = self._request(after, width, end, service_filter)
                page = self._unpack(raw)
                raw = None
                self.stats['largest'] = max(self.stats['largest'], len(page))
                count, outside = replies.count_in_range(page, lo, hi)
                stale = stale + 1 if outside and not count else 0
                if stale >= STALE_REPLIES:
                    raise EventStoreError(
                        'event store %s%s on bus %s ignores the requested time range: '
                        '%d consecutive get_events() replies held only events outside '
                        'from_time/to_time (last: %d events for %s - %s). The window stays '
                        'pending: check the event store service.'
                        % (BUS_NAME, self.path, self.address, stale, outside, lo, hi))
                seconds = (hi - lo).total_seconds()
                peak = max(peak, count / seconds)
                wanted = seconds * self.target_events / count if count else seconds * GROWTH
                limit = HARD_LIMIT / peak if peak else BLIND_MAX_WIDTH.total_seconds()
                width = max(timedelta(seconds=min(wanted, seconds * GROWTH, limit)), MIN_WIDTH)
                yield lo, hi, page
                page = None
                if not self.pipeline and after < end:
                    current = self._request(after, width, end, service_filter)
        finally:
            if current is not None:
                current[2][1].cancel()

    def _unpack(self, raw):
        values = raw.get_args_list()
        page = values[0] if len(values) == 1 else None
        if not isinstance(page, list) or getattr(page, 'signature', '(')[0] not in '(v':
            raise EventStoreError(
                'event store %s%s on bus %s answered get_events() with a reply of the '
                'wrong shape (signature %r): is it really a CSTBox EventDatabase?'
                % (BUS_NAME, self.path, self.address, raw.get_signature()))
        return page

    def _days_with_files(self):
        """Set of dates the store has (None if it cannot tell): days without are skipped."""
        try:
            return {date.fromisoformat(str(d)[:10]) for d in self.available_days()}
        except (EventStoreError, ValueError) as exc:
            log.info('reading without the list of available days (%s)', exc)
            return None


def _skip_empty_days(lo, end, days):
    """``lo``, or the start of the next day with events when ``lo``'s day has none."""
    if days is None or lo.date() in days:
        return lo
    later = [d for d in days if lo.date() < d <= end.date()]
    if not later:
        return end
    first = min(later)
    return max(lo, datetime(first.year, first.month, first.day, tzinfo=lo.tzinfo))


def preload():
    """Import dbus now (cbx-exportd's main thread, before its lanes start: a first import
    inside a lane can deadlock with another lane's); False when python3-dbus is missing."""
    try:
        import dbus             # noqa: F401
        import dbus.lowlevel    # noqa: F401
    except ImportError:
        return False
    return True
