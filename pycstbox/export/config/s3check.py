"""Checks of an ``s3`` target's values (DESIGN.md section 11), beyond their types.

Sizes (``multipart_threshold``, ``part_size``) become bytes: S3 parts are 5 MiB to
5 GiB (the last may be smaller), a single PUT at most 5 GiB.  The key template may use
``{prefix} {site} {job} {date} {name}`` only and must hold ``{name}`` (one object per
window).  Every failure calls ``fail(key, problem)`` (a one-line ``file: key: problem``).
"""

import re
import string

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
    if not o['access_key_id']:
        fail('access_key_id', 'must not be empty')
    if not o['secret_access_key']:
        fail('secret_access_key_file', 'set secret_access_key_file (or secret_access_key)')
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
