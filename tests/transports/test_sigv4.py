"""The SigV4 signer against botocore's S3 signer on fixed inputs (SeaweedFS does not check
``x-amz-content-sha256`` against the body, so the real server alone cannot prove it)."""

import calendar
import hashlib
import time

import pytest

from pycstbox.export.transports import sigv4

botocore = pytest.importorskip('botocore')
from botocore.auth import S3SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

AK = 'AKIDEXAMPLE'
SK = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
HOST = 's3.eu-west-3.amazonaws.com'
WHEN = 1796083200.0 + 3723          # 2026-12-01T01:02:03Z


def _quote_path(path):
    """Path encoding as botocore's S3 serializer does it (independent of sigv4)."""
    from botocore.utils import percent_encode
    return percent_encode(path, safe='/~')


def botocore_headers(method, path, params, headers, body, token=None, region='eu-west-3'):
    """botocore's S3SigV4Auth on the same request, at the fixed time ``WHEN``."""
    payload = hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url='https://%s%s' % (HOST, _quote_path(path)),
                     params=params, data=body,
                     headers=dict(headers, **{'X-Amz-Content-SHA256': payload}))
    auth = S3SigV4Auth(Credentials(AK, SK, token), 's3', region)
    req.context['timestamp'] = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(WHEN))
    # add_auth() without its utcnow(): the same steps, at a fixed time
    auth._modify_request_before_signing(req)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    auth._inject_signature_to_request(req, auth.signature(sts, req))
    return req.headers, creq


def ours(method, path, params, headers, body, token='', region='eu-west-3'):
    return sigv4.sign_headers(method, path, params, headers, hashlib.sha256(body).hexdigest(),
                              host=HOST, access_key=AK, secret_key=SK, region=region,
                              session_token=token, now=WHEN)


CASES = [
    ('PUT', '/bucket/raw/site=lyon/job=daily/date=2026-12-01/a.csv', [], {}, b'a,b\n'),
    ('PUT', '/bucket/key with spaces/and  two.csv', [], {}, b'x' * 1000),
    ('PUT', '/bucket/unicode/été/日本語/ü.csv', [], {}, b'\xc3\xa9'),
    ('PUT', '/bucket/odd/a=b&c+d;e,f:g@h$i!j\'k(l)m*n.csv', [], {}, b''),
    ('PUT', '/bucket/k', [], {'x-amz-checksum-sha256': 'uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=',
                              'Content-Type': 'application/octet-stream',
                              'If-None-Match': '*'}, b'hello world'),
    ('GET', '/bucket', [('list-type', '2'), ('prefix', 'raw/site=lyon b/été/')], {}, b''),
    ('GET', '/bucket', [('list-type', '2'), ('prefix', 'p/'),
                        ('continuation-token', '1/abc+def==')], {}, b''),
    ('POST', '/bucket/big file.csv', [('uploads', '')],
     {'x-amz-checksum-algorithm': 'SHA256'}, b''),
    ('PUT', '/bucket/big file.csv', [('partNumber', '2'), ('uploadId', 'a/b+c=d_e')],
     {'x-amz-checksum-sha256': 'AAAA'}, b'p' * 70000),
    ('HEAD', '/bucket/k', [('partNumber', '1')], {'x-amz-checksum-mode': 'ENABLED',
                                                  'X-Spaced': '  a   b  '}, b''),
]


@pytest.mark.parametrize('method,path,params,headers,body', CASES)
def test_signature_equals_botocore(method, path, params, headers, body):
    """Our Authorization header equals botocore's for keys with spaces, unicode, '=', '/'
    and query parameters (ListObjectsV2 prefix, multipart ids)."""
    theirs, creq = botocore_headers(method, path, params, headers, body)
    mine = ours(method, path, params, headers, body)
    assert sigv4.canonical_request(method, path, params,
                                   {k: v for k, v in mine.items() if k != 'Authorization'},
                                   hashlib.sha256(body).hexdigest())[0] == creq
    assert mine['Authorization'] == theirs['Authorization']
    assert mine['X-Amz-Date'] == theirs['X-Amz-Date']


def test_session_token_signed_like_botocore():
    """A session token is sent as X-Amz-Security-Token and signed, as botocore does."""
    theirs, _ = botocore_headers('PUT', '/bucket/a b.csv', [], {}, b'data', token='TOKEN/xyz=')
    mine = ours('PUT', '/bucket/a b.csv', [], {}, b'data', token='TOKEN/xyz=')
    assert mine['X-Amz-Security-Token'] == theirs['X-Amz-Security-Token'] == 'TOKEN/xyz='
    assert 'x-amz-security-token' in mine['Authorization']
    assert mine['Authorization'] == theirs['Authorization']


def test_region_is_in_the_scope():
    """Another region gives another scope and signature (and still equals botocore)."""
    theirs, _ = botocore_headers('PUT', '/b/k', [], {}, b'x', region='us-east-1')
    mine = ours('PUT', '/b/k', [], {}, b'x', region='us-east-1')
    assert '/us-east-1/s3/aws4_request' in mine['Authorization']
    assert mine['Authorization'] == theirs['Authorization']
    assert mine['Authorization'] != ours('PUT', '/b/k', [], {}, b'x')['Authorization']


def test_url_is_the_canonical_form():
    """What is sent (path and query) is exactly what was signed: encoded once, sorted."""
    assert sigv4.canonical_uri('/b/a b/é=x+y.csv') == '/b/a%20b/%C3%A9%3Dx%2By.csv'
    assert sigv4.query_string([('prefix', 'a/b c'), ('list-type', '2')]) == \
        '?list-type=2&prefix=a%2Fb%20c'
    assert sigv4.query_string([]) == ''


def test_secret_is_in_no_header():
    """The secret key is only an HMAC key: no header carries it."""
    mine = ours('PUT', '/b/k', [], {}, b'x', token='T')
    assert not any(SK in str(v) for v in mine.values())


def test_clock_hook_shifts_the_date(monkeypatch):
    """X-Amz-Date is read from sigv4.clock (the wall clock; a test may shift it)."""
    monkeypatch.setattr(sigv4, 'clock', lambda: WHEN + 1200)
    h = sigv4.sign_headers('GET', '/b', [], {}, sigv4.EMPTY_SHA256, host=HOST, access_key=AK,
                           secret_key=SK, region='eu-west-3')
    assert h['X-Amz-Date'] == '20261201T012203Z'


# -- virtual-hosted-style requests, as botocore's own S3 client builds and signs them ------

class _Captured(Exception):
    pass


def _botocore_request(monkeypatch, operation, **kw):
    """The request botocore's S3 client (virtual addressing) would send, signed."""
    import botocore.session
    from botocore.config import Config
    monkeypatch.setenv('AWS_CONFIG_FILE', '/nonexistent')
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent')
    client = botocore.session.get_session().create_client(
        's3', region_name='eu-west-3', aws_access_key_id=AK, aws_secret_access_key=SK,
        aws_session_token=kw.pop('token', None),
        config=Config(signature_version='s3v4', s3={'addressing_style': 'virtual'}))
    seen = []

    def before_send(request, **_):
        seen.append(request)
        raise _Captured()

    client.meta.events.register('before-send.s3.*', before_send)
    with pytest.raises(_Captured):
        getattr(client, operation)(**kw)
    return seen[0]


VIRTUAL = [
    ('put_object', dict(Bucket='fleet',
                        Key='raw/site=lyon b12/job=daily/date=2026-12-01/é+x.csv.gz',
                        Body=b'a,b\n', ContentType='application/gzip', StorageClass='STANDARD_IA',
                        ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/fleet',
                        Metadata={'window-start': '2026-11-30T23:00:00Z', 'events': '12',
                                  'sha256': 'ab' * 32})),
    ('put_object', dict(Bucket='fleet', Key='k', Body=b'x', ServerSideEncryption='AES256',
                        token='FQoGZXIvYXdzEJr//////////wEaD')),
    ('list_objects_v2', dict(Bucket='fleet', Prefix='raw/site=lyon b/été/', MaxKeys=1000)),
    ('create_multipart_upload', dict(Bucket='fleet', Key='raw/a b.csv', ContentType='text/csv',
                                     ServerSideEncryption='aws:kms', SSEKMSKeyId='k1')),
]


@pytest.mark.parametrize('operation,kw', VIRTUAL, ids=[v[0] for v in VIRTUAL])
def test_virtual_hosted_request_equals_botocore(monkeypatch, operation, kw):
    """A virtual-hosted request (bucket in the host) has botocore's URL and, signed with
    the same headers at the same time, botocore's Authorization header."""
    from urllib.parse import parse_qsl, unquote, urlsplit
    from pycstbox.export.transports.s3address import Address
    token = kw.get('token', '')
    req = _botocore_request(monkeypatch, operation, **kw)
    url = urlsplit(req.url)
    address = Address('https://s3.eu-west-3.amazonaws.com', 'fleet')
    key = kw.get('Key', '')
    params = parse_qsl(url.query, keep_blank_values=True)
    assert (address.mode, address.host) == ('virtual', 'fleet.s3.eu-west-3.amazonaws.com')
    assert url.netloc == address.host
    assert address.url(key, params).split('?')[0] == req.url.split('?')[0]
    assert unquote(url.path) == address.path(key)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in req.headers.items()}
    auth = headers['Authorization']
    names = auth.split('SignedHeaders=')[1].split(',')[0].split(';')
    mine = {k: v for k, v in headers.items() if k.lower() in names
            and k.lower() not in ('host', 'x-amz-date', 'x-amz-content-sha256',
                                  'x-amz-security-token')}
    when = calendar.timegm(time.strptime(headers['X-Amz-Date'], '%Y%m%dT%H%M%SZ'))
    ours_signed = sigv4.sign_headers(req.method, address.path(key), params, mine,
                                     headers['X-Amz-Content-SHA256'], host=address.host,
                                     access_key=AK, secret_key=SK, region='eu-west-3',
                                     session_token=token, now=when)
    assert ours_signed['Authorization'] == auth
