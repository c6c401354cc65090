"""The event type shared by the event store client, the formats and the jobs.

An :class:`Event` is small and immutable.  Its ``timestamp`` is an aware UTC
``datetime`` with microseconds; its ``value`` is decoded from whatever the store
sent (the CSTBox file store sends every value as a string: ``'21.5'`` becomes
``21.5``, ``'True'`` becomes ``True``, ``'12'`` becomes ``12``; ``'None'`` or ``''``
become ``None``, "no value", as for notifications).
"""

import re
from datetime import datetime, timezone
from typing import NamedTuple

UTC = timezone.utc

#: timestamp format of the EventDatabase D-Bus interface (naive UTC)
BUS_TS_FORMAT = '%Y-%m-%d %H:%M:%S.%f'

_INT_RE = re.compile(r'[-+]?[0-9]+\Z')
_FLOAT_RE = re.compile(r'[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z')
_NO_VALUE = ('', 'None', 'null')
_SPECIAL_FLOATS = ('nan', 'inf', '-inf', '+inf', 'NaN', 'Infinity', '-Infinity')
_BOOLEANS = {'True': True, 'False': False, 'true': True, 'false': False}
#: one match for _INT_RE or _FLOAT_RE; a group matched (., exponent) means a float
_NUMBER_RE = re.compile(r'[-+]?(?:[0-9]+(\.[0-9]*)?|(\.)[0-9]+)([eE][-+]?[0-9]+)?\Z')
_INT_CHARS = '0123456789+-'
_FLOAT_CHARS = '0123456789+-.eE'
_WORDS = dict(_BOOLEANS, **{k: None for k in _NO_VALUE})
_UNKNOWN = object()


class Event(NamedTuple):
    """One event of the store."""

    timestamp: datetime      # aware, UTC, microseconds kept
    var_type: str
    var_name: str
    value: object            # str | int | float | bool | None
    unit: str                # '' when absent
    data: dict               # the stored dict without 'value' (may hold 'unit', 'delta', ...)


def decode_value(value):
    """Return the meaning of a stored value.

    Strings are decoded (booleans, integers, floats, ``None``); other strings are
    kept as they are.  Numbers and booleans are returned as plain Python values.
    """
    if isinstance(value, str):
        # the usual numbers without the regular expression: a text made of these
        # characters only is what int()/float() accept exactly when _NUMBER_RE matches
        if value and not value.strip(_INT_CHARS):
            try:
                return int(value)
            except ValueError:
                pass                        # ('-', '1-2', past the digit limit...)
        elif value and not value.strip(_FLOAT_CHARS):
            try:
                return float(value)
            except ValueError:
                pass                        # ('.', '1e', 'e5'...)
        known = _WORDS.get(value, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        m = _NUMBER_RE.match(value)
        if m is not None:
            if m.lastindex is None:         # digits only: an integer
                try:
                    return int(value)
                except ValueError:          # past int()'s digit limit (4300): kept as its text
                    return str(value)
            return float(value)
        if value in _SPECIAL_FLOATS:
            return float(value)
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        # dbus.Boolean is an int subclass, not a bool one
        if type(value).__name__ == 'Boolean':
            return bool(value)
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def parse_bus_timestamp(text):
    """Parse a D-Bus event timestamp (naive UTC ``'%Y-%m-%d %H:%M:%S[.%f]'``).

    :returns: an aware UTC datetime
    :raises ValueError: when ``text`` is not such a timestamp
    """
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def format_bus_timestamp(ts):
    """Format a datetime for the EventDatabase interface: naive UTC with microseconds.

    Naive datetimes are taken as UTC; aware ones are converted to UTC first.
    """
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime(BUS_TS_FORMAT)


def as_utc(ts):
    """Return ``ts`` as an aware UTC datetime (naive input is taken as UTC)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)

