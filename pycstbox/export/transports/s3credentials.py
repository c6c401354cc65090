"""The credentials of an ``s3`` target, looked for where AWS tools look for them.

In this order (the first complete set wins):

1. the target's configuration: ``access_key_id`` with ``secret_access_key(_file)`` (and
   ``session_token(_file)``; those files are read again when they change, like the shared
   files below);
2. with ``profile`` set in the target: that profile of the AWS shared files only;
3. the environment: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``;
4. the AWS shared files: ``AWS_SHARED_CREDENTIALS_FILE`` (else ``~/.aws/credentials``,
   section ``[NAME]``), then ``AWS_CONFIG_FILE`` (else ``~/.aws/config``, section
   ``[profile NAME]``, ``[default]``), profile ``AWS_PROFILE`` else ``default``; keys
   ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``.

The shared files are read again when one of them changes (inode, size or modification
time, checked before each request): keys rotated by a tool land without a restart.
When nothing is found, :class:`MissingCredentials` names every place looked at.
Secrets are never in a message nor a repr.
"""

import configparser
import logging
import os
from typing import NamedTuple

log = logging.getLogger(__name__)


class MissingCredentials(Exception):
    """No complete set of credentials anywhere (the message says where it looked)."""


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str
    source: str                 # where they came from (no secret)

    def __repr__(self):
        return '<Credentials %s from %s>' % (self.access_key, self.source)


def _stamp(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class CredentialChain:
    """``get()`` -> :class:`Credentials` (see the module docstring)."""

    def __init__(self, access_key='', secret_key='', token='', profile='', environ=None,
                 secret_file='', token_file=''):
        self._config = (access_key, secret_key or '', token or '')
        self._config_files = (secret_file or '', token_file or '')
        self._config_stamps = None
        self.profile = profile
        self.environ = os.environ if environ is None else environ
        self._stamps = None
        self._shared = None                 # Credentials from the shared files, or the error
        self.last = None                    # the last Credentials handed out

    def get(self):
        """The credentials to sign the next request with.

        :raises MissingCredentials: none found (the message names where it looked)
        """
        if self._config[0] and any(self._config_files):
            self._reread_config_files()
        ak, sk, token = self._config
        if ak:
            creds = Credentials(ak, sk, token, 'the target configuration')
        elif not self.profile and self.environ.get('AWS_ACCESS_KEY_ID'):
            creds = self._from_environ()
        else:
            creds = self._from_files()
        self.last = creds
        return creds

    def secrets(self):
        """The secret values handed out so far (to scrub them from messages)."""
        c = self.last
        return [s for s in (c.secret_key, c.token) if s] if c else []

    def _reread_config_files(self):
        """The secret (and token) files of the configuration, read again when changed."""
        stamps = tuple(_stamp(f) if f else None for f in self._config_files)
        if stamps == self._config_stamps:
            return
        values = list(self._config[1:])
        for i, path in enumerate(self._config_files):
            if not path:
                continue
            try:
                with open(path, encoding='utf-8') as f:
                    values[i] = f.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise MissingCredentials('cannot read %s: %s' % (
                    path, getattr(exc, 'strerror', None) or 'not UTF-8 text')) from None
        if not values[0]:
            raise MissingCredentials('%s is empty: write the secret access key into it'
                                     % self._config_files[0])
        if self._config_stamps is not None:
            log.info('%s changed: signing with its new content', ' / '.join(
                f for f in self._config_files if f))
        self._config = (self._config[0], values[0], values[1])
        self._config_stamps = stamps

    def _from_environ(self):
        env = self.environ
        sk = env.get('AWS_SECRET_ACCESS_KEY', '')
        if not sk:
            raise MissingCredentials(
                'the environment sets AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY: set '
                'both, or neither')
        return Credentials(env['AWS_ACCESS_KEY_ID'], sk, env.get('AWS_SESSION_TOKEN', ''),
                           'the environment (AWS_ACCESS_KEY_ID)')

    # -- the shared files ------------------------------------------------------------
    def files(self):
        """(credentials file, config file, profile) as the environment names them."""
        env = self.environ
        home = os.path.expanduser('~')
        return (os.path.expanduser(env.get('AWS_SHARED_CREDENTIALS_FILE') or
                                   os.path.join(home, '.aws', 'credentials')),
                os.path.expanduser(env.get('AWS_CONFIG_FILE') or
                                   os.path.join(home, '.aws', 'config')),
                self.profile or env.get('AWS_PROFILE') or 'default')

    def _from_files(self):
        cfile, kfile, profile = self.files()
        stamps = (cfile, _stamp(cfile), kfile, _stamp(kfile), profile)
        if stamps != self._stamps:
            if self._stamps is not None:
                log.info('AWS shared files changed: reading the credentials of profile %s '
                         'again', profile)
            self._stamps = stamps
            try:
                self._shared = _read_shared(cfile, kfile, profile)
            except MissingCredentials as exc:
                self._shared = exc
        if isinstance(self._shared, MissingCredentials):
            if self.profile:
                raise self._shared
            raise MissingCredentials(
                'no S3 credentials: none in the target configuration (access_key_id, '
                'secret_access_key_file), none in the environment (AWS_ACCESS_KEY_ID, '
                'AWS_SECRET_ACCESS_KEY), and %s' % self._shared)
        return self._shared


def _section(path, name):
    """The ``name`` section of the INI file ``path`` (a dict), None when absent."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        with open(path, encoding='utf-8') as f:
            parser.read_file(f)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        why = getattr(exc, 'strerror', None) or str(exc).splitlines()[0]
        raise MissingCredentials('cannot read %s: %s' % (path, why)) from None
    return dict(parser.items(name)) if parser.has_section(name) else None


def _read_shared(cfile, kfile, profile):
    """Credentials of ``profile`` in the credentials file, else in the config file."""
    looked = [(cfile, profile), (kfile, 'profile ' + profile), (kfile, profile)]
    for path, section in looked:
        sec = _section(path, section)
        if sec is None:
            continue
        ak = sec.get('aws_access_key_id', '').strip()
        sk = sec.get('aws_secret_access_key', '').strip()
        if ak and sk:
            return Credentials(ak, sk, sec.get('aws_session_token', '').strip(),
                               '%s [%s]' % (path, section))
        if ak or sk:
            raise MissingCredentials(
                '%s [%s] has %s but not %s: complete it' % (
                    path, section, 'aws_access_key_id' if ak else 'aws_secret_access_key',
                    'aws_secret_access_key' if ak else 'aws_access_key_id'))
    raise MissingCredentials(
        'profile %s is in none of %s (set access_key_id and secret_access_key_file in the '
        'target, or write the profile into %s)'
        % (profile, ', '.join('%s [%s]' % ps for ps in looked), cfile))
