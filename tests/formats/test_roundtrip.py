"""Every format parses back exactly with the standard library (DESIGN section 9)."""

import io
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from pycstbox.evtdb.event import Event, decode_value as store_decode
from pycstbox.export import formats
from pycstbox.export.formats.base import decode_value

from . import reader

UTC = timezone.utc
NASTY = [',', '"', "'", ';', '\t', '\n', '\r', '\r\n', '\\', '\\t', '\x00', ' ', 'é', 'ß',
         '中', '😀', '%', '/', '..', '~', '=', '\u2028', '\x0b', '\x1c']

nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)),
                      max_size=5).map(''.join)
# a str value is one that the store's client and the format reader both keep as a str
str_values = nasty_text.filter(lambda s: store_decode(s) == s and decode_value(s) == s)
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.1, 1e-300, 1.7976931348623157e308, -0.0, 0.0,
                                    float('nan'), float('inf'), float('-inf'), 5e-324]))
values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), floats, str_values)
timestamps = st.datetimes(datetime(1970, 1, 1), datetime(2200, 1, 1)).map(
    lambda t: t.replace(tzinfo=UTC))
data_values = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), floats, nasty_text)


@st.composite
def events(draw):
    unit = draw(nasty_text)
    data = draw(st.dictionaries(nasty_text, data_values, max_size=3))
    if unit:
        data['unit'] = unit
    return Event(draw(timestamps), draw(nasty_text), draw(nasty_text), draw(values), unit, data)


event_lists = st.lists(events(), max_size=30).map(
    lambda evs: sorted(evs, key=lambda e: e.timestamp))


def write(name, evts, compress='none'):
    out = io.BytesIO()
    w = formats.open_writer(name, out, compress)
    for e in evts:
        w.write(e)
    assert w.close() == len(evts)
    return out.getvalue()


COMPRESS = ['none', 'gzip', 'zstd']       # zstd: python3-zstandard (.ci/install-deps)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(event_lists, st.sampled_from(COMPRESS))
def test_csv_roundtrip(evts, compress):
    """csv read back with csv.reader gives the same events (ms timestamps)."""
    assert reader.read_csv(write('csv', evts, compress), compress != 'none') == \
        reader.expected(evts)


@FAST
@given(event_lists, st.sampled_from(COMPRESS))
def test_excel_csv_roundtrip(evts, compress):
    """excel-csv read back with csv.reader(delimiter=';') gives the same events."""
    assert reader.read_excel(write('excel-csv', evts, compress), compress != 'none') == \
        reader.expected(evts)


@FAST
@given(event_lists, st.sampled_from(COMPRESS))
def test_tsv_roundtrip(evts, compress):
    """tsv split on TAB and unescaped gives the same events; each line has 5 fields."""
    assert reader.read_tsv(write('tsv', evts, compress), compress != 'none') == \
        reader.expected(evts)


@FAST
@given(event_lists, st.sampled_from(COMPRESS))
def test_jsonl_roundtrip(evts, compress):
    """jsonl read back with json.loads gives the same events, data and value types included."""
    assert reader.read_jsonl(write('jsonl', evts, compress), compress != 'none') == \
        reader.expected(evts, with_data=True)


@FAST
@given(event_lists)
def test_dwh_zip_roundtrip(evts):
    """dwh-zip read with zipfile gives each variable's (second, value) series, bools as 1/0."""
    assert reader.read_dwh(write('dwh-zip', evts)) == reader.expected_dwh(evts)


def test_float_precision_kept_in_text():
    """Floats are written with repr(): 0.1, 1e-300 and the largest double keep every digit."""
    ts = datetime(2026, 11, 27, tzinfo=UTC)
    evts = [Event(ts, 't', 'v', v, '', {}) for v in (0.1, 1e-300, 1.7976931348623157e308, -0.0)]
    text = write('csv', evts).decode()
    for literal in ('0.1', '1e-300', '1.7976931348623157e+308', '-0.0'):
        assert ',%s,' % literal in text
