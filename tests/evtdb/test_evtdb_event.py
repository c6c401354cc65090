"""Unit tests of the Event type and value decoding."""

from datetime import datetime, timezone

import pytest

from pycstbox.evtdb.event import Event, decode_value, format_bus_timestamp, \
    parse_bus_timestamp


@pytest.mark.parametrize('stored, meaning', [
    ('21.5', 21.5), ('12', 12), ('-3', -3), ('1e3', 1000.0), ('True', True),
    ('False', False), ('None', None), ('', None), ('on', 'on'), ('12 kWh', '12 kWh'),
    ('1,5', '1,5'), (21.5, 21.5), (7, 7), (True, True), (None, None),
])
def test_decode_value(stored, meaning):
    """Stored values keep their meaning: numbers, booleans, None, other text unchanged."""
    got = decode_value(stored)
    assert got == meaning and type(got) is type(meaning)


def test_bus_timestamps_round_trip_microseconds():
    """Bus timestamps are naive UTC with microseconds and parse back to aware UTC."""
    ts = datetime(2026, 11, 27, 13, 45, 12, 123456, tzinfo=timezone.utc)
    text = format_bus_timestamp(ts)
    assert text == '2026-11-27 13:45:12.123456'
    assert parse_bus_timestamp(text) == ts and parse_bus_timestamp(text).tzinfo is not None


def test_event_is_immutable():
    """An Event cannot be modified."""
    ev = Event(datetime(2026, 1, 1, tzinfo=timezone.utc), 'power', 'p', 1, 'W', {'unit': 'W'})
    with pytest.raises(AttributeError):
        ev.value = 2
