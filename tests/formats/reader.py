"""Parse every format back with the standard library only (csv, json, zipfile, gzip).

Each reader returns a list of tuples comparable with :func:`expected`:
``(timestamp, var_type, var_name, value, unit)`` (plus ``data`` for jsonl), values
normalised by :func:`norm` so that NaN equals NaN and -0.0 differs from 0.0.
"""

import csv
import gzip
import io
import json
import zipfile
from datetime import datetime, timezone
from urllib.parse import unquote

from pycstbox.export.formats.base import decode_value
from pycstbox.export.formats.tsv import unescape

UTC = timezone.utc


def norm(value):
    """A comparable form of a value: type name and repr (NaN == NaN, -0.0 != 0.0)."""
    if isinstance(value, dict):
        return tuple(sorted((k, norm(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(norm(v) for v in value)
    return (type(value).__name__, repr(value))


def ms(ts):
    return ts.replace(microsecond=ts.microsecond // 1000 * 1000)


def expected(events, with_data=False):
    out = []
    for e in events:
        row = (ms(e.timestamp), e.var_type, e.var_name, norm(e.value), e.unit)
        out.append(row + (norm(e.data),) if with_data else row)
    return out


ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'


def unzstd(data):
    """The content of one zstd frame (python3-zstandard; frames carry no content size)."""
    import zstandard
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()


def text(data, gz):
    """``gz``: the data is compressed (gzip or zstd, told by its magic number)."""
    if gz:
        data = unzstd(data) if data[:4] == ZSTD_MAGIC else gzip.decompress(data)
    return data.decode('utf-8')


def read_csv(data, gz=False, delimiter=','):
    rows = list(csv.reader(io.StringIO(text(data, gz), newline=''), delimiter=delimiter))
    assert rows[0] == ['timestamp', 'msec', 'var_type', 'var_name', 'value', 'units']
    out = []
    for ts, msec, var_type, var_name, value, unit in rows[1:]:
        t = datetime.strptime(ts, '%Y-%m-%d %H:%M:%S').replace(
            tzinfo=UTC, microsecond=int(msec) * 1000)
        out.append((t, var_type, var_name, norm(decode_value(value)), unit))
    return out


def read_excel(data, gz=False):
    return read_csv(data, gz, delimiter=';')


def read_tsv(data, gz=False):
    out = []
    for line in io.StringIO(text(data, gz), newline=''):
        assert line.endswith('\n')
        ts, var_type, var_name, value, unit = line[:-1].split('\t')
        t = datetime.strptime(ts, '%Y/%m/%d %H:%M:%S.%f').replace(tzinfo=UTC)
        out.append((t, unescape(var_type), unescape(var_name), norm(decode_value(unescape(value))),
                    unescape(unit)))
    return out


def read_jsonl(data, gz=False):
    out = []
    for line in io.StringIO(text(data, gz), newline=''):
        obj = json.loads(line)
        t = datetime.strptime(obj['ts'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=UTC)
        out.append((t, obj['var_type'], obj['var_name'], norm(obj['value']), obj['unit'],
                    norm(obj['data'])))
    return out


def read_dwh(data, gz=False):
    """{var_name: [(timestamp, value)]} from a dwh-zip archive."""
    series = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            name = info.filename
            assert name.endswith('.tsv') and '/' not in name and not name.startswith('.')
            var_name = '' if name == '~.tsv' else unquote(name[:-4])
            rows = series.setdefault(var_name, [])
            for line in io.StringIO(zf.read(name).decode('utf-8'), newline=''):
                ts, value = line[:-1].split('\t')
                t = datetime.strptime(ts, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=UTC)
                rows.append((t, norm(decode_value(unescape(value)))))
    return series


def expected_dwh(events):
    series = {}
    for e in events:
        value = int(e.value) if isinstance(e.value, bool) else e.value
        series.setdefault(e.var_name, []).append(
            (e.timestamp.replace(microsecond=0), norm(value)))
    return series


READERS = {'csv': read_csv, 'tsv': read_tsv, 'excel-csv': read_excel, 'jsonl': read_jsonl}
