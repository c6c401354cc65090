"""Exports are deterministic: the same events give the same bytes in every format (audit --deep)."""

import datetime
import hashlib
import io
import time

import pytest

from pycstbox.evtdb.event import Event
from pycstbox.export import formats

UTC = datetime.timezone.utc
CASES = [(n, c) for n in formats.names() for c in ('none', 'gzip', 'zstd')
         if c == 'none' or formats.get(n).compressible]


def _events():
    t0 = datetime.datetime(2026, 11, 27, 0, 0, 1, 123456, tzinfo=UTC)
    out = []
    for i in range(3000):
        value = [i * 1.5, i, True, None, 'on, "x"\t\u00e9'][i % 5]
        out.append(Event(t0 + datetime.timedelta(seconds=7 * i), 'energy', 'm%d' % (i % 7),
                         value, 'Wh' if i % 2 else '', {'unit': 'Wh', 'delta': i % 3}))
    return out


class Pipe:
    """A write-only output that cannot seek nor tell (like a socket or the artifact)."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)

    def flush(self):
        pass


def _export(name, compress, out, tmp_path):
    w = formats.open_writer(name, out, compress, tmpdir=str(tmp_path))
    for e in _events():
        w.write(e)
    w.close()
    return bytes(out.getvalue() if isinstance(out, io.BytesIO) else out.data)


@pytest.mark.parametrize('name, compress', CASES)
def test_same_events_same_bytes(name, compress, tmp_path, monkeypatch):
    """Two exports of the same events, at different times, to a file or a pipe: same bytes."""
    first = _export(name, compress, io.BytesIO(), tmp_path)
    monkeypatch.setattr(time, 'time', lambda: 2_000_000_000.0)       # another day, another clock
    again = _export(name, compress, Pipe(), tmp_path)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(again).hexdigest()
    assert len(first) > 1000
    if compress == 'gzip':
        assert first[4:8] == b'\0\0\0\0'          # no time stamp in the gzip header
    if compress == 'zstd':
        import zstandard
        frame = zstandard.get_frame_parameters(first)
        assert frame.content_size == zstandard.CONTENTSIZE_UNKNOWN and frame.dict_id == 0


@pytest.mark.parametrize('level', [1, 8])
def test_zstd_bytes_do_not_depend_on_write_sizes(level):
    """zstd: the same text written in other chunk sizes gives the same frame (no early flush)."""
    from pycstbox.export.formats.compression import ZstdStream
    text = b''.join(b'2026-11-27 00:00:%02d,%d,energy,m%d,%d.5,Wh\r\n' % (i % 60, i, i % 7, i)
                    for i in range(8000))
    outs = []
    for step in (1 << 20, 4096, 777):
        out = Pipe()
        z = ZstdStream(out, level)
        for i in range(0, len(text), step):
            z.write(text[i:i + step])
            z.flush()
        z.close()
        outs.append(bytes(out.data))
    assert outs[0] == outs[1] == outs[2]
