"""Atomic durable writes."""

import os

import pytest

from pycstbox.export import atomic


def test_write_creates_and_replaces(tmp_path):
    """write_atomic creates the file, then replaces it."""
    p = tmp_path / 'f'
    assert atomic.write_atomic(p, b'one') is True
    assert atomic.write_atomic(p, 'two') is True
    assert p.read_bytes() == b'two'


def test_unchanged_is_not_written(tmp_path):
    """Writing the same content again does nothing and says so."""
    p = tmp_path / 'f'
    atomic.write_atomic(p, b'x')
    ino = os.stat(p).st_ino
    assert atomic.write_atomic(p, b'x') is False
    assert os.stat(p).st_ino == ino


def test_at_most_two_fsyncs(tmp_path, monkeypatch):
    """A durable write costs two fsyncs: the file and its directory."""
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, 'fsync', lambda fd: (calls.append(fd), real(fd)))
    atomic.write_atomic(tmp_path / 'f', b'data')
    assert len(calls) == 2


def test_failed_write_leaves_old_content_and_no_temp(tmp_path, monkeypatch):
    """When the write fails the old content stays and no temp file remains."""
    p = tmp_path / 'f'
    atomic.write_atomic(p, b'old')

    def failing_write(fd, data):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'write', failing_write)
    with pytest.raises(OSError):
        atomic.write_atomic(p, b'new')
    monkeypatch.undo()
    assert p.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['f']


def test_temp_name_recognised():
    """Temp names are recognisable so that listings skip them."""
    assert atomic.is_temp_name('.x.json.12.tmp')
    assert not atomic.is_temp_name('x.json')
