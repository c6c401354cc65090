"""Durations and instants as written by people: ``15m``, ``1h30m``, ``2026-11-27T13:00+01:00``.

Durations are one or more ``<integer><unit>`` groups, units ``s`` (seconds),
``m`` (minutes), ``h`` (hours), ``d`` (days), ``w`` (weeks): ``30s``, ``15m``,
``1h``, ``1d``, ``1w``, ``1h30m``.  A bare number (``0``, ``3600``), a negative
value, an unknown unit or an empty string are rejected: a duration without its
unit is ambiguous.  Zero (``0s``) is accepted only where the caller allows it;
more than :data:`MAX_DAYS` days is refused (no date arithmetic can overflow): the
configuration narrows each key further.
"""

import re
from datetime import date, datetime, timedelta, timezone

_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}
_GROUP = re.compile(r'(\d+)([smhdw])')
_WHOLE = re.compile(r'(?:\d+[smhdw])+')
#: longest duration accepted at all (100 years)
MAX_DAYS = 36500


def parse_duration(text, allow_zero=False, longest=None):
    """``'15m'`` -> ``timedelta(minutes=15)``; at most ``longest`` (a timedelta) when given.

    :raises ValueError: with a message saying what is accepted
    """
    if not isinstance(text, str):
        raise ValueError('must be a duration string such as "15m", "1h" or "1d", not %r' % (text,))
    compact = text.strip().lower()
    if not _WHOLE.fullmatch(compact):
        raise ValueError('invalid duration %r: write a number followed by a unit '
                         's, m, h, d or w, e.g. "30s", "15m", "1h", "1d"' % text)
    longest = min(longest or timedelta(days=MAX_DAYS), timedelta(days=MAX_DAYS))
    too_long = 'invalid duration %r: too long (at most %s)' % (text, format_duration(longest))
    groups = _GROUP.findall(compact)
    if any(len(n.lstrip('0')) > 12 for n, _ in groups):
        raise ValueError(too_long)
    seconds = sum(int(n) * _UNITS[u] for n, u in groups)
    if seconds == 0 and not allow_zero:
        raise ValueError('invalid duration %r: must be longer than zero' % text)
    if seconds > longest.total_seconds():
        raise ValueError(too_long)
    return timedelta(seconds=seconds)


def format_duration(delta):
    """``timedelta(seconds=5400)`` -> ``'1h30m'`` (the inverse of :func:`parse_duration`)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return '0s'
    out = []
    for unit in ('d', 'h', 'm', 's'):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            out.append('%d%s' % (n, unit))
    return ''.join(out)


_INSTANT = re.compile(
    r'(\d{4})-(\d{2})-(\d{2})'
    r'(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?'
    r'\s*(Z|[+-]\d{2}:?\d{2})?', re.IGNORECASE)


def parse_instant(text, tz):
    """A point in time typed by a person -> aware UTC ``datetime``.

    Accepted: ``2026-11-27``, ``2026-11-27T13:00``, ``2026-11-27 13:00:00``,
    ``2026-11-27T13:00:00.250``, each optionally followed by ``Z`` or an offset
    (``+01:00``, ``+0100``).  Without a zone the time is read in ``tz`` (a tzinfo);
    during a DST fold the first occurrence is taken, a time inside a DST gap is
    moved forward by the gap (as ``zoneinfo`` does).

    :raises ValueError: with a message showing the accepted forms
    """
    forms = ('use YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DD HH:MM:SS, optionally '
             'followed by Z or +HH:MM')
    m = _INSTANT.fullmatch(text.strip())
    if not m:
        raise ValueError('invalid time %r: %s' % (text, forms))
    y, mo, d, hh, mm, ss, frac, zone = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0),
                         int((frac or '0').ljust(6, '0')))
    except ValueError as exc:
        raise ValueError('invalid time %r (%s): %s' % (text, exc, forms)) from exc
    if zone is None:
        local = naive.replace(tzinfo=tz)
        # round trip through UTC normalises a time that falls in a DST gap
        return local.astimezone(timezone.utc)
    if zone.upper() == 'Z':
        offset = timedelta(0)
    else:
        digits = zone[1:].replace(':', '')
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if zone[0] == '-':
            offset = -offset
    return naive.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)


def parse_date(text):
    """``'2026-11-01'`` -> ``date``; :raises ValueError: otherwise."""
    if isinstance(text, date) and not isinstance(text, datetime):
        return text
    if not isinstance(text, str):
        raise ValueError('must be a date such as 2026-11-01, not %r' % (text,))
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError('invalid date %r: use YYYY-MM-DD' % text) from exc
