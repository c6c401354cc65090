"""Decoding of ``get_events`` replies (``a(sssva{sv})``) into :class:`Event` objects."""

import logging

from datetime import datetime

from pycstbox.evtdb.event import Event, decode_value, parse_bus_timestamp

log = logging.getLogger(__name__)

_MAX_LOGGED = 20
_fromiso = datetime.fromisoformat
_EPOCH = parse_bus_timestamp('1970-01-01 00:00:00')
#: type -> converter to a plain Python value; dbus types are added by :func:`register`
PLAIN = {str: str, float: float, int: int, bool: bool}


def register(dbus):
    """Teach :func:`plain` the dbus-python types (called by the client, which imports dbus)."""
    PLAIN.update({dbus.String: str, dbus.Double: float, dbus.Boolean: bool,
                  dbus.Int16: int, dbus.Int32: int, dbus.Int64: int, dbus.Byte: int,
                  dbus.UInt16: int, dbus.UInt32: int, dbus.UInt64: int,
                  dbus.ObjectPath: str, dbus.Signature: str})


def plain(value):
    """dbus-python values -> plain Python values (recursively)."""
    conv = PLAIN.get(type(value))
    if conv is not None:
        return conv(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value) if type(value).__name__ == 'Boolean' else int(value)
    if isinstance(value, float):
        return float(value)
    return str(value) if isinstance(value, str) else value


def decode(reply, lo, hi, stats, types=None, names=None):
    """Yield the events of ``reply`` with ``lo <= timestamp < hi``, oldest first.

    ``types``/``names``: optional sets filtering on this side.  A malformed item
    (wrong arity, bad timestamp, data not a dict) is skipped, counted in
    ``stats['skipped']`` and logged with its content (the first 20 of a read).
    Each item of ``reply`` (a list) is released once decoded, so a page's memory
    shrinks while it is consumed.
    """
    if not _in_order(reply):
        reply.sort(key=_sort_key)
    conv_of, fromiso, new, value_of = PLAIN.get, _fromiso, tuple.__new__, decode_value
    conv_plain = PLAIN
    units = {}          # (class, unit) -> (data, unit text) of the usual {unit, value} data
    for i, item in enumerate(reply):
        reply[i] = None
        try:
            ts_text, var_type, var_name, value, data = item
            try:
                ts = fromiso(ts_text + '+00:00')      # the usual naive UTC text, one C call
            except ValueError:
                ts = parse_bus_timestamp(ts_text)
            if not isinstance(data, dict):
                raise TypeError('data is not a dictionary')
        except (ValueError, TypeError) as exc:
            stats['skipped'] += 1
            if stats['skipped'] <= _MAX_LOGGED:
                log.warning('skipping malformed event %.300r: %s', plain(item), exc)
            continue
        if ts < lo or ts >= hi:
            if ts < lo or ts > hi:       # not even in the inclusive range asked
                stats['outside'] += 1
            continue
        if (types is not None and var_type not in types) or \
                (names is not None and var_name not in names):
            continue
        unit = data.get('unit') if len(data) == 2 else None
        if unit.__class__ in conv_plain and 'value' in data:
            key = (unit.__class__, unit)       # the usual data: one dict per unit, shared
            known = units.get(key)
            if known is None:
                known = units[key] = _data_and_unit(data, conv_of)
            fields, unit = known
        elif len(data) == 1 and 'value' in data:
            fields, unit = {}, ''
        else:
            fields, unit = _data_and_unit(data, conv_of)
        yield new(Event, (ts, str(var_type), str(var_name), value_of(value), unit, fields))


def _data_and_unit(data, conv_of):
    """``(data without 'value', as plain Python values; its unit text)``."""
    fields = {}
    for k, v in data.items():
        if k != 'value':
            conv = conv_of(v.__class__)
            fields[str(k)] = conv(v) if conv is not None else plain(v)
    unit = fields.get('unit', '')
    return fields, unit if unit.__class__ is str else str(unit)


def count_in_range(reply, lo, hi):
    """``(inside, outside)``: events of ``reply`` with ``lo <= timestamp <= hi`` and not.

    O(1) for the usual reply (first and last in range); items whose
    timestamp cannot be read count in neither.
    """
    if not reply:
        return 0, 0
    try:
        if lo <= parse_bus_timestamp(reply[0][0]) <= hi and \
                lo <= parse_bus_timestamp(reply[-1][0]) <= hi:
            return len(reply), 0          # (exact when in order, as replies are)
    except (TypeError, ValueError, IndexError, KeyError):
        pass
    inside = outside = 0
    for item in reply:
        try:
            ts = parse_bus_timestamp(item[0])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if lo <= ts <= hi:
            inside += 1
        else:
            outside += 1
    return inside, outside


def _in_order(reply):
    """True when the reply's timestamps (fixed-format strings) never go backwards."""
    try:
        stamps = [item[0] for item in reply]
        return stamps == sorted(stamps)
    except (TypeError, IndexError, KeyError):
        return False


def _sort_key(item):
    try:
        return parse_bus_timestamp(item[0])
    except (TypeError, ValueError, IndexError, KeyError):
        return _EPOCH
