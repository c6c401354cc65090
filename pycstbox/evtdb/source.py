"""Where the events are read from: D-Bus, or the day files after a flush over D-Bus.

``open_source(address, channel, timeout, read='auto', root=DEFAULT_ROOT)`` returns an
object with the :class:`~pycstbox.evtdb.client.EventStoreClient` interface
(``flush``, ``available_days``, ``events``, ``stats``, ``close``):

- ``read = "dbus"``: the D-Bus client;
- ``read = "files"``: a :class:`FileSource`: ``flush()`` goes over D-Bus (the store
  writes what it buffers), then each UTC day of a window is read from
  ``<root>/<channel>/YYMMDD.evt-log`` (:mod:`pycstbox.evtdb.dayread`);
- ``read = "auto"``: files when ``<root>/<channel>`` is a readable directory, else D-Bus.

The day files give the same events, in the same order, as the D-Bus path, for a
fraction of the CPU: odd lines are read as the store's reader reads them
(:mod:`pycstbox.evtdb.dayread`).  Only a day that cannot be read safely (no file for
it, a file the store does not list among its days, lines out of time order, unreadable,
NUL bytes, a year the two-digit names cannot tell, the unfinished last line of a day
still open inside the window) is read over D-Bus instead, so a store whose files are
elsewhere loses nothing; the log says why, once per day file and reason.

A day is *closed* (its last line is read even without its newline, as the reader
does) when the store lists a later day or its end is more than :data:`CLOSED_AFTER`
past.
"""

import logging
import os
from datetime import date, datetime, timedelta, timezone

from pycstbox.evtdb.dayread import day_range, read_day
from pycstbox.evtdb.dayscan import DayScan, Unusable
from pycstbox.evtdb.event import as_utc
from pycstbox.evtdb.fsys import day_path
from pycstbox.export.errors import EventStoreError

log = logging.getLogger(__name__)

DEFAULT_ROOT = '/var/db/cstbox/events'
READ_MODES = ('auto', 'dbus', 'files')
CLOSED_AFTER = timedelta(hours=1)   # a day this long past its end is closed
_YEARS = (2000, 2068)     # what a two-digit year in a day file name means both ways
_TOLD = {}                # day file -> the last reason logged for reading it over D-Bus


def _utcnow():
    return datetime.now(timezone.utc)


def _tell(day, path, why):
    """Log once (per day file and reason) why a day is read over D-Bus."""
    if _TOLD.get(path) == why:
        log.debug('reading %s over D-Bus: %s', day, why)
        return
    if len(_TOLD) > 1000:
        _TOLD.clear()
    _TOLD[path] = why
    log.info('reading %s over D-Bus: %s', day, why)


def files_readable(root, channel):
    """True when ``<root>/<channel>`` is a directory this process can list and read."""
    path = os.path.join(root, channel)
    return os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK)


def open_source(address='', channel='sensor', timeout=60.0, read='auto', root=DEFAULT_ROOT):
    """The event source for ``read`` (see the module docstring).

    :raises EventStoreError: the bus cannot be reached
    :raises ValueError: unknown ``read``
    """
    from pycstbox.evtdb.client import EventStoreClient
    if read not in READ_MODES:
        raise ValueError('read must be one of %s, not %r' % (', '.join(READ_MODES), read))
    client = EventStoreClient(address, channel, timeout)
    if read == 'dbus' or (read == 'auto' and not files_readable(root, channel)):
        if read == 'auto':
            log.debug('reading events over D-Bus (%s is not readable here)',
                      os.path.join(root, channel))
        return client
    return FileSource(client, root, channel)


class FileSource:
    """Reads day files after a flush over D-Bus, day by day, D-Bus when a day looks wrong.

    :param clock: returns the aware UTC time now (tells which days are closed)
    """

    def __init__(self, client, root, channel='sensor', clock=_utcnow):
        self.client = client
        self.root, self.channel = root, channel
        self.clock = clock
        self.stats = {'events': 0, 'calls': 0, 'skipped': 0, 'outside': 0, 'files': 0,
                      'dbus_days': 0, 'foreign': 0}
        self._data_cache = {}

    def flush(self):
        """Ask the store to write what it buffers (over D-Bus): the files are then complete."""
        self.client.flush()

    def available_days(self):
        return self.client.available_days()

    def close(self):
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def events(self, start, end, var_types=(), var_names=()):
        """Yield the events of ``[start, end)``, oldest first (as ``EventStoreClient.events``)."""
        start, end = as_utc(start), as_utc(end)
        self.stats = stats = {'events': 0, 'calls': 0, 'skipped': 0, 'outside': 0,
                              'files': 0, 'dbus_days': 0, 'foreign': 0}
        if end <= start:
            return
        var_types, var_names = tuple(var_types), tuple(var_names)
        types, names = _filter(var_types), _filter(var_names)
        known = self._store_days()
        latest = max(known) if known else None
        for day, lo, hi in day_range(start, end):
            path = day_path(self.root, self.channel, day)
            scan = None
            if known is None or day not in known:
                pass     # a file the store does not list is not the store's: ask the store
            elif _YEARS[0] <= day.year <= _YEARS[1]:
                closed = latest > day or self.clock() >= \
                    datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + \
                    timedelta(days=1) + CLOSED_AFTER
                try:
                    scan = DayScan(path, day, closed)
                    scan.check_tail(lo, hi)
                except Unusable as exc:
                    if scan is not None:
                        scan.close()
                        scan = None
                    _tell(day, path, str(exc))
            if scan is None or scan.missing:
                yield from self._dbus(lo, hi, var_types, var_names, stats)
                continue
            stats['files'] += 1
            try:
                for event in read_day(scan, lo, hi, types, names, stats, self._data_cache):
                    stats['events'] += 1
                    yield event
            except OSError as exc:
                raise EventStoreError('cannot read the day file %s: %s. The window stays '
                                      'pending.' % (path, exc.strerror or exc)) from exc
            finally:
                scan.close()
        if stats['skipped']:
            log.warning('%d malformed event(s) skipped reading %s - %s',
                        stats['skipped'], start, end)

    def _store_days(self):
        """The days the store lists (None when it cannot tell: every day over D-Bus)."""
        try:
            return {date.fromisoformat(str(d)[:10]) for d in self.client.available_days()}
        except (EventStoreError, ValueError) as exc:
            log.info('reading over D-Bus: the store did not list its days (%s)', exc)
            return None

    def _dbus(self, lo, hi, var_types, var_names, stats):
        stats['dbus_days'] += 1
        client = self.client
        try:
            for event in client.events(lo, hi, var_types, var_names):
                stats['events'] += 1
                yield event
        finally:
            for key in ('calls', 'skipped', 'outside'):
                stats[key] += client.stats.get(key, 0)


def _filter(values):
    """The set a filter tuple means, as the D-Bus path applies it (None: no filter)."""
    if len(values) > 1:
        return frozenset(values)
    if len(values) == 1 and values[0]:
        return frozenset(values)
    return None
