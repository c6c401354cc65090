"""``s3`` transport: objects in an S3-compatible store (AWS S3, MinIO, Ceph RGW, SeaweedFS).

DESIGN.md section 11.  Virtual-hosted-style (``<bucket>.<endpoint host>/<key>``, AWS's
default) or path-style (``<endpoint>/<bucket>/<key>``) requests (:mod:`.s3address`), signed
with AWS Signature Version 4 (:mod:`.sigv4`, no boto3) with the credentials of the config,
the environment or the AWS shared files (:mod:`.s3credentials`); ``requests`` is imported
lazily.  One connection is kept across the requests of a run or lane (:mod:`.keepalive`);
a request that fails on a reused connection before any answer goes once more on a new one.

- Objects carry a Content-Type per format, the storage class, server-side encryption and
  ``x-amz-meta-*`` (window, events, SHA-256, exporter version): :mod:`.s3object`.
- Key: ``key`` template (default ``{prefix}site={site}/job={job}/date={date}/{name}``,
  Hive-style partitions); ``{date}`` is the window start's date in the configured time
  zone (today's for outbox files).  The same window always lands on the same key.
- Below ``multipart_threshold`` one PUT with ``x-amz-checksum-sha256`` of the file (and
  ``x-amz-sdk-checksum-algorithm: SHA256``, without which some stores neither keep nor
  verify it);
  above, a multipart upload declaring ``x-amz-checksum-algorithm: SHA256``, each part
  read from the file when it is sent, with its own checksum (the object then holds the
  composite checksum ``base64(sha256(part digests))-N``); any failure aborts the upload
  (best effort).  Hashes are computed from the staged file, a chunk at a time.
- Our checksum is the truth (:mod:`.s3checksum`): a store answering another one has not
  stored our bytes (temporary failure); the Delivery carries ours when the store
  confirmed it, '' when it gave none; the store's value is never adopted.
- ``overwrite = false``: ``If-None-Match: *``; a 412 counts as delivered only when the
  stored object's checksum equals ours (like for like; GET and hash when the store keeps
  none), otherwise it is a permanent conflict and the stored object is left untouched.
- Every request has an overall deadline (``connect_timeout + 2 x timeout`` plus its
  body at 4 KiB/s): a receiver that drips or never answers cannot hang a run.
- Classification (:mod:`.s3error`): 403, NoSuchBucket, 400 other than BadDigest ->
  permanent; RequestTimeTooSkewed (names the box clock), 5xx, SlowDown, BadDigest,
  refused, reset, timeouts -> temporary.
- ``secret_access_key`` and ``session_token`` (wherever they come from) never appear in
  logs, errors or repr.
"""

import base64
import hashlib
import logging
import os
import uuid

from pycstbox.export.transports import Delivery, RemoteFile, Transport
from pycstbox.export.transports import s3error, s3object, s3wire, sigv4
from pycstbox.export.transports.deadline import Deadline
from pycstbox.export.transports.keepalive import KeptSession
from pycstbox.export.transports.s3address import Address
from pycstbox.export.transports.s3credentials import CredentialChain, MissingCredentials
from pycstbox.export.transports.filename import printable, wire_name

log = logging.getLogger(__name__)

DEFAULT_KEY = '{prefix}site={site}/job={job}/date={date}/{name}'
MiB = 1024 * 1024
MIN_RATE = 4096          # bytes/s counted in a request's deadline


def _size(value, default):
    """Bytes (the configuration has already turned "64MiB" into an int)."""
    return default if value is None or value == '' else int(value)


def b64(digest):
    return base64.b64encode(digest).decode('ascii')


class S3Transport(Transport):
    """Upload files as objects of an S3 bucket (see the module docstring)."""

    type = 's3'
    secret_keys = ('secret_access_key', 'session_token')
    #: keys per ListObjectsV2 page
    page_size = 1000

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.endpoint = str(self.opt('endpoint', '')).rstrip('/')
        self.region = str(self.opt('region', 'us-east-1'))
        self.bucket = str(self.opt('bucket', ''))
        self.address = Address(self.endpoint, self.bucket, str(self.opt('addressing', '')))
        self.host = self.address.host
        self.prefix = str(self.opt('prefix', ''))
        self.key_template = str(self.opt('key', DEFAULT_KEY))
        self.access_key = str(self.opt('access_key_id', ''))
        self.credentials = CredentialChain(
            self.access_key, self.options.get('secret_access_key') or '',
            self.options.get('session_token') or '', str(self.opt('profile', '')),
            secret_file=self.options.get('secret_access_key_file') or '',
            token_file=self.options.get('session_token_file') or '')
        verify = self.options.get('verify', True)
        self.verify = True if verify is None or verify == '' else verify
        self.timeout = float(self.opt('timeout', 60))
        self.connect_timeout = float(self.opt('connect_timeout', 10))
        self.threshold = _size(self.options.get('multipart_threshold'), 64 * MiB)
        self.part_size = _size(self.options.get('part_size'), 8 * MiB)
        self.overwrite = bool(self.options.get('overwrite', True))
        self.err = s3error.Classifier(self)
        self.kept = KeptSession()

    # -- keys ----------------------------------------------------------------------
    def remote_key(self, name, *, job='', start=None):
        """The object key of ``name`` (relative to the bucket)."""
        return self.key_template.format(prefix=self.prefix, site=self.site, job=job or '',
                                        date=self.window_date(start), name=wire_name(name))

    def _path(self, key=''):
        return self.address.path(key)

    def scrub(self, text):
        """``text`` without any secret, including those from the environment or files."""
        text = Transport.scrub(self, text)
        for secret in self.credentials.secrets():
            text = text.replace(secret, '***')
        return text

    def _signed(self, method, key, params, headers, payload):
        """The headers of a request, signed with the current credentials."""
        try:
            creds = self.credentials.get()
        except MissingCredentials as exc:
            raise self.temporary('%s (will retry)' % exc) from exc
        return sigv4.sign_headers(
            method, self._path(key), list(params), dict(headers or {}), payload,
            host=self.host, access_key=creds.access_key, secret_key=creds.secret_key,
            region=self.region, session_token=creds.token)

    # -- one request ---------------------------------------------------------------
    def request(self, method, key='', *, params=(), headers=None, body=None, payload=None,
                what='request', ok=(200,), sink=None, expect=0):
        """A signed request: (status, headers, body excerpt).

        :param body: bytes or a :class:`s3wire.FileRange`; ``payload`` its hex SHA-256
        :param sink: called with each chunk of a successful answer's whole body (GET),
            ``expect`` its expected size (counted in the deadline)
        :raises TemporaryError, PermanentError: any answer not in ``ok``
        """
        requests = self.require('requests', 'python3-requests')
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise self.permanent('CA bundle %s (verify) does not exist: fix verify in the '
                                 'target configuration' % self.verify, scope='target')
        body = b'' if body is None else body
        if payload is None:
            payload = hashlib.sha256(body).hexdigest()
        signed = self._signed(method, key, params, headers, payload)
        if len(body):
            signed['Content-Length'] = str(len(body))
        url = self.address.url(key, params)
        with Deadline(self.connect_timeout + 2 * self.timeout
                      + (len(body) + expect) / MIN_RATE) as deadline:
            if isinstance(body, s3wire.FileRange):
                body.deadline = deadline
            for again in (True, False):
                opened = self.kept.connections
                session = self.kept.open(deadline)
                reused = self.kept.live
                fine = False
                try:
                    resp = session.request(method, url, data=body if len(body) else None,
                                           headers=signed, stream=True, allow_redirects=False,
                                           timeout=(self.connect_timeout, self.timeout),
                                           verify=self.verify)
                    if resp.status_code in ok and sink is not None:
                        with resp:
                            for chunk in resp.iter_content(s3wire.CHUNK):
                                if deadline.expired:
                                    raise TimeoutError('deadline passed')
                                sink(chunk)
                        excerpt = b''
                    else:
                        excerpt = s3wire.read_excerpt(resp)
                    fine = True
                    break
                except requests.exceptions.ConnectionError as exc:
                    if not (again and reused and self.kept.connections == opened
                            and not deadline.expired
                            and not isinstance(exc, requests.exceptions.ConnectTimeout)):
                        raise self.err.exception(exc, what, deadline) from exc
                    log.debug('target %s: %s: the kept connection was closed by the store; '
                              'once more on a new one', self.name, what)
                except (requests.exceptions.RequestException, OSError) as exc:
                    raise self.err.exception(exc, what, deadline) from exc
                finally:
                    self.kept.done(fine)
        if resp.status_code not in ok:
            raise self.err.answer(resp.status_code, resp.headers, excerpt, what)
        return resp.status_code, resp.headers, excerpt

    # -- send ----------------------------------------------------------------------
    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Upload ``path`` as the object ``remote_key(name)``; :returns: a Delivery.

        :param meta: what the object's ``x-amz-meta-*`` say: ``start``, ``end`` (the window),
            ``events``, ``sha256`` (hex of the file; computed here when absent)
        """
        okey = self.remote_key(name, job=job, start=start)
        what = 'upload of %s' % printable(okey)
        with self.open_source(path) as src:
            fd = src.fileno()
            size = os.fstat(fd).st_size
            if size <= self.threshold:
                checksum = self._put(fd, size, okey, what, name, meta)
            else:
                from pycstbox.export.transports.s3multipart import upload
                sha = (meta or {}).get('sha256') or hash_range(fd, 0, size).hex()
                checksum = upload(self, fd, size, okey, what,
                                  s3object.object_headers(name, self.options, meta, sha))
        log.debug('target %s: %s delivered (%d bytes, sha256 %s)', self.name, printable(okey),
                  size, checksum)
        return Delivery(okey, checksum)

    def _put(self, fd, size, okey, what, name='', meta=None):
        digest = hash_range(fd, 0, size)
        checksum = b64(digest)
        headers = {'x-amz-checksum-sha256': checksum, 'x-amz-sdk-checksum-algorithm': 'SHA256',
                   'Content-Type': 'application/octet-stream'}
        headers.update(s3object.object_headers(name or okey, self.options, meta, digest.hex()))
        if not self.overwrite:
            headers['If-None-Match'] = '*'
        status, rh, _ = self.request('PUT', okey, headers=headers,
                                     body=s3wire.FileRange(fd, 0, size), payload=digest.hex(),
                                     what=what, ok=(200, 201, 412))
        if status == 412:
            return self.existing(fd, size, okey, checksum, what)
        return self.confirmed(checksum, rh.get('x-amz-checksum-sha256'), checksum, what)

    def existing(self, fd, size, okey, checksum, what):
        """After a 412: our checksum of the stored object's form when it holds our bytes
        ('' when the store keeps none), else permanent."""
        from pycstbox.export.transports.s3multipart import same_object
        stored = same_object(self, fd, size, okey, checksum)
        if stored is None:
            raise self.permanent(
                '%s: an object with different content already exists under this key (and '
                'overwrite = false): it was left untouched; move it away or set overwrite = '
                'true' % what)
        log.info('target %s: %s already stored with the same content', self.name,
                 printable(okey))
        return stored

    def confirmed(self, ours, theirs, full, what):
        """Our checksum once the store's answer agrees ('' when it gave none); raises."""
        return _confirmed(self, ours, theirs, full, what)

    # -- listing -------------------------------------------------------------------
    def stat(self, key):
        """HEAD with checksum mode: a RemoteFile (checksum when stored), None if absent."""
        status, h, _ = self.request('HEAD', key, headers={'x-amz-checksum-mode': 'ENABLED'},
                                    what='HEAD of %s' % printable(key), ok=(200, 404))
        if status == 404:
            return None
        return RemoteFile(key, int(h.get('Content-Length') or 0), '',
                          h.get('x-amz-checksum-sha256') or '')

    def listing(self, prefix=''):
        """Paged ListObjectsV2 under ``prefix`` (1,000 keys a page), each page read whole
        and checked (:mod:`.s3listing`): RemoteFile per object."""
        from pycstbox.export.transports.s3listing import listing
        return listing(self, prefix)

    # -- check ---------------------------------------------------------------------
    def check(self):
        """Credentials, bucket, and a zero-byte probe object under the prefix (deleted)."""
        probe = '%s.cbx-export-probe-%s' % (self.prefix, uuid.uuid4().hex[:12])
        where = self.prefix or '/'
        self.request('PUT', probe,
                     headers=dict(s3object.storage_headers(self.options),
                                  **{'x-amz-checksum-sha256': b64(hashlib.sha256(b'').digest())}),
                     what='cannot write under %s in bucket %s (probe object %s)'
                     % (where, self.bucket, probe))
        try:
            self.request('DELETE', probe, what='check (delete of probe %s)' % probe,
                         ok=(200, 204))
        except Exception as exc:  # pylint: disable=broad-except  # leftover probe: say so
            log.warning('target %s: could not delete the probe object %s: %s', self.name,
                        probe, exc)

    def close(self):
        """Close the kept connection (idempotent; the next request opens a new one)."""
        self.kept.close()

    def __repr__(self):
        return '<S3Transport s3 target=%r endpoint=%r bucket=%r>' % (
            self.name, self.endpoint, self.bucket)


def _confirmed(t, ours, theirs, full, what):
    """Our checksum once the store's answer ``theirs`` agrees with it ('' when the store
    gave none); a store naming other bytes has not stored ours: temporary failure."""
    from pycstbox.export.transports.s3checksum import same
    verdict = same(ours, theirs or '', full)
    if verdict is False:
        raise t.temporary('%s: the store answered checksum %s, ours is %s: it has not stored '
                          'the bytes sent (will retry)' % (what, printable(theirs)[:80], ours))
    return ours if verdict else ''


def hash_range(fd, offset, length):
    """SHA-256 digest of ``length`` bytes of ``fd`` from ``offset``, a chunk at a time."""
    h = hashlib.sha256()
    for chunk in s3wire.FileRange(fd, offset, length):
        h.update(chunk)
    return h.digest()


TRANSPORT = S3Transport
