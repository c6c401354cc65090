"""Client of CSTBox's ``EventDatabase`` D-Bus service: paged, bounded, exact reads.

One D-Bus reply cannot carry more than ~500k events, and the real service dies
when it tries.  :meth:`EventStoreClient.events` therefore reads a window
``[start, end)`` as consecutive sub-windows whose width adapts to the density
observed so each reply stays near ``target_events`` (10,000): it starts small,
grows at most 8x per call, shrinks after a dense reply, and caps the width so
that no call can plausibly return more than 100,000 events.  The next page is
fetched by a helper thread while the current one is decoded (at most two pages
in memory: memory stays flat whatever the window).

The service's bounds are inclusive and its times naive UTC strings: each
sub-window ``[a, b)`` is asked as ``from_time=a, to_time=b`` and events at ``b``
are dropped client side, so adjacent windows neither lose nor repeat an event.

Every D-Bus call has a timeout.  Every failure is an
:class:`~pycstbox.export.errors.EventStoreError` (temporary).  A malformed event
(wrong arity, unparseable timestamp) is skipped, counted in ``stats['skipped']``
and logged with its content.
"""

import logging
import os
import re
import threading
from datetime import date, datetime, timedelta

from pycstbox.evtdb.event import Event, as_utc, decode_value, format_bus_timestamp, \
    parse_bus_timestamp
from pycstbox.export.errors import EventStoreError

log = logging.getLogger(__name__)

CSTBOX_BUS_FILE = '/var/run/cstbox/cstbox-dbus'
BUS_NAME = INTERFACE = 'fr.cstb.cstbox.EventDatabase'
TOO_MANY = INTERFACE + '.TooManyEvents'
HARD_LIMIT = 100000          # no call may plausibly return more events than this
FIRST_WIDTH = timedelta(seconds=10)
MIN_WIDTH = timedelta(milliseconds=1)
BLIND_MAX_WIDTH = timedelta(minutes=15)   # widest call while no event was seen (~9M/day)
GROWTH = 8
_ADDRESS_RE = re.compile(r'''DBUS_SESSION_BUS_ADDRESS=(?:'([^']*)'|"([^"]*)"|([^;\s'"]+))''')
_MAX_LOGGED = 20


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


def _plain(value):
    """dbus-python types -> plain Python values (recursively)."""
    conv = _PLAIN.get(type(value))
    if conv is not None:
        return conv(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value) if type(value).__name__ == 'Boolean' else int(value)
    if isinstance(value, float):
        return float(value)
    return str(value) if isinstance(value, str) else value


_PLAIN = {str: str, float: float, int: int, bool: bool}


class EventStoreClient:
    """Reads events from the EventDatabase service of one channel.

    :param address: D-Bus address ('' = CSTBox's bus file, then the environment)
    :param channel: object path ``/<channel>``
    :param timeout: seconds allowed to every D-Bus call
    :param target_events: wished number of events per reply
    :param prefetch: fetch the next page while the current one is decoded
    :raises EventStoreError: no address, or the bus cannot be reached
    """

    def __init__(self, address='', channel='sensor', timeout=60.0, target_events=10000,
                 cstbox_file=CSTBOX_BUS_FILE, environ=None, prefetch=True):
        import dbus
        self._dbus = dbus
        _PLAIN.update({dbus.String: str, dbus.Double: float, dbus.Boolean: bool,
                       dbus.Int16: int, dbus.Int32: int, dbus.Int64: int, dbus.Byte: int,
                       dbus.UInt16: int, dbus.UInt32: int, dbus.UInt64: int})
        self.address = resolve_address(address, cstbox_file,
                                       os.environ if environ is None else environ)
        self.channel = channel
        self.path = '/' + channel
        self.timeout = float(timeout)
        self.target_events = max(1, min(int(target_events), HARD_LIMIT // GROWTH))
        self.prefetch = prefetch
        self.stats = {'events': 0, 'calls': 0, 'skipped': 0}
        self._lock = threading.Lock()
        try:
            self._conn = dbus.bus.BusConnection(self.address)
        except dbus.DBusException as exc:
            raise EventStoreError(
                'cannot connect to the event store bus %s: %s. Is CSTBox (or cbx-evtdb) '
                'running, and is this the right [eventstore] address?'
                % (self.address, exc.get_dbus_message() or exc)) from exc

    # -- plain calls -------------------------------------------------------------

    def _call(self, method, signature='', args=()):
        try:
            with self._lock:
                if self._conn is None:
                    raise EventStoreError('event store client already closed')
                self.stats['calls'] += 1
                return self._conn.call_blocking(BUS_NAME, self.path, INTERFACE, method,
                                                signature, args, timeout=self.timeout)
        except self._dbus.DBusException as exc:
            raise self._translate(method, exc) from exc

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
        elif name == TOO_MANY:
            why = 'reply too large for the service (%s)' % text
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
        reply = self._call('get_available_days', 'nn', (0, 0))
        if not isinstance(reply, list):
            raise EventStoreError('event store %s%s on bus %s answered get_available_days() '
                                  'with %r instead of a list of days'
                                  % (BUS_NAME, self.path, self.address, type(reply).__name__))
        return [str(d) for d in reply]

    def close(self):
        """Close the private bus connection (idempotent)."""
        with self._lock:
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
        self.stats = stats = {'events': 0, 'calls': 0, 'skipped': 0, 'largest': 0}
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
        if self.prefetch:
            pages = _Prefetch(pages)
        try:
            for lo, hi, reply in pages:
                for event in self._decode(reply, lo, hi, types, names):
                    stats['events'] += 1
                    yield event
        finally:
            if self.prefetch:
                pages.stop()
            if stats['skipped']:
                log.warning('%d malformed event(s) skipped reading %s - %s',
                            stats['skipped'], start, end)

    def _pages(self, start, end, service_filter):
        """Yield ``(lo, hi, reply)`` for consecutive sub-windows covering [start, end)."""
        width, peak = FIRST_WIDTH, 0.0   # peak: highest density seen (events/s)
        days = self._days_with_files()
        lo = _skip_empty_days(start, end, days)
        while lo < end:
            hi = min(lo + width, end)
            args = dict(service_filter, from_time=format_bus_timestamp(lo),
                        to_time=format_bus_timestamp(hi))
            try:
                reply = self._call('get_events', 'a{sv}', (args,))
            except EventStoreError as exc:
                if getattr(exc, 'dbus_name', '') == TOO_MANY and hi - lo > MIN_WIDTH:
                    width = max((hi - lo) / 4, MIN_WIDTH)
                    log.info('service refused %s - %s as too large: trying %s', lo, hi, width)
                    continue
                raise
            if not isinstance(reply, list) or getattr(reply, 'signature', '(')[0] not in '(v':
                raise EventStoreError(
                    'event store %s%s on bus %s answered get_events() with a reply of the '
                    'wrong shape (%s, signature %r): is it really a CSTBox EventDatabase?'
                    % (BUS_NAME, self.path, self.address, type(reply).__name__,
                       getattr(reply, 'signature', None)))
            count = len(reply)
            self.stats['largest'] = max(self.stats.get('largest', 0), count)
            yield lo, hi, reply
            del reply
            seconds = (hi - lo).total_seconds()
            peak = max(peak, count / seconds)
            if count:
                wanted = seconds * self.target_events / count
            else:
                wanted = seconds * GROWTH
            wanted = min(wanted, seconds * GROWTH)
            limit = HARD_LIMIT / peak if peak else BLIND_MAX_WIDTH.total_seconds()
            width = max(timedelta(seconds=min(wanted, limit)), MIN_WIDTH)
            lo = _skip_empty_days(hi, end, days)

    def _days_with_files(self):
        """Set of dates the store has (None if it cannot tell): days without are skipped."""
        try:
            return {date.fromisoformat(str(d)[:10]) for d in self.available_days()}
        except (EventStoreError, ValueError) as exc:
            log.info('reading without the list of available days (%s)', exc)
            return None

    def _decode(self, reply, lo, hi, types, names):
        """Yield the events of one reply inside [lo, hi) and the client-side filters.

        Oldest first (the reply is sorted when the service sent it out of order);
        each item of ``reply`` is released once decoded, so a page's memory
        shrinks while it is consumed.
        """
        if not _in_order(reply):
            reply.sort(key=_sort_key)
        plain, parse = _PLAIN, parse_bus_timestamp
        stats = self.stats
        for i, item in enumerate(reply):
            reply[i] = None
            try:
                ts_text, var_type, var_name, value, data = item
                ts = parse(ts_text)
                if not isinstance(data, dict):
                    raise TypeError('data is not a dictionary')
            except (ValueError, TypeError) as exc:
                stats['skipped'] += 1
                if stats['skipped'] <= _MAX_LOGGED:
                    log.warning('skipping malformed event %.300r: %s', _plain(item), exc)
                continue
            if ts < lo or ts >= hi:
                continue
            if (types is not None and var_type not in types) or \
                    (names is not None and var_name not in names):
                continue
            fields = {}
            for k, v in data.items():
                if k != 'value':
                    conv = plain.get(type(v))
                    fields[str(k)] = conv(v) if conv is not None else _plain(v)
            unit = fields.get('unit', '')
            yield Event(ts, str(var_type), str(var_name), decode_value(value),
                        unit if isinstance(unit, str) else str(unit), fields)


def _skip_empty_days(lo, end, days):
    """``lo``, or the start of the next day with events when ``lo``'s day has none."""
    if days is None or lo.date() in days:
        return lo
    later = [d for d in days if lo.date() < d <= end.date()]
    if not later:
        return end
    first = min(later)
    return max(lo, datetime(first.year, first.month, first.day, tzinfo=lo.tzinfo))


def _in_order(reply):
    """True when the reply's timestamps (fixed-format strings) never go backwards."""
    try:
        prev = ''
        for item in reply:
            ts = item[0]
            if ts < prev:
                return False
            prev = ts
    except (TypeError, IndexError, KeyError):
        return False
    return True


def _sort_key(item):
    try:
        return parse_bus_timestamp(item[0])
    except (TypeError, ValueError, IndexError, KeyError):
        return _EPOCH


_EPOCH = parse_bus_timestamp('1970-01-01 00:00:00')


class _Prefetch:
    """Runs a page generator in a helper thread, one page ahead of the consumer.

    The next call starts only when the consumer took the previous page: at most
    two pages are alive (the one being consumed, the one being fetched).
    """

    _END = object()

    def __init__(self, pages):
        self._pages = pages
        self._cond = threading.Condition()
        self._slot = None
        self._full = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name='evtdb-prefetch', daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for page in self._pages:
                if not self._put(page):
                    return
                page = None
            self._put(self._END)
        except BaseException as exc:   # handed over to the consumer thread
            self._put(exc)

    def _put(self, item):
        with self._cond:
            self._slot, self._full = item, True
            self._cond.notify_all()
            while self._full and not self._stopped:
                self._cond.wait(1.0)
            return not self._stopped

    def __iter__(self):
        while True:
            with self._cond:
                while not self._full:
                    if not self._thread.is_alive():
                        raise EventStoreError('event store reader thread ended unexpectedly')
                    self._cond.wait(1.0)
                item, self._slot, self._full = self._slot, None, False
                self._cond.notify_all()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
            item = None

    def stop(self):
        """Stop fetching (the thread ends after its current call, bounded by the timeout)."""
        with self._cond:
            self._stopped = True
            self._slot, self._full = None, False
            self._cond.notify_all()
        self._thread.join(timeout=0.2)
