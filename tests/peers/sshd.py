"""A real OpenSSH ``sshd`` on a loopback port for SFTP tests (root only).

Usage::

    if not sshd_usable(): pytest.skip(...)
    with SshdPeer(tmp_path / 'sshd') as peer:
        peer.port, peer.client_key, peer.known_hosts   # key auth as root; host key accepted
        peer.other_known_hosts                         # the same host with a different key
        peer.dir                                       # a directory to upload into

A temporary ed25519 host key, an authorized test key (``client_key``), a free port chosen
at start, ``PasswordAuthentication yes`` (so that a wrong password is refused by the real
server), ``internal-sftp``.  The daemon is stopped by the pid in its pid file on exit.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

SSHD = '/usr/sbin/sshd'
KEYGEN = '/usr/bin/ssh-keygen'


def sshd_usable():
    """Why sshd cannot run here ('' when it can)."""
    if os.geteuid() != 0:
        return 'sshd needs root'
    if not (os.path.exists(SSHD) and os.path.exists(KEYGEN)):
        return 'openssh-server is not installed'
    return ''


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _keygen(path):
    subprocess.run([KEYGEN, '-q', '-t', 'ed25519', '-N', '', '-C', 'cbx-test', '-f', path],
                   check=True, timeout=20, stdout=subprocess.DEVNULL)
    with open(path + '.pub') as f:
        return f.read().split()[:2]


class SshdPeer:
    """sshd on 127.0.0.1 (a context manager)."""

    def __init__(self, root):
        self.root = os.fspath(root)
        self.proc = None

    def __enter__(self):
        os.makedirs(self.root, exist_ok=True)
        os.makedirs('/run/sshd', exist_ok=True)   # privilege separation directory
        self.dir = os.path.join(self.root, 'upload')
        os.makedirs(self.dir, exist_ok=True)
        hostkey = os.path.join(self.root, 'hostkey')
        self.client_key = os.path.join(self.root, 'client_key')
        other = os.path.join(self.root, 'otherkey')
        host_type, host_pub = _keygen(hostkey)
        client_type, client_pub = _keygen(self.client_key)
        other_type, other_pub = _keygen(other)
        with open(os.path.join(self.root, 'authorized_keys'), 'w') as f:
            f.write('%s %s\n' % (client_type, client_pub))
        self.port = free_port()
        entry = '[127.0.0.1]:%d' % self.port
        self.known_hosts = os.path.join(self.root, 'known_hosts')
        with open(self.known_hosts, 'w') as f:
            f.write('%s %s %s\n' % (entry, host_type, host_pub))
        self.other_known_hosts = os.path.join(self.root, 'other_known_hosts')
        with open(self.other_known_hosts, 'w') as f:
            f.write('%s %s %s\n' % (entry, other_type, other_pub))
        self.empty_known_hosts = os.path.join(self.root, 'empty_known_hosts')
        open(self.empty_known_hosts, 'w').close()
        self.pidfile = os.path.join(self.root, 'sshd.pid')
        config = os.path.join(self.root, 'sshd_config')
        with open(config, 'w') as f:
            f.write('\n'.join([
                'Port %d' % self.port, 'ListenAddress 127.0.0.1', 'HostKey %s' % hostkey,
                'AuthorizedKeysFile %s' % os.path.join(self.root, 'authorized_keys'),
                'PidFile %s' % self.pidfile, 'StrictModes no', 'UsePAM no',
                'PermitRootLogin yes', 'PasswordAuthentication yes',
                'KbdInteractiveAuthentication no', 'MaxStartups 50', 'LogLevel VERBOSE',
                'Subsystem sftp internal-sftp', '']))
        self.log = os.path.join(self.root, 'sshd.log')
        # -D: no fork, so that the process we started is the daemon itself
        self.proc = subprocess.Popen([SSHD, '-D', '-f', config, '-E', self.log],
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('sshd exited: %s' % _tail(self.log))
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError('sshd did not listen on port %d: %s' % (self.port, _tail(self.log)))

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def clean(self):
        shutil.rmtree(self.root, ignore_errors=True)


def _tail(path):
    try:
        with open(path) as f:
            return f.read()[-2000:]
    except OSError:
        return ''
