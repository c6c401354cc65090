"""Formats stream: bounded memory, safe zip member names, registry and errors."""

import io
import os
import tracemalloc
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from pycstbox.evtdb.event import Event
from pycstbox.export import formats
from pycstbox.export.process.extract import extract
from pycstbox.export.formats import dwhzip

from . import reader

UTC = timezone.utc
T0 = datetime(2026, 11, 27, tzinfo=UTC)


def many(n, nvars=50):
    for k in range(n):
        yield Event(T0 + timedelta(milliseconds=k * 37), 'power', 'p%d' % (k % nvars),
                    k * 0.5, 'W', {'unit': 'W'})


class Sink(io.RawIOBase):
    """A write-only, non-seekable output that only counts bytes (like a pipe)."""

    def __init__(self):
        self.size = 0

    def writable(self):
        return True

    def write(self, b):
        self.size += len(b)
        return len(b)


def peak(name, n, compress='none', tmpdir=None):
    tracemalloc.start()
    try:
        extract(many(n), name, Sink(), compress, tmpdir)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize('name,compress', [('csv', 'gzip'), ('tsv', 'none'),
                                           ('excel-csv', 'none'), ('jsonl', 'gzip')])
def test_text_memory_flat(name, compress):
    """Peak memory writing 60k events is no more than writing 15k (+ slack): it streams."""
    small, large = peak(name, 15000, compress), peak(name, 60000, compress)
    assert large < small * 1.3 + 256 * 1024, (small, large)


def test_dwh_zip_spills_to_disk_not_memory(tmp_path, monkeypatch):
    """dwh-zip beyond its buffer spills per variable under tmpdir, removes it, stays small."""
    monkeypatch.setattr(dwhzip, 'BUFFER_BYTES', 256 * 1024)
    small, large = peak('dwh-zip', 15000, tmpdir=str(tmp_path)), \
        peak('dwh-zip', 60000, tmpdir=str(tmp_path))
    assert large < small * 1.3 + 256 * 1024, (small, large)
    assert os.listdir(tmp_path) == []


def test_dwh_zip_spilled_content_exact(tmp_path, monkeypatch):
    """Series spilled to disk in several pieces come back complete and in order."""
    monkeypatch.setattr(dwhzip, 'BUFFER_BYTES', 4096)
    out = io.BytesIO()
    assert extract(many(5000, 7), 'dwh-zip', out, tmpdir=str(tmp_path)) == 5000
    assert reader.read_dwh(out.getvalue()) == reader.expected_dwh(list(many(5000, 7)))


def test_dwh_zip_to_a_pipe():
    """dwh-zip can be written to a non-seekable output (stdout piped)."""
    out = Sink()
    buf = io.BytesIO()
    out.write = lambda b: buf.write(b)         # record, still not seekable
    extract(many(300, 3), 'dwh-zip', out)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.namelist() == ['p0.tsv', 'p1.tsv', 'p2.tsv'] and zf.testzip() is None


@pytest.mark.parametrize('var_name', ['../../etc/passwd', '/abs', '..', '.', 'a\x00b',
                                      'a\nb', 'C:\\x', '', '.profile', 'x' * 1000])
def test_member_name_is_flat_and_safe(tmp_path, var_name):
    """A var_name cannot escape the extraction directory, hide itself or be cut by NUL/newline."""
    name = dwhzip.member_name(var_name)
    assert name.endswith('.tsv') and len(name) <= dwhzip.MAX_NAME + 4
    assert not set(name) & set('/\\\x00\n\r:') and not name.startswith('.')
    out = io.BytesIO()
    extract([Event(T0, 't', var_name, 1, '', {})], 'dwh-zip', out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        zf.extractall(tmp_path / 'x')
    assert os.listdir(tmp_path / 'x') == [name]


def test_distinct_names_never_share_a_member():
    """Names that a naive sanitizer would merge ('a/b', 'a_b', 'a%2Fb', long names) stay apart."""
    long_a, long_b = 'y' * 300 + 'a', 'y' * 300 + 'b'
    names = ['a/b', 'a_b', 'a%2Fb', 'a b', 'a\x00b', '', '~', long_a, long_b]
    members = [dwhzip.member_name(n) for n in names]
    assert len(set(members)) == len(names)
    out = io.BytesIO()
    extract([Event(T0, 't', n, i, '', {}) for i, n in enumerate(names)], 'dwh-zip', out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert len(zf.namelist()) == len(names)


def test_registry_and_extensions():
    """Registry: the six names, extensions with gzip, KeyError for unknown names."""
    assert formats.names() == ['csv', 'tsv', 'excel-csv', 'jsonl', 'dwh-zip', 'parquet']
    assert formats.extension('csv', 'gzip') == 'csv.gz'
    assert formats.extension('jsonl', 'zstd') == 'jsonl.zst'
    assert formats.extension('dwh-zip') == 'zip'
    assert formats.extension('jsonl') == 'jsonl'
    with pytest.raises(KeyError):
        formats.get('xml')


def test_gzip_refused_for_zip():
    """dwh-zip is already compressed: asking for gzip is a ValueError, as is an unknown mode."""
    with pytest.raises(ValueError, match='already compressed'):
        formats.open_writer('dwh-zip', io.BytesIO(), 'gzip')
    with pytest.raises(ValueError, match='already compressed'):
        formats.open_writer('dwh-zip', io.BytesIO(), 'zstd')
    with pytest.raises(ValueError, match='unknown compression'):
        formats.open_writer('csv', io.BytesIO(), 'bz2')


def test_close_leaves_output_open():
    """close() finishes the stream but leaves the caller's file object open."""
    for name in formats.names():
        out = io.BytesIO()
        w = formats.open_writer(name, out)
        assert w.close() == 0
        assert not out.closed
