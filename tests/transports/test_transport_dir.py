"""dir transport on real file systems (tmp dirs, read-only and full tmpfs when root)."""

import os

import pytest

from pycstbox.export.errors import PermanentError, TemporaryError
from tests.transports.harness import is_root, make, need_root_mount, tmpfs, write


def test_full_disk_is_temporary_and_leaves_no_partial_file(tmp_path):
    """ENOSPC is temporary; no file under the final name nor temporary file remains."""
    need_root_mount()
    src = write(tmp_path / 'big', os.urandom(200000))
    with tmpfs(str(tmp_path / 'full'), size='64k') as full:
        with pytest.raises(TemporaryError, match='no space left') as info:
            make('dir', name='usb', path=full).send(src, 'a.csv')
        assert info.value.target == 'usb'
        assert os.listdir(full) == []


def test_full_disk_keeps_previous_file(tmp_path):
    """A send that fails on a full disk leaves the previously delivered file intact."""
    need_root_mount()
    small = os.urandom(1000)
    with tmpfs(str(tmp_path / 'full'), size='64k') as full:
        t = make('dir', path=full)
        t.send(write(tmp_path / 'small', small), 'a.csv')
        with pytest.raises(TemporaryError):
            t.send(write(tmp_path / 'big', os.urandom(200000)), 'a.csv')
        assert open(os.path.join(full, 'a.csv'), 'rb').read() == small


def test_read_only_destination_is_permanent(tmp_path):
    """A read-only destination is permanent, for send and check."""
    src = write(tmp_path / 'f', b'data')
    if is_root():
        with tmpfs(str(tmp_path / 'ro'), readonly=True) as ro:
            t = make('dir', path=ro)
            with pytest.raises(PermanentError, match='read-only'):
                t.send(src, 'a.csv')
            with pytest.raises(PermanentError):
                t.check()
    else:
        ro = tmp_path / 'ro'
        ro.mkdir(mode=0o555)
        with pytest.raises(PermanentError, match='permission'):
            make('dir', path=str(ro)).send(src, 'a.csv')


def test_missing_destination_is_permanent(tmp_path):
    """A destination directory that does not exist is permanent (nothing created)."""
    dest = tmp_path / 'usb' / 'cstbox'
    with pytest.raises(PermanentError, match='does not exist'):
        make('dir', path=str(dest)).send(write(tmp_path / 'f', b'x'), 'a.csv')
    assert not dest.exists()


def test_missing_local_file_is_permanent(tmp_path):
    """A local file to send that does not exist is permanent."""
    (tmp_path / 'd').mkdir()
    with pytest.raises(PermanentError, match='does not exist'):
        make('dir', path=str(tmp_path / 'd')).send(str(tmp_path / 'nope'), 'a.csv')
