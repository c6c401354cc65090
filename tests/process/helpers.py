"""Helpers for the process tests: a config file writer and an in-memory event source."""

import datetime
import os
import textwrap

from pycstbox.evtdb.event import Event
from pycstbox.export import config as configmod
from pycstbox.export.errors import EventStoreError, TemporaryError

UTC = datetime.timezone.utc


def T(s):
    """An aware UTC datetime from '2026-11-27 13:00' style text."""
    return datetime.datetime.fromisoformat(s).replace(tzinfo=UTC)


def write_config(tmp_path, body, name='export.toml'):
    """Write a config with site/state_dir set under tmp_path; returns the loaded Config."""
    state = tmp_path / 'state'
    text = 'site = "lyon-b12"\nstate_dir = "%s"\n' % state + textwrap.dedent(body)
    path = tmp_path / name
    path.write_text(text)
    return configmod.load(str(path), environ={})


class ListSource:
    """An event store holding a list of events in memory (core logic tests only)."""

    def __init__(self, events=()):
        self.events_list = sorted(events)
        self.down = False
        self.reads = []
        self.flushes = 0

    def flush(self):
        if self.down:
            raise EventStoreError('event store unreachable (test)')
        self.flushes += 1

    def events(self, start, end, var_types=(), var_names=()):
        if self.down:
            raise EventStoreError('event store unreachable (test)')
        self.reads.append((start, end))
        for e in self.events_list:
            if start <= e.timestamp < end and (not var_types or e.var_type in var_types) \
                    and (not var_names or e.var_name in var_names):
                yield e

    def close(self):
        pass


def hourly_events(first, hours, var='energy_main'):
    """One energy event per 10 minutes from ``first`` for ``hours`` hours."""
    out = []
    for i in range(hours * 6):
        out.append(Event(first + datetime.timedelta(minutes=10 * i), 'energy', var, i * 1.5,
                         'Wh', {'unit': 'Wh'}))
    return out


class FlakyDir:
    """Wraps a real transport; fails with the given errors first (simulates a receiver)."""

    def __init__(self, inner, errors=()):
        self.inner = inner
        self.errors = list(errors)
        self.sent = []

    def send(self, path, name, *, job='', key=None, start=None):
        if self.errors:
            err = self.errors.pop(0)
            if err is not None:
                raise err
        self.inner.send(path, name, job=job, key=key, start=start)
        self.sent.append((name, key))

    def check(self):
        self.inner.check()

    def close(self):
        self.inner.close()


def received(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


class GridSource:
    """An event store whose events are a function of time: one every 10 minutes, forever.

    ``until()`` (optional) is the present: events at or after it are not recorded yet.
    :func:`grid_events` gives the same events without that limit (the truth of a
    window once it has passed).  ``down`` makes every call fail like a dead store.
    """

    def __init__(self, until=None):
        self.until = until
        self.down = False
        self.reads = 0

    def flush(self):
        if self.down:
            raise EventStoreError('event store unreachable (test)')

    def events(self, start, end, var_types=(), var_names=()):
        if self.down:
            raise EventStoreError('event store unreachable (test)')
        self.reads += 1
        stop = end if self.until is None else min(end, self.until())
        yield from grid_events(start, stop, var_types, var_names)

    def close(self):
        pass


GRID_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=UTC)
GRID_STEP = datetime.timedelta(minutes=10)


def grid_event(k):
    """Event number ``k`` of the grid: four variables in turn, float/bool/int values."""
    t = GRID_EPOCH + k * GRID_STEP + datetime.timedelta(microseconds=(k % 7) * 123457)
    kind = k % 4
    if kind == 0:
        return Event(t, 'energy', 'energy_main', k * 0.25, 'Wh', {'unit': 'Wh'})
    if kind == 1:
        return Event(t, 'temperature', 'temp_hall', 15 + (k % 40) / 4, 'degC', {'unit': 'degC'})
    if kind == 2:
        return Event(t, 'presence', 'motion_hall', bool(k % 8 == 2), '', {})
    return Event(t, 'counter', 'pulses', k, '', {})


def grid_events(start, end, var_types=(), var_names=()):
    """The grid's events in ``[start, end)``, oldest first, filtered like the store does."""
    k = (start - GRID_EPOCH) // GRID_STEP
    while True:
        e = grid_event(k)
        k += 1
        if e.timestamp >= end:
            return
        if e.timestamp >= start and (not var_types or e.var_type in var_types) \
                and (not var_names or e.var_name in var_names):
            yield e


__all__ = ['T', 'write_config', 'ListSource', 'hourly_events', 'FlakyDir', 'received',
           'TemporaryError', 'GridSource', 'grid_events']
