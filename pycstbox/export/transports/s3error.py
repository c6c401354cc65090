"""Classification of the ``s3`` transport's failures (DESIGN.md section 11).

Permanent (a person must act): 403 (SignatureDoesNotMatch, InvalidAccessKeyId,
AccessDenied), 404 NoSuchBucket, 400 other than BadDigest, other 4xx, redirects,
TLS verification failures.  Temporary (retried at the next slot): RequestTimeTooSkewed
(its message names the box clock and says to set the time), BadDigest, 408, 409, 429,
5xx (503 SlowDown), NoSuchUpload, InvalidPart (at completion: the parts are sent
again), refused, reset, timeouts, a passed deadline.
Every message names the operation, the HTTP status, the S3 code and what to do.
"""

import time

from pycstbox.export.transports.s3wire import error_fields

_HINTS = {
    'SignatureDoesNotMatch': 'the store refused the signature: check secret_access_key '
                             '(or secret_access_key_file) and region',
    'InvalidAccessKeyId': 'the store does not know this access key: check access_key_id',
    'AccessDenied': 'access denied: the identity may not do this under this key; check its '
                    'permissions in the store and the prefix/key of the target',
    'NoSuchBucket': 'the bucket does not exist: create it or fix bucket',
    'AuthorizationHeaderMalformed': 'check region (the store expects another one)',
    'ExpiredToken': 'the session token has expired: renew session_token(_file)',
    'InvalidToken': 'the session token is invalid: renew session_token(_file)',
    'EntityTooLarge': 'the file is too large for the store: lower part_size / '
                      'multipart_threshold, or the job period',
}
#: refusals of the target itself (credentials, bucket, region, token): the target is held
_TARGET_CODES = {'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied', 'NoSuchBucket',
                 'AuthorizationHeaderMalformed', 'ExpiredToken', 'InvalidToken',
                 'AllAccessDisabled', 'AccountProblem', 'InvalidBucketName'}
_TEMPORARY_CODES = {'BadDigest', 'RequestTimeTooSkewed', 'SlowDown', 'NoSuchUpload',
                    'RequestTimeout', 'InternalError', 'ServiceUnavailable',
                    'OperationAborted'}
_TEMPORARY_CODES |= {'InvalidPart'}     # a part the store lost: the next attempt sends all


class Classifier:
    """Makes the TemporaryError / PermanentError of one transport (its name, its scrub)."""

    def __init__(self, transport):
        self.t = transport

    def answer(self, status, headers, body, what):
        """The error for an S3 answer with a status the operation does not expect."""
        from pycstbox.export.transports.http import parse_retry_after
        code, message = error_fields(body) if body else ('', '')
        detail = '%s: HTTP %d%s%s' % (what, status, (' ' + code) if code else '',
                                      (' (%s)' % message) if message else '')
        if code == 'RequestTimeTooSkewed':
            now = time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())
            return self.t.temporary(
                '%s: the clock of this box (%s) is more than 15 minutes off the store\'s: '
                'set the time (NTP, or date -s) (will retry)' % (detail, now))
        if code in _TEMPORARY_CODES or status in (408, 409, 429) or status >= 500:
            retry_after = parse_retry_after(headers.get('Retry-After'))
            hint = ' (will retry%s)' % (' after %g s' % retry_after if retry_after else '')
            if code == 'BadDigest':
                hint = ': the store received other bytes than were sent (checksum ' \
                       'mismatch)' + hint
            return self.t.temporary(detail + hint, retry_after=retry_after)
        if 300 <= status < 400:
            return self.t.permanent('%s: redirected (%s): use the bucket\'s own endpoint '
                                    'and region' % (detail, headers.get('Location', '')),
                                    scope='target')
        hint = _HINTS.get(code) or {
            400: 'the store rejected the request: check the target configuration',
            401: 'authentication failed: check access_key_id and secret_access_key',
            403: 'access denied: check the credentials and their permissions',
            404: 'not found: check endpoint and bucket',
        }.get(status, 'the store refused the request: check the target configuration')
        target = code in _TARGET_CODES or (not code and status in (401, 403))
        return self.t.permanent('%s: %s' % (detail, hint),
                                scope='target' if target else 'file')

    def exception(self, exc, what, deadline):
        """The error for a library exception raised during a request."""
        import requests
        from pycstbox.export.transports.http import _reason, _verify_failure
        host = self.t.host
        if deadline is not None and deadline.expired:
            return self.t.temporary('%s: %s gave no complete answer within %g s (will retry)'
                                    % (what, host, deadline.seconds))
        if isinstance(exc, requests.exceptions.SSLError):
            if _verify_failure(exc):
                return self.t.permanent(
                    '%s: TLS certificate of %s could not be verified (%s): install the '
                    'store\'s CA and set verify = "/path/to/ca.pem", or fix endpoint'
                    % (what, host, _reason(exc)), scope='target')
            return self.t.temporary('%s: TLS error with %s: %s' % (what, host, _reason(exc)))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return self.t.temporary('%s: no connection to %s within %g s: check the network '
                                    '(will retry)' % (what, host, self.t.connect_timeout))
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return self.t.temporary('%s: %s did not answer within %g s (will retry)'
                                    % (what, host, self.t.timeout))
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return self.t.permanent('invalid endpoint %r: fix endpoint in the target '
                                    'configuration' % self.t.endpoint, scope='target')
        if isinstance(exc, requests.exceptions.RequestException):
            return self.t.temporary('%s: connection to %s failed: %s (will retry)'
                                    % (what, host, _reason(exc)))
        return self.t.temporary('%s: %s failed: %s (will retry)' % (what, host, exc))
