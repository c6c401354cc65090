"""SFTP transport against a real OpenSSH sshd on a loopback port (tests/peers/sshd.py)."""

import os

import pytest

from pycstbox.export.errors import PermanentError, TemporaryError
from tests.transports.conftest import sftp_options
from tests.transports.harness import make, need_root_mount, tmpfs


def sftp(peer, **kw):
    return make('sftp', name='box', **sftp_options(peer, **kw))


@pytest.fixture
def updir(sshd_peer, tmp_path):
    path = os.path.join(sshd_peer.dir, tmp_path.name)
    os.makedirs(path)
    return path


def test_unknown_host_key_is_permanent_and_says_how_to_accept(sshd_peer, updir, data_file):
    """An unknown host key is permanent; the message gives the ssh-keyscan command."""
    with pytest.raises(PermanentError) as info:
        sftp(sshd_peer, directory=updir, known_hosts=sshd_peer.empty_known_hosts).send(
            data_file[0], 'a.csv')
    msg = str(info.value)
    assert 'ssh-keyscan -p %d 127.0.0.1 >> %s' % (sshd_peer.port,
                                                   sshd_peer.empty_known_hosts) in msg
    assert 'SHA256:' in msg
    assert os.listdir(updir) == []


def test_changed_host_key_is_permanent(sshd_peer, updir, data_file):
    """A host key different from known_hosts is permanent and says how to replace it."""
    with pytest.raises(PermanentError, match='CHANGED.*ssh-keygen -R'):
        sftp(sshd_peer, directory=updir, known_hosts=sshd_peer.other_known_hosts).send(
            data_file[0], 'a.csv')


def test_wrong_password_is_permanent(sshd_peer, updir, data_file):
    """A password refused by the real sshd is permanent, telling what to check."""
    with pytest.raises(PermanentError, match='authentication refused') as info:
        sftp(sshd_peer, directory=updir, key_file='', password='wrong').send(
            data_file[0], 'a.csv')
    assert info.value.scope == 'target'          # the target is held, not the file dead


def test_missing_key_file_is_permanent(sshd_peer, updir, data_file):
    """A key_file that does not exist is permanent."""
    with pytest.raises(PermanentError, match='key_file'):
        sftp(sshd_peer, directory=updir, key_file='/nonexistent/key').send(
            data_file[0], 'a.csv')


def test_connection_refused_is_temporary(sshd_peer, data_file):
    """Nobody listening is temporary."""
    from tests.peers.sshd import free_port
    with pytest.raises(TemporaryError):
        sftp(sshd_peer, port=free_port()).send(data_file[0], 'a.csv')


def test_full_disk_is_temporary_and_leaves_nothing(sshd_peer, tmp_path, data_file):
    """A full remote disk is temporary; neither the final nor the temporary file stays."""
    need_root_mount()
    with tmpfs(str(tmp_path / 'full'), size='64k') as full:
        with pytest.raises(TemporaryError):
            sftp(sshd_peer, directory=full).send(data_file[0], 'a.csv')
        assert os.listdir(full) == []


def test_missing_directory_is_permanent(sshd_peer, updir, data_file):
    """A directory that does not exist on the server is permanent."""
    with pytest.raises(PermanentError, match='check directory'):
        sftp(sshd_peer, directory=updir + '/nope').send(data_file[0], 'a.csv')


def test_default_known_hosts_used_when_not_configured(sshd_peer, monkeypatch, tmp_path):
    """Without known_hosts, ~/.ssh/known_hosts is read (here empty: key unknown)."""
    monkeypatch.setenv('HOME', str(tmp_path))
    os.makedirs(tmp_path / '.ssh')
    (tmp_path / '.ssh' / 'known_hosts').write_text('')
    t = make('sftp', host='127.0.0.1', port=sshd_peer.port, user='root',
             key_file=sshd_peer.client_key, timeout=5)
    assert t.known_hosts[0] == str(tmp_path / '.ssh' / 'known_hosts')
    with pytest.raises(PermanentError, match='ssh-keyscan'):
        t.check()
