"""Checks of an ``s3`` target's values (DESIGN.md section 11), beyond their types.

Sizes (``multipart_threshold``, ``part_size``) become bytes: S3 parts are 5 MiB to
5 GiB (the last may be smaller), a single PUT at most 5 GiB.  The key template may use
``{prefix} {site} {job} {date} {name}`` only and must hold ``{name}`` (one object per
window).  Every failure calls ``fail(key, problem)`` (a one-line ``file: key: problem``).

Credentials: ``access_key_id`` with ``secret_access_key(_file)``, or neither (then the
environment or the AWS shared files, ``profile``).  ``addressing``: ``virtual`` or
``path`` ('' = virtual for AWS endpoints), virtual refused where it cannot work (a bucket
with dots on https, an IP address, an endpoint with a path).  ``storage_class``: an S3
class name; ``sse``: AES256 or aws:kms (``sse_kms_key_id`` with aws:kms only).
"""

import ipaddress
import re
import string
from urllib.parse import urlsplit

from pycstbox.export.config.size import parse_size

MiB = 1024 ** 2
GiB = 1024 ** 3
PLACEHOLDERS = ('prefix', 'site', 'job', 'date', 'name')
_BUCKET = re.compile(r'[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]')


def _size(o, key, low, high, fail):
    try:
        value = parse_size(o[key])
    except ValueError as exc:
        fail(key, str(exc))
    if not low <= value <= high:
        fail(key, 'must be between %s and %s, not %r' % (_show(low), _show(high), o[key]))
    o[key] = value


def _show(n):
    return '%dGiB' % (n // GiB) if n % GiB == 0 else '%dMiB' % (n // MiB)


def validate_s3(o, fail):
    """Check and normalise the options ``o`` of an s3 target (sizes -> bytes)."""
    endpoint = o['endpoint']
    if not endpoint.lower().startswith(('http://', 'https://')) or '?' in endpoint:
        fail('endpoint', 'must be an http:// or https:// URL such as '
                         '"https://s3.eu-west-3.amazonaws.com", not %r' % endpoint)
    if not _BUCKET.fullmatch(o['bucket']):
        fail('bucket', 'must be 3 to 63 lower-case letters, digits, "." or "-", not %r'
             % o['bucket'])
    if not o['region'] or not re.fullmatch(r'[A-Za-z0-9-]+', o['region']):
        fail('region', 'must be a region name such as "eu-west-3", not %r' % o['region'])
    _credentials(o, fail)
    _addressing(o, fail)
    _storage(o, fail)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(o['key']) if f is not None]
    except ValueError as exc:
        fail('key', 'invalid template %r: %s' % (o['key'], exc))
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        fail('key', 'unknown placeholder {%s} (use %s)'
             % (unknown[0], ' '.join('{%s}' % p for p in PLACEHOLDERS)))
    if 'name' not in fields:
        fail('key', 'must contain {name} (one object per window)')
    if o['key'].startswith('/'):
        fail('key', 'must not start with "/" (keys are relative to the bucket)')
    _size(o, 'part_size', 5 * MiB, 5 * GiB, fail)
    _size(o, 'multipart_threshold', 5 * MiB, 5 * GiB, fail)


def _credentials(o, fail):
    if o['access_key_id'] and not o['secret_access_key']:
        fail('secret_access_key_file', 'set secret_access_key_file (or secret_access_key) '
                                       'with access_key_id')
    if not o['access_key_id'] and o['secret_access_key']:
        fail('access_key_id', 'set access_key_id with the secret access key')
    if not o['access_key_id'] and o['session_token']:
        fail('session_token', 'a session token goes with access_key_id and its secret')
    if o['profile'] and o['access_key_id']:
        fail('profile', 'set profile (AWS shared files) or access_key_id, not both')
    if o['profile'] and not re.fullmatch(r'[A-Za-z0-9_.@+=,-]+', o['profile']):
        fail('profile', 'must be a profile name of the AWS shared files, not %r' % o['profile'])


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _addressing(o, fail):
    mode = o['addressing']
    if mode not in ('', 'virtual', 'path'):
        fail('addressing', 'must be "virtual" (bucket in the host name, AWS\'s default) or '
                           '"path", not %r' % mode)
    parts = urlsplit(o['endpoint'])
    host = (parts.hostname or '').lower()
    if not mode:        # the transport's default (transports/s3address.py)
        aws = host == 'amazonaws.com' or host.endswith('.amazonaws.com')
        dotted_tls = '.' in o['bucket'] and parts.scheme.lower() == 'https'
        mode = 'virtual' if aws and not dotted_tls else 'path'
    if mode != 'virtual':
        return
    if '.' in o['bucket'] and parts.scheme.lower() == 'https':
        fail('addressing', 'bucket %r holds dots: virtual-hosted addressing over https would '
             'fail the TLS certificate check (%s.%s is not covered by the store\'s '
             'certificate); set addressing = "path"' % (o['bucket'], o['bucket'], host))
    if _is_ip(host):
        fail('addressing', 'virtual-hosted addressing puts the bucket in the host name, '
             'which the IP address of the endpoint cannot hold; set addressing = "path" or '
             'use the store\'s host name')
    if parts.path.strip('/'):
        fail('addressing', 'virtual-hosted addressing needs an endpoint without a path (not '
             '%r); set addressing = "path"' % parts.path)


def _storage(o, fail):
    if o['storage_class'] and not re.fullmatch(r'[A-Z][A-Z0-9_]*', o['storage_class']):
        fail('storage_class', 'must be an S3 storage class such as "STANDARD_IA" (upper '
                              'case), not %r' % o['storage_class'])
    if o['sse'] not in ('', 'AES256', 'aws:kms'):
        fail('sse', 'must be "AES256" (keys managed by the store) or "aws:kms", not %r'
             % o['sse'])
    if o['sse_kms_key_id'] and o['sse'] != 'aws:kms':
        fail('sse_kms_key_id', 'goes with sse = "aws:kms" only')
    if any(c.isspace() or ord(c) < 32 for c in o['sse_kms_key_id']):
        fail('sse_kms_key_id', 'must be a KMS key id or ARN without spaces')
