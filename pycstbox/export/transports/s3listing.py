"""ListObjectsV2 of the ``s3`` transport, read whole and checked (DESIGN.md sections 11-12).

The audit proves deliveries from this listing, so a listing that is not the whole truth
must fail loudly (the audit then says INCOMPLETE) instead of hiding objects (which it
would call missing and send again):

- each page is read whole, up to :data:`MAX_PAGE` bytes (a 1,000-key page of 1,024-byte
  keys is ~1.5 MiB); a larger page is an error;
- each page must be a complete, well-formed ``ListBucketResult`` document (a torn or
  cut body, a proxy's HTML page, a missing ``IsTruncated`` are errors); when it gives
  ``KeyCount``, that many keys must be in it;
- ``IsTruncated`` without ``NextContinuationToken``, a continuation token seen before
  (a store or proxy that loops), or more than ``max_pages`` pages are errors.

Errors are :class:`~pycstbox.export.errors.TemporaryError` of the target, naming the
prefix and the page.  Keys out of order or repeated are passed on as they come: the
audit keys its lookup by object key and confirms anything a listing does not show with
a ``HEAD`` (:meth:`S3Transport.stat`).
"""

import xml.etree.ElementTree as ET

from pycstbox.export.transports import RemoteFile
from pycstbox.export.transports.filename import printable

MAX_PAGE = 4 * 1024 * 1024
#: pages of one listing before it is called endless (10 million keys at 1,000 a page)
MAX_PAGES = 10000


class _Page:
    """A bytes sink that refuses to grow past :data:`MAX_PAGE`."""

    def __init__(self, t, what):
        self.t, self.what = t, what
        self.data = bytearray()

    def __call__(self, chunk):
        self.data += chunk
        if len(self.data) > MAX_PAGE:
            raise self.t.temporary('%s: the page is larger than %d bytes: not a listing '
                                   'page (will retry)' % (self.what, MAX_PAGE))


def _local(tag):
    return tag.rsplit('}', 1)[-1]


def _children(elem):
    """``{local name: [elements]}`` of ``elem``'s children."""
    out = {}
    for child in elem:
        out.setdefault(_local(child.tag), []).append(child)
    return out


def _text(elems, name):
    found = elems.get(name)
    return (found[0].text or '').strip() if found else None


def parse_page(t, body, what):
    """(RemoteFiles, is_truncated, next token) of one ListObjectsV2 page; raises when the
    page is not a complete listing."""
    try:
        root = ET.fromstring(bytes(body))
    except ET.ParseError as exc:
        raise t.temporary('%s: the store\'s answer is not a complete XML listing (%s, %d '
                          'bytes): cannot trust it (will retry)' % (what, exc, len(body))) \
            from exc
    if _local(root.tag) != 'ListBucketResult':
        raise t.temporary('%s: the store answered a <%s> document, not a listing (will retry)'
                          % (what, _local(root.tag)[:40]))
    top = _children(root)
    truncated = _text(top, 'IsTruncated')
    if truncated not in ('true', 'false'):
        raise t.temporary('%s: the listing page has no IsTruncated: cannot tell whether it '
                          'is complete (will retry)' % what)
    files = []
    for c in top.get('Contents', ()):
        fields = _children(c)
        key = _text(fields, 'Key')
        size = _text(fields, 'Size')
        if not key or size is None or not size.isdigit():
            raise t.temporary('%s: a listing entry without a key or a size (will retry)'
                              % what)
        files.append(RemoteFile(key, int(size), '', _text(fields, 'ChecksumSHA256') or ''))
    count = _text(top, 'KeyCount')
    listed = len(files) + len(top.get('CommonPrefixes', ()))
    if count is not None and (not count.isdigit() or int(count) != listed):
        raise t.temporary('%s: the page says KeyCount %s but holds %d key(s): incomplete '
                          'listing (will retry)' % (what, count[:20], listed))
    return files, truncated == 'true', _text(top, 'NextContinuationToken') or ''


def listing(t, prefix=''):
    """Every object under ``prefix`` (ListObjectsV2 pages of ``t.page_size`` keys)."""
    token = None
    seen = set()
    page = 0
    while True:
        page += 1
        what = 'listing of %s (page %d)' % (printable(prefix) or '/', page)
        if page > getattr(t, 'max_pages', MAX_PAGES):
            raise t.temporary('%s: more than %d pages: the store keeps saying there is more '
                              '(will retry)' % (what, page - 1))
        params = [('list-type', '2'), ('prefix', prefix), ('max-keys', str(t.page_size))]
        if token:
            params.append(('continuation-token', token))
        sink = _Page(t, what)
        t.request('GET', params=params, what=what, sink=sink)
        files, truncated, token = parse_page(t, sink.data, what)
        yield from files
        if not truncated:
            return
        if not token:
            raise t.temporary('%s: the page says there is more but gives no continuation '
                              'token (will retry)' % what)
        if token in seen:
            raise t.temporary('%s: the store gave a continuation token it gave before: the '
                              'listing would never end (will retry)' % what)
        seen.add(token)
