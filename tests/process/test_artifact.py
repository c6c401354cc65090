"""Staging of a job's file: RAM (runtime dir) first, flash only when large or kept for a retry."""

import os
import subprocess

import pytest

from pycstbox.export.process.artifact import Artifact


def _fill(a, n, chunk=4096):
    f = a.open()
    for _ in range(n // chunk):
        f.write(b'x' * chunk)
    a.finish()


def test_small_file_stays_in_runtime_dir(tmp_path):
    """A small file is staged in the runtime directory, nothing on flash."""
    a = Artifact(str(tmp_path / 'run'), str(tmp_path / 'spool'), 'f.csv', limit=1 << 20)
    _fill(a, 64 * 1024)
    assert a.path == a.fast and os.path.getsize(a.path) == 64 * 1024
    assert not os.path.exists(tmp_path / 'spool')


def test_large_file_moves_to_flash_intact(tmp_path):
    """Past the limit the file moves to the spool and keeps growing there, intact."""
    a = Artifact(str(tmp_path / 'run'), str(tmp_path / 'spool'), 'f.csv', limit=100 * 1024)
    _fill(a, 400 * 1024)
    assert a.path == a.slow and os.path.getsize(a.path) == 400 * 1024
    assert not os.path.exists(a.fast)


def test_persist_and_discard(tmp_path):
    """persist() moves the staged file to flash; discard() removes it wherever it is."""
    a = Artifact(str(tmp_path / 'run'), str(tmp_path / 'spool'), 'f.csv')
    _fill(a, 8192)
    assert a.persist() == a.slow and os.path.getsize(a.slow) == 8192
    a.discard()
    assert not os.path.exists(a.slow) and not os.path.exists(a.fast)


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting a tiny tmpfs needs root')
def test_small_tmpfs_never_filled(tmp_path):
    """With a tiny runtime tmpfs the file moves to flash before the tmpfs is full."""
    run = tmp_path / 'run'
    run.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(run)], check=True)
    try:
        a = Artifact(str(run), str(tmp_path / 'spool'), 'f.csv')
        _fill(a, 1024 * 1024)
        assert a.path == a.slow and os.path.getsize(a.path) == 1024 * 1024
    finally:
        subprocess.run(['umount', str(run)])
