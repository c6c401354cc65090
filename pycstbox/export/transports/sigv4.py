"""AWS Signature Version 4 (header form) for S3 requests: standard library only.

The signature of a request is an HMAC chain over a *canonical request*, spelled out
here as AWS documents it (and as botocore's ``S3SigV4Auth`` computes it: the tests
compare both on fixed inputs)::

    CanonicalRequest =
        HTTPMethod + '\\n' +
        CanonicalURI + '\\n' +            # the path, each byte outside A-Za-z0-9-._~/ as %XX
                                          # (S3: encoded once, '/' kept, no normalisation)
        CanonicalQueryString + '\\n' +    # name=value pairs, both %XX-encoded ('/' too),
                                          # sorted by encoded name then value, joined by '&'
        CanonicalHeaders + '\\n' +        # 'name:value\\n' per signed header, names lower
                                          # case and sorted, values trimmed, inner runs of
                                          # spaces made one
        SignedHeaders + '\\n' +           # the sorted lower-case names joined by ';'
        HashedPayload                     # hex SHA-256 of the body (x-amz-content-sha256)

    StringToSign = 'AWS4-HMAC-SHA256\\n' + X-Amz-Date + '\\n' +
                   date/region/service/aws4_request + '\\n' + hex(SHA256(CanonicalRequest))

    SigningKey = HMAC(HMAC(HMAC(HMAC('AWS4' + secret, date), region), service), 'aws4_request')
    Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
                   SignedHeaders=..., Signature=hex(HMAC(SigningKey, StringToSign))

``X-Amz-Date`` is the system clock at signing time (:data:`clock`, a test hook), never
the replayed "now" of a run.  The secret key only enters the HMAC: it is in no header.
"""

import hashlib
import hmac
import time
from urllib.parse import quote

ALGORITHM = 'AWS4-HMAC-SHA256'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

#: the wall clock read by :func:`sign_headers` (seconds since the epoch); tests shift it
clock = time.time


def uri_encode(text, slash=False):
    """``text`` (str, UTF-8) with every byte outside ``A-Za-z0-9-._~`` as ``%XX``
    (upper-case hex); ``/`` is kept when ``slash`` is true."""
    return quote(text, safe='-_.~/' if slash else '-_.~')


def canonical_uri(path):
    """The CanonicalURI of the raw (unencoded) ``path``: also the path to send."""
    return uri_encode(path or '/', slash=True)


def canonical_query(params):
    """The CanonicalQueryString of ``params`` (pairs; a value of None counts as '')."""
    pairs = sorted((uri_encode(str(k)), uri_encode('' if v is None else str(v)))
                   for k, v in params)
    return '&'.join('%s=%s' % kv for kv in pairs)


def query_string(params):
    """``'?'`` + the canonical query of ``params``, or '' when there are none."""
    q = canonical_query(params)
    return '?' + q if q else ''


def _trim(value):
    return ' '.join(str(value).split())


def canonical_request(method, path, params, headers, payload_hash):
    """(CanonicalRequest, SignedHeaders) of a request; every header of ``headers`` is signed."""
    lower = {}
    for name, value in headers.items():
        lname = name.lower().strip()
        lower[lname] = (lower[lname] + ',' + _trim(value)) if lname in lower else _trim(value)
    names = sorted(lower)
    signed = ';'.join(names)
    creq = '\n'.join([method.upper(), canonical_uri(path), canonical_query(params),
                      ''.join('%s:%s\n' % (n, lower[n]) for n in names),
                      signed, payload_hash])
    return creq, signed


def _hmac(key, msg):
    return hmac.new(key, msg.encode('utf-8'), hashlib.sha256).digest()


def signing_key(secret_key, day, region, service='s3'):
    """The derived key of ``day`` (``YYYYMMDD``)."""
    k = _hmac(('AWS4' + secret_key).encode('utf-8'), day)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, 'aws4_request')


def string_to_sign(amz_date, scope, creq):
    return '\n'.join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode('utf-8')).hexdigest()])


def amz_date(now=None):
    """``YYYYMMDDTHHMMSSZ`` of ``now`` (seconds since the epoch; default :data:`clock`)."""
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(clock() if now is None else now))


def sign_headers(method, path, params, headers, payload_hash, *, host, access_key, secret_key,
                 region, session_token='', service='s3', now=None):
    """The headers to send: ``headers`` plus Host, X-Amz-Date, X-Amz-Content-SHA256,
    X-Amz-Security-Token (with a session token) and Authorization.

    :param path: the raw path (``/bucket/key``, not encoded); send ``canonical_uri(path)``
    :param params: query pairs; send ``query_string(params)``
    :param payload_hash: hex SHA-256 of the body (or ``UNSIGNED-PAYLOAD``)
    :param now: seconds since the epoch (default: :data:`clock` ())
    """
    date = amz_date(now)
    out = {k: v for k, v in headers.items()
           if k.lower() not in ('host', 'x-amz-date', 'x-amz-content-sha256',
                                'x-amz-security-token', 'authorization')}
    out['Host'] = host
    out['X-Amz-Date'] = date
    out['X-Amz-Content-SHA256'] = payload_hash
    if session_token:
        out['X-Amz-Security-Token'] = session_token
    creq, signed = canonical_request(method, path, params, out, payload_hash)
    scope = '%s/%s/%s/aws4_request' % (date[:8], region, service)
    sig = hmac.new(signing_key(secret_key, date[:8], region, service),
                   string_to_sign(date, scope, creq).encode('utf-8'),
                   hashlib.sha256).hexdigest()
    out['Authorization'] = '%s Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
        ALGORITHM, access_key, scope, signed, sig)
    return out
