"""Where an ``s3`` request goes: virtual-hosted-style or path-style addressing.

- ``virtual``: the bucket is in the host name, ``https://BUCKET.s3.eu-west-3.amazonaws.com/KEY``
  (AWS's default: path style is deprecated there); the request is signed for that host.
- ``path``: ``https://ENDPOINT/BUCKET/KEY`` (the default of MinIO, Ceph RGW, SeaweedFS).
- ``addressing = ""`` (the default): ``virtual`` when the endpoint's host ends with
  ``amazonaws.com``, ``path`` otherwise; a bucket whose name holds dots is addressed by path
  on https (AWS's wildcard certificate ``*.s3.REGION.amazonaws.com`` covers one label).

The configuration check (``config/s3check.py``) refuses what cannot work: ``virtual`` with
a bucket holding dots on https, with an IP address as endpoint host, or with an endpoint
that has a path.
"""

from urllib.parse import urlsplit

from pycstbox.export.transports import sigv4

MODES = ('virtual', 'path')


def _host(endpoint):
    return (urlsplit(endpoint).hostname or '').lower()


def resolve(addressing, endpoint, bucket):
    """``virtual`` or ``path``: ``addressing`` when set, else the default for the endpoint."""
    if addressing:
        return addressing
    host = _host(endpoint)
    aws = host == 'amazonaws.com' or host.endswith('.amazonaws.com')
    if aws and not ('.' in bucket and endpoint.lower().startswith('https://')):
        return 'virtual'
    return 'path'


class Address:
    """Host, signed path and URL of the requests on ``bucket`` at ``endpoint``."""

    def __init__(self, endpoint, bucket, addressing=''):
        parts = urlsplit(endpoint.rstrip('/'))
        self.mode = resolve(addressing, endpoint, bucket)
        self.scheme = parts.scheme.lower()
        if self.mode == 'virtual':
            self.host = '%s.%s' % (bucket, parts.netloc)
            self.root = parts.path.rstrip('/')
        else:
            self.host = parts.netloc
            self.root = '%s/%s' % (parts.path.rstrip('/'), bucket)

    def path(self, key=''):
        """The raw (unencoded) path of ``key`` (of the bucket itself when '')."""
        return '%s/%s' % (self.root, key) if key else (self.root or '/')

    def url(self, key='', params=()):
        """The URL to request: the path encoded as signed, then the canonical query."""
        return '%s://%s%s%s' % (self.scheme, self.host, sigv4.canonical_uri(self.path(key)),
                                sigv4.query_string(list(params)))
