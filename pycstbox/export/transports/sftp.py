"""``sftp`` transport: upload over SSH with ``paramiko``.

The server's host key must match ``known_hosts`` (default: ``~/.ssh/known_hosts`` and
``/etc/ssh/ssh_known_hosts``): an unknown or changed key is permanent, with the command
that accepts it in the message.  Authentication by ``key_file`` (``password``, if set,
is then the key's passphrase and a fallback) or by ``password``.  The file is written
as ``.NAME.tmp``, its size checked on the server, then renamed over ``NAME`` with the
``posix-rename@openssh.com`` extension (overwriting an existing file).

Listing (``cbx-export audit``): ``listdir_iter`` of the directory (read ahead in
batches, filtered by the prefix as it arrives: memory holds the matches only);
``stat`` gives the size.  SFTP gives no checksum.

Options: ``host``, ``port`` (22), ``user``, ``password``, ``key_file``, ``directory``,
``known_hosts``, ``timeout`` (60 s: TCP connect, SSH banner/auth, every SFTP request).

Classification: connection refused, timeouts, resets, server-side failures (disk full)
temporary; unknown/changed host key, rejected credentials, missing directory and
permission denied permanent.
"""

import errno
import logging
import os
import socket
import stat as statmod

from pycstbox.export.atomic import is_temp_name
from pycstbox.export.transports import RemoteFile, Transport, temp_name

log = logging.getLogger(__name__)

SYSTEM_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts'


def default_known_hosts():
    """The known_hosts files used when none is configured (those that exist)."""
    candidates = [os.path.expanduser('~/.ssh/known_hosts'), SYSTEM_KNOWN_HOSTS]
    return [p for p in candidates if os.path.isfile(p)]


class SftpTransport(Transport):
    """Upload files with SFTP (see the module docstring)."""

    type = 'sftp'

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.host = str(self.opt('host', ''))
        self.port = int(self.opt('port', 22))
        self.user = str(self.opt('user', 'root'))
        self.key_file = self.opt('key_file', '')
        self.directory = str(self.opt('directory', ''))
        self.timeout = float(self.opt('timeout', 60))
        known = self.opt('known_hosts', '')
        self.known_hosts = [os.path.expanduser(known)] if known else default_known_hosts()

    def _hostname(self):
        return self.host if self.port == 22 else '[%s]:%d' % (self.host, self.port)

    def permanent_target(self, msg):
        """Every refusal of this transport is about the target (host, keys, login, directory
        rights): the target is held, not each file dead-lettered (errors.py)."""
        return self.permanent(msg, scope='target')

    def _accept_hint(self):
        dest = self.known_hosts[0] if self.known_hosts else os.path.expanduser(
            '~/.ssh/known_hosts')
        return ('check the key fingerprint with the server administrator, then accept it '
                'with: ssh-keyscan -p %d %s >> %s' % (self.port, self.host, dest))

    def _connect(self):
        paramiko = self.require('paramiko', 'python3-paramiko')
        if not self.host:
            raise self.permanent_target('no host configured')
        transport = self

        class Reject(paramiko.MissingHostKeyPolicy):
            def missing_host_key(self, client, hostname, key):
                raise transport.permanent_target(
                    'the host key of %s (%s %s) is not in %s: %s' % (
                        hostname, key.get_name(), _fingerprint(key),
                        ' or '.join(transport.known_hosts) or 'any known_hosts file',
                        transport._accept_hint()))

        for path in self.known_hosts:
            if not os.path.isfile(path):
                raise self.permanent_target('known_hosts file %s does not exist: %s'
                                     % (path, self._accept_hint()))
        client = paramiko.SSHClient()
        try:
            for path in self.known_hosts:
                client.load_host_keys(path)
            client.set_missing_host_key_policy(Reject())
            password = self.options.get('password') or None
            client.connect(self.host, self.port, username=self.user, password=password,
                           key_filename=self.key_file or None, passphrase=password,
                           timeout=self.timeout, banner_timeout=self.timeout,
                           auth_timeout=self.timeout, allow_agent=False,
                           look_for_keys=False)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.timeout)
            if self.directory:
                sftp.chdir(self.directory)
        except BaseException:
            client.close()
            raise
        return client, sftp

    def _error(self, exc, what):
        """Translate a paramiko/socket/SFTP error into Temporary/PermanentError."""
        import paramiko  # already imported by _connect
        where = '%s on %s@%s:%d' % (what, self.user, self.host, self.port)
        if isinstance(exc, paramiko.BadHostKeyException):
            return self.permanent_target(
                '%s: the host key CHANGED (got %s %s): if the server was reinstalled, remove '
                'the old key with: ssh-keygen -R "%s" -f %s; then %s' % (
                    where, exc.key.get_name(), _fingerprint(exc.key), self._hostname(),
                    self.known_hosts[0] if self.known_hosts else '~/.ssh/known_hosts',
                    self._accept_hint()))
        if isinstance(exc, paramiko.AuthenticationException):
            return self.permanent_target('%s: authentication refused: check user, '
                                         'password_file or key_file (its public key must be '
                                         'in the account\'s authorized_keys)' % where)
        if isinstance(exc, (paramiko.PasswordRequiredException, paramiko.SSHException)
                      ) and 'private key file' in str(exc).lower():
            return self.permanent_target('%s: cannot use key_file %s: %s'
                                         % (where, self.key_file, exc))
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return self.temporary('%s: no answer within %g s (will retry)'
                                  % (where, self.timeout))
        if isinstance(exc, FileNotFoundError) and exc.filename == self.key_file:
            return self.permanent_target('%s: key_file %s does not exist'
                                         % (where, self.key_file))
        if isinstance(exc, IOError) and exc.errno in (errno.ENOENT, errno.EACCES):
            reason = {errno.ENOENT: 'no such file or directory: check directory',
                      errno.EACCES: 'permission denied: give the account write access to '
                                    'the directory'}[exc.errno]
            if not isinstance(exc, ConnectionError):
                return self.permanent_target('%s: %s' % (where, reason))
        reason = getattr(exc, 'strerror', None) or str(exc) or type(exc).__name__
        return self.temporary('%s: %s (will retry)' % (where, ' '.join(str(reason).split())))

    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Upload ``path`` as ``.NAME.tmp``, check its size, rename it to ``NAME``."""
        tmp = temp_name(name)
        with self.open_source(path) as src:
            size = os.fstat(src.fileno()).st_size
            client = None
            try:
                client, sftp = self._connect()
                try:
                    sftp.putfo(src, tmp, file_size=size, confirm=True)
                    try:
                        sftp.posix_rename(tmp, name)
                    except IOError as exc:
                        if 'unsupported' not in str(exc).lower():
                            raise
                        _remove_quietly(sftp, name)
                        sftp.rename(tmp, name)
                except (IOError, OSError):
                    _remove_quietly(sftp, tmp)
                    raise
            except self._errors() as exc:
                raise self._error(exc, 'upload of %s' % name) from exc
            finally:
                if client is not None:
                    client.close()
        log.debug('target %s: %s uploaded to %s:%d', self.name, name, self.host, self.port)

    def listing(self, prefix=''):
        """:class:`RemoteFile` (name, size) of the files whose name starts with ``prefix``."""
        client = None
        out = []
        try:
            client, sftp = self._connect()
            for attr in sftp.listdir_iter('.'):
                name = attr.filename
                if (name.startswith(prefix) and not is_temp_name(name)
                        and statmod.S_ISREG(attr.st_mode or 0)):
                    out.append(RemoteFile(name, attr.st_size))
        except self._errors() as exc:
            raise self._error(exc, 'listing') from exc
        finally:
            if client is not None:
                client.close()
        yield from out

    def stat(self, key):
        """:class:`RemoteFile` (name, size) of ``key``, None when absent."""
        client = None
        try:
            client, sftp = self._connect()
            try:
                attr = sftp.stat(key)
            except FileNotFoundError:
                return None
        except self._errors() as exc:
            raise self._error(exc, 'stat of %s' % key) from exc
        finally:
            if client is not None:
                client.close()
        return RemoteFile(key, attr.st_size)

    def check(self):
        """Log in, change to the directory, create and remove an empty probe file."""
        probe = temp_name('cbx-export-check.%d' % os.getpid())
        client = None
        try:
            client, sftp = self._connect()
            with sftp.open(probe, 'wb'):
                pass
            sftp.remove(probe)
        except self._errors() as exc:
            raise self._error(exc, 'check') from exc
        finally:
            if client is not None:
                client.close()

    def _errors(self):
        paramiko = self.require('paramiko', 'python3-paramiko')
        return (paramiko.SSHException, OSError, EOFError)


def _fingerprint(key):
    import base64
    import hashlib
    digest = hashlib.sha256(key.asbytes()).digest()
    return 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')


def _remove_quietly(sftp, name):
    try:
        sftp.remove(name)
    except (IOError, OSError, EOFError):
        pass


TRANSPORT = SftpTransport
