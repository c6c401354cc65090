"""``ftp`` transport: upload with ``ftplib``, optionally over explicit TLS (FTPS).

The file is stored as ``.NAME.tmp`` then renamed to ``NAME`` (when the server refuses to
rename over an existing file, the old file is deleted first and the rename retried);
the ``SIZE`` of the result is compared to the local size when the server supports it.

Options: ``host``, ``port`` (21), ``user``, ``password``, ``directory`` (cwd after
login), ``tls`` (False: explicit ``AUTH TLS`` with a protected data channel when True),
``passive`` (True), ``timeout`` (60 s, every socket operation), ``verify`` (not in the
config schema: True by default; a CA bundle path may be given; ``SSL_CERT_FILE`` is
honoured by the system default too).

Listing (``cbx-export audit``): ``MLSD`` of the directory (names, types, sizes),
read line by line and filtered by the prefix as it arrives; servers without ``MLSD``
are listed with ``NLST`` then one ``SIZE`` per matching name.  FTP gives no checksum.

Classification: 4xx replies and socket errors temporary; 5xx permanent, except 552
(storage full) temporary; TLS certificate verification failures permanent.

A name with control characters (CR/LF would end the command line) or bytes that are not
UTF-8 is stored under its encoded form (``%NN``, :func:`.filename.wire_name`).
"""

import ftplib
import logging
import os
import ssl

from pycstbox.export.atomic import is_temp_name
from pycstbox.export.transports import RemoteFile, Transport, temp_name
from pycstbox.export.transports.filename import printable, wire_name

log = logging.getLogger(__name__)

BLOCK = 256 * 1024

_HINTS = {
    '530': 'login refused: check user and password_file',
    '550': 'file or directory unavailable: check directory and the account\'s write rights',
    '553': 'file name not allowed: check directory and the account\'s write rights',
    '552': 'storage full on the server (will retry)',
    '532': 'the server needs an account for storing files',
}


class FtpTransport(Transport):
    """Upload files to an FTP or FTPS server (see the module docstring)."""

    type = 'ftp'

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.host = str(self.opt('host', ''))
        self.port = int(self.opt('port', 21))
        self.user = str(self.opt('user', 'anonymous'))
        self.directory = str(self.opt('directory', ''))
        self.tls = bool(self.opt('tls', False))
        self.passive = bool(self.options.get('passive', True) is not False)
        self.timeout = float(self.opt('timeout', 60))
        self.verify = self.options.get('verify', True)

    def _where(self):
        return '%s:%d' % (self.host, self.port)

    def _context(self):
        ctx = ssl.create_default_context()
        if isinstance(self.verify, str) and self.verify:
            if not os.path.exists(self.verify):
                raise self.permanent('CA bundle %s (verify) does not exist' % self.verify,
                                     scope='target')
            ctx.load_verify_locations(self.verify)
        elif self.verify is False:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self):
        if not self.host:
            raise self.permanent('no host configured', scope='target')
        ftp = (_FtpTls(context=self._context(), timeout=self.timeout) if self.tls
               else ftplib.FTP(timeout=self.timeout))
        try:
            ftp.connect(self.host, self.port)
            ftp.login(self.user, self.options.get('password') or '')
            if self.tls:
                ftp.prot_p()
            ftp.set_pasv(self.passive)
            if self.directory:
                ftp.cwd(self.directory)
        except BaseException:
            _quit(ftp)
            raise
        return ftp

    def _error(self, exc, what):
        """Translate an ftplib/socket/ssl error into Temporary/PermanentError."""
        where = '%s on %s' % (what, self._where())
        if isinstance(exc, ftplib.error_perm):
            reply = ' '.join(str(exc).split())[:200]
            code = reply[:3]
            hint = _HINTS.get(code, 'the server refused it')
            msg = '%s: %s: %s' % (where, reply, hint)
            if code == '552':
                return self.temporary(msg)
            # login refused or an account needed: the target itself refuses everything
            return self.permanent(msg, scope='target' if code in ('530', '532', '332')
                                  else 'file')
        if isinstance(exc, ftplib.error_temp):
            return self.temporary('%s: %s (will retry)' % (where, ' '.join(str(exc).split())))
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self.permanent('%s: TLS certificate could not be verified (%s): install '
                                  'the server\'s CA in the system store or fix host'
                                  % (where, exc.verify_message), scope='target')
        if isinstance(exc, (ftplib.error_reply, ftplib.error_proto, EOFError)):
            return self.temporary('%s: unexpected answer: %s (will retry)' % (where, exc))
        if isinstance(exc, TimeoutError):
            return self.temporary('%s: no answer within %g s (will retry)'
                                  % (where, self.timeout))
        reason = getattr(exc, 'strerror', None) or str(exc) or type(exc).__name__
        return self.temporary('%s: %s (will retry)' % (where, reason))

    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Upload ``path`` as ``.NAME.tmp``, rename it to ``NAME``, compare the size."""
        shown = printable(name)
        name = wire_name(name)       # an FTP command is one line of UTF-8
        tmp = temp_name(name)
        with self.open_source(path) as src:
            size = os.fstat(src.fileno()).st_size
            ftp = None
            try:
                ftp = self._connect()
                try:
                    ftp.storbinary('STOR ' + tmp, src, blocksize=BLOCK)
                    self._rename(ftp, tmp, name)
                except ftplib.Error:   # the control connection still works: clean up
                    _delete_quietly(ftp, tmp)
                    raise
                self._verify_size(ftp, name, size)
            except (ftplib.all_errors + (EOFError,)) as exc:
                raise self._error(exc, 'upload of %s' % shown) from exc
            finally:
                _quit(ftp)
        log.debug('target %s: %s uploaded to %s', self.name, shown, self._where())

    def _rename(self, ftp, tmp, name):
        try:
            ftp.rename(tmp, name)
        except ftplib.error_perm:
            # some servers refuse to rename over an existing file
            try:
                ftp.delete(name)
            except ftplib.error_perm:
                pass
            ftp.rename(tmp, name)

    def _verify_size(self, ftp, name, size):
        try:
            remote = ftp.size(name)
        except ftplib.error_perm:   # SIZE not supported
            return
        if remote is not None and remote != size:
            raise ftplib.error_temp('451 %s has %d bytes on the server instead of %d'
                                    % (name, remote, size))

    def listing(self, prefix=''):
        """:class:`RemoteFile` (name, size) of the files whose name starts with ``prefix``."""
        ftp = None
        try:
            ftp = self._connect()
            try:
                files = _mlsd(ftp, prefix)
            except ftplib.error_perm as exc:
                if str(exc)[:3] not in ('500', '501', '502', '504'):
                    raise
                files = _nlst_size(ftp, prefix)    # no MLSD on this server
        except (ftplib.all_errors + (EOFError,)) as exc:
            raise self._error(exc, 'listing') from exc
        finally:
            _quit(ftp)
        yield from files

    def stat(self, key):
        """:class:`RemoteFile` (name, size) of ``key``, None when absent."""
        ftp = None
        try:
            ftp = self._connect()
            ftp.voidcmd('TYPE I')             # SIZE is refused in ASCII mode by some servers
            try:
                size = ftp.size(key)
            except ftplib.error_perm as exc:
                if str(exc)[:3] == '550':
                    return None
                raise
        except (ftplib.all_errors + (EOFError,)) as exc:
            raise self._error(exc, 'size of %s' % key) from exc
        finally:
            _quit(ftp)
        return RemoteFile(key, size if size is not None else -1)

    def check(self):
        """Log in, change to the directory, store and delete an empty probe file."""
        ftp = None
        probe = temp_name('cbx-export-check.%d' % os.getpid())
        try:
            ftp = self._connect()
            ftp.storbinary('STOR ' + probe, _Empty())
            ftp.delete(probe)
        except (ftplib.all_errors + (EOFError,)) as exc:
            if ftp is not None and isinstance(exc, ftplib.Error):
                _delete_quietly(ftp, probe)
            raise self._error(exc, 'check') from exc
        finally:
            _quit(ftp)


def _mlsd(ftp, prefix):
    """Files of the current directory from MLSD, kept only when they match ``prefix``."""
    out = []

    def line(text):
        facts_text, _, name = text.partition(' ')
        if not name.startswith(prefix) or is_temp_name(name):
            return
        facts = {}
        for fact in facts_text.rstrip(';').split(';'):
            key, _, value = fact.partition('=')
            facts[key.lower()] = value
        if facts.get('type', '').lower() == 'file':
            try:
                size = int(facts.get('size', -1))
            except ValueError:
                size = -1
            out.append(RemoteFile(name, size))
    ftp.retrlines('MLSD', line)
    return out


def _nlst_size(ftp, prefix):
    """Files matching ``prefix`` from NLST, each sized with SIZE (directories have none)."""
    names = []

    def line(text):
        name = text.rsplit('/', 1)[-1]
        if name.startswith(prefix) and not is_temp_name(name):
            names.append(name)
    ftp.retrlines('NLST', line)
    ftp.voidcmd('TYPE I')
    out = []
    for name in names:
        try:
            out.append(RemoteFile(name, ftp.size(name)))
        except ftplib.error_perm:       # a directory, or gone meanwhile
            continue
    return out


class _FtpTls(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session.

    Servers such as vsftpd (``require_ssl_reuse=YES``, its default) refuse data
    connections that do not, to be sure that both come from the same client.
    """

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


class _Empty:
    def read(self, size=-1):
        return b''


def _delete_quietly(ftp, name):
    try:
        ftp.delete(name)
    except (ftplib.all_errors + (EOFError,)):
        pass


def _quit(ftp):
    if ftp is None:
        return
    if ftp.sock is not None:
        try:
            ftp.quit()
        except (ftplib.all_errors + (EOFError,)):
            pass
    ftp.close()


TRANSPORT = FtpTransport
