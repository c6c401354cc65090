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


def _by_the_rule(text):
    """decode_value's documented rule for a text, by its regular expressions alone."""
    import re
    if text in ('', 'None', 'null'):
        return None
    if text in ('True', 'true', 'False', 'false'):
        return text in ('True', 'true')
    if re.fullmatch(r'[-+]?[0-9]+', text):
        return int(text)
    if re.fullmatch(r'[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?', text) or \
            text in ('nan', 'inf', '-inf', '+inf', 'NaN', 'Infinity', '-Infinity'):
        return float(text)
    return text


def test_decode_value_fast_numbers_follow_the_rule():
    """The shortcut for numbers (int()/float() on texts of digits, signs, dots, exponents)
    decodes every text as the regular expressions say (all texts of up to 5 such chars)."""
    import itertools
    for size in range(6):
        for chars in itertools.product('01.eE+-_ a', repeat=size):
            text = ''.join(chars)
            want, got = _by_the_rule(text), decode_value(text)
            assert type(got) is type(want) and repr(got) == repr(want), text
