"""Golden files: fixed events in golden/events.json give exactly the files in golden/.

Regenerate (after an intended change, then review the diff):
``/usr/bin/python3 -m tests.formats.test_golden``
"""

import gzip
import io
import json
import os
import zipfile
from datetime import datetime

import pytest

from pycstbox.evtdb.event import Event
from pycstbox.export import formats

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'golden')
OUTPUTS = {'csv': 'out.csv', 'tsv': 'out.tsv', 'excel-csv': 'out.excel.csv',
           'jsonl': 'out.jsonl', 'dwh-zip': 'out.zip', 'parquet': 'out.parquet'}
BINARY = ('dwh-zip', 'parquet')


def golden_events():
    with open(os.path.join(GOLDEN, 'events.json'), encoding='utf-8') as f:
        rows = json.load(f)
    return [Event(datetime.fromisoformat(r['ts']), r['var_type'], r['var_name'], r['value'],
                  r['unit'], r['data']) for r in rows]


def produce(name, compress='none'):
    out = io.BytesIO()
    w = formats.open_writer(name, out, compress)
    for e in golden_events():
        w.write(e)
    w.close()
    return out.getvalue()


def zip_members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, i.date_time, i.compress_type, zf.read(i)) for i in zf.infolist()]


@pytest.mark.parametrize('name', [n for n in OUTPUTS if n not in BINARY])
def test_text_format_matches_golden(name):
    """Each text format writes the golden events byte for byte as its golden file."""
    with open(os.path.join(GOLDEN, OUTPUTS[name]), 'rb') as f:
        assert produce(name) == f.read()


@pytest.mark.parametrize('name', [n for n in OUTPUTS if n not in BINARY])
def test_gzip_is_the_golden_text(name):
    """gzip output decompresses to the golden file; header has no name and time 0."""
    data = produce(name, 'gzip')
    with open(os.path.join(GOLDEN, OUTPUTS[name]), 'rb') as f:
        assert gzip.decompress(data) == f.read()
    assert data[3] & 0x08 == 0                      # FNAME flag clear
    assert data[4:8] == b'\0\0\0\0'                  # MTIME 0: same events, same bytes


@pytest.mark.parametrize('name', [n for n in OUTPUTS if formats.get(n).compressible])
def test_zstd_is_the_golden_text(name):
    """zstd output is one frame holding the golden file, with a checksum, no size nor dict id."""
    import zstandard
    data = produce(name, 'zstd')
    with open(os.path.join(GOLDEN, OUTPUTS[name]), 'rb') as f:
        assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read() == f.read()
    frame = zstandard.get_frame_parameters(data)
    assert frame.content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert frame.dict_id == 0 and frame.has_checksum
    assert produce(name, 'zstd') == data


def test_dwh_zip_matches_golden():
    """dwh-zip holds the golden members (names, times, deflate, content)."""
    with open(os.path.join(GOLDEN, OUTPUTS['dwh-zip']), 'rb') as f:
        assert zip_members(produce('dwh-zip')) == zip_members(f.read())


def test_parquet_matches_golden():
    """parquet writes the golden events byte for byte as golden/out.parquet (read by DuckDB
    and pyarrow in test_parquet)."""
    with open(os.path.join(GOLDEN, OUTPUTS['parquet']), 'rb') as f:
        assert produce('parquet') == f.read()


def test_same_events_same_bytes():
    """Writing the same events twice gives identical bytes (resends are identical)."""
    for name in OUTPUTS:
        assert produce(name) == produce(name)


def regenerate():
    for name, fname in OUTPUTS.items():
        with open(os.path.join(GOLDEN, fname), 'wb') as f:
            f.write(produce(name))


if __name__ == '__main__':
    regenerate()
