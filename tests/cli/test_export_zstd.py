"""cbx-export export with zstd: chosen by --compress zstd or a .zst output name."""

import io
import json

import zstandard

from .conftest import run_export


def test_export_to_zst_file(store, tmp_path):
    """-o NAME.zst writes one zstd frame holding the jsonl lines of the window."""
    address, events = store
    out = tmp_path / 'day.jsonl.zst'
    r = run_export(address, tmp_path, '--from', '2026-11-27T20:00Z', '--to', '2026-11-28T04:00Z',
                   '--format', 'jsonl', '-o', str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read().decode()
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == sum(1 for e in events if '2026-11-27 20:00' <= str(e[0]) < '2026-11-28 04')
    r = run_export(address, tmp_path, '--from', '2026-11-27T20:00Z', '--to', '2026-11-28T04:00Z',
                   '--format', 'jsonl', '--compress', 'zstd', '-o', '-')
    assert r.returncode == 0 and r.stdout == data           # deterministic
