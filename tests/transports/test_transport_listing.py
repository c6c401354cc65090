"""Listing receivers for the audit: dir, ftp (MLSD and NLST+SIZE), sftp; http/serial cannot."""

import hashlib

import pytest

from pycstbox.export.errors import PermanentError
from pycstbox.export.transports import RemoteFile

from .conftest import sftp_options
from .harness import make, write

NAMES = ['lyon-b12_daily_202611%02dT000000Z_202611%02dT000000Z.csv' % (d, d + 1)
         for d in range(20, 27)]


def _deliver(t, tmp_path):
    """Send 7 files of different sizes (plus one of another job); returns {name: bytes}."""
    sent = {}
    for i, name in enumerate(NAMES + ['lyon-b12_other_20261120T000000Z.csv']):
        data = b'x' * (100 + i)
        t.send(write(tmp_path / ('src%d' % i), data), name)
        sent[name] = data
    return sent


def _check(t, tmp_path, with_sha):
    sent = _deliver(t, tmp_path)
    listed = sorted(t.listing('lyon-b12_daily_2026'))
    assert [f.key for f in listed] == NAMES
    assert all(f.size == len(sent[f.key]) for f in listed)
    assert all(f.sha256 == '' for f in listed)          # a listing does not read the files
    got = t.stat(NAMES[3])
    assert got.key == NAMES[3] and got.size == len(sent[NAMES[3]])
    assert got.sha256 == (hashlib.sha256(sent[NAMES[3]]).hexdigest() if with_sha else '')
    assert t.stat('lyon-b12_daily_absent.csv') is None
    assert list(t.listing('nothing-matches')) == []
    assert len(list(t.listing())) == 8


def test_dir_listing_and_stat(tmp_path):
    """dir lists names and sizes, stat hashes the local file; temporary names are hidden."""
    out = tmp_path / 'out'
    out.mkdir()
    (out / '.lyon-b12_daily_x.csv.tmp').write_bytes(b'partial')
    t = make('dir', path=str(out))
    _check(t, tmp_path, with_sha=True)
    assert t.stat_checksum


def test_dir_listing_of_missing_directory_is_permanent(tmp_path):
    """A destination that is not there is a clear permanent error, not an empty listing."""
    t = make('dir', path=str(tmp_path / 'unmounted'))
    with pytest.raises(PermanentError, match='mount'):
        list(t.listing(''))


@pytest.mark.parametrize('user', ['user', 'nomlsd'])
def test_ftp_listing_and_stat(tmp_path, ftp_peer, user):
    """ftp lists with MLSD, or NLST + SIZE when the server has no MLSD."""
    t = make('ftp', host='127.0.0.1', port=ftp_peer.port, user=user,
             password=ftp_peer.password, timeout=10)
    _check(t, tmp_path, with_sha=False)


def test_sftp_listing_and_stat(tmp_path, sshd_peer):
    """sftp lists the directory with its sizes; stat gives one file's size."""
    import os
    import shutil
    d = os.path.join(sshd_peer.dir, 'listing')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    t = make('sftp', **sftp_options(sshd_peer, directory=d))
    _check(t, tmp_path, with_sha=False)


@pytest.mark.parametrize('type_, opts', [('http', {'url': 'http://127.0.0.1:9/{name}'}),
                                         ('serial', {'port': '/dev/null'})])
def test_http_and_serial_cannot_be_listed(type_, opts):
    """http and serial receivers cannot be listed: NotImplementedError (audit: unverifiable)."""
    t = make(type_, **opts)
    with pytest.raises(NotImplementedError):
        list(t.listing(''))
    with pytest.raises(NotImplementedError):
        t.stat('x')


def test_remote_file_defaults():
    """A RemoteFile without checksums has empty ones."""
    assert RemoteFile('k', 3) == ('k', 3, '', '')
