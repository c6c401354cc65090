"""Multipart upload and stored-object comparison of the ``s3`` transport.

- :func:`upload`: CreateMultipartUpload declaring ``x-amz-checksum-algorithm: SHA256``,
  then each part hashed from the file and sent with its ``x-amz-checksum-sha256`` (one
  part in flight, read in chunks: memory flat; the next part is hashed by a helper
  thread while this one is sent), then CompleteMultipartUpload listing each
  part's ETag and checksum.  Any failure (or a 412 at completion) aborts the upload, best
  effort, so no orphan parts accumulate; once the upload is complete, uploads of the same
  key left unfinished by an earlier attempt that could not abort (power loss, store
  down) are aborted too (:func:`sweep`).  At most 10,000 parts: a larger file gets larger
  parts.  Returns the composite checksum ``base64(sha256(part digests))-N``.
- :func:`same_object`: after a 412 (``overwrite = false``), whether the stored object
  holds our bytes, compared like for like (:mod:`.s3checksum`): its full checksum with
  ours, its composite checksum (with or without "-N") with ours computed with its part
  size (``HEAD ?partNumber=1``), or, when the store keeps no checksum, its bytes (GET,
  hashed while streamed).  What is returned is always our own checksum.
- The completion's checksum (else the stored object's, HEAD) is compared with ours:
  another one means the store has not stored our bytes (temporary failure); ours is
  returned, never the store's.
"""

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

from pycstbox.export.transports.filename import printable
from pycstbox.export.transports.s3checksum import same, split
from pycstbox.export.transports.s3wire import FileRange, xml_blocks, xml_tag

log = logging.getLogger(__name__)

MAX_PARTS = 10000


def _b64(digest):
    import base64
    return base64.b64encode(digest).decode('ascii')


def _hash(fd, offset, length):
    h = hashlib.sha256()
    for chunk in FileRange(fd, offset, length):
        h.update(chunk)
    return h.digest()


def part_ranges(size, part_size):
    """(number, offset, length) of each part; parts grow so that there are <= 10,000."""
    part = max(part_size, -(-size // MAX_PARTS))
    return [(n, off, min(part, size - off)) for n, off in enumerate(range(0, size, part), 1)]


def composite(digests):
    """The S3 composite checksum of parts with these SHA-256 digests."""
    return '%s-%d' % (_b64(hashlib.sha256(b''.join(digests)).digest()), len(digests))


def upload(t, fd, size, okey, what, headers=None):
    """Multipart upload of ``size`` bytes of ``fd`` as ``okey``: the stored checksum.

    :param headers: the object's headers (type, storage class, encryption, metadata), sent
        with CreateMultipartUpload only
    """
    _, _, body = t.request('POST', okey, params=[('uploads', '')],
                           headers=dict(headers or {'Content-Type': 'application/octet-stream'},
                                        **{'x-amz-checksum-algorithm': 'SHA256'}),
                           what='%s (start of multipart upload)' % what)
    uid = xml_tag(body, 'UploadId')
    if not uid:
        raise t.temporary('%s: the store gave no UploadId (will retry)' % what)
    ranges = part_ranges(size, t.part_size)
    done = False
    pool = ThreadPoolExecutor(1)     # hashes the next part while this one is sent
    try:
        parts = []
        ahead = pool.submit(_hash, fd, ranges[0][1], ranges[0][2])
        for i, (n, off, length) in enumerate(ranges):
            digest = ahead.result()
            if i + 1 < len(ranges):
                ahead = pool.submit(_hash, fd, ranges[i + 1][1], ranges[i + 1][2])
            _, h, _ = t.request('PUT', okey, params=[('partNumber', str(n)), ('uploadId', uid)],
                                headers={'x-amz-checksum-sha256': _b64(digest)},
                                body=FileRange(fd, off, length), payload=digest.hex(),
                                what='%s (part %d of %d)' % (what, n, len(ranges)))
            parts.append((n, h.get('ETag', ''), digest))
        xml = ''.join('<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>'
                      '<ChecksumSHA256>%s</ChecksumSHA256></Part>'
                      % (n, _xml(etag), _b64(d)) for n, etag, d in parts)
        xml = ('<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               '%s</CompleteMultipartUpload>' % xml).encode()
        headers = {'Content-Type': 'application/xml'}
        if not t.overwrite:
            headers['If-None-Match'] = '*'
        status, h, body = t.request('POST', okey, params=[('uploadId', uid)], headers=headers,
                                    body=xml, what='%s (completion)' % what, ok=(200, 412))
        if status == 200 and b'<Error>' in body:      # S3 may fail a completion with a 200
            raise t.err.answer(503, h, body, '%s (completion)' % what)
        done = status == 200
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if not done:
            abort(t, okey, uid)
    ours = composite([d for _, _, d in parts])
    sweep(t, okey)
    if status == 412:
        return t.existing(fd, size, okey, ours, what)
    theirs = xml_tag(body, 'ChecksumSHA256')
    if not theirs:                          # moto says nothing at completion: ask (HEAD)
        stored = t.stat(okey)
        theirs = stored.checksum if stored is not None else ''
    full = _b64(_hash(fd, 0, size)) if theirs and same(ours, theirs) is None else ''
    return t.confirmed(ours, theirs, full, '%s (completion)' % what)


def _xml(text):
    return text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def abort(t, okey, uid):
    """AbortMultipartUpload, best effort (a failure is logged, never raised)."""
    try:
        t.request('DELETE', okey, params=[('uploadId', uid)], ok=(200, 204, 404),
                  what='abort of the multipart upload of %s' % printable(okey))
    except Exception as exc:  # pylint: disable=broad-except  # best effort, say so
        log.warning('target %s: could not abort the multipart upload %s of %s: %s '
                    '(its parts stay until aborted)', t.name, uid, printable(okey), exc)


def sweep(t, okey):
    """Abort the unfinished multipart uploads of ``okey`` left by an earlier attempt that
    could not abort its own (the box lost power, the store was down), best effort."""
    try:
        _, _, body = t.request('GET', params=[('uploads', ''), ('prefix', okey)],
                               what='listing of unfinished uploads of %s' % printable(okey))
    except Exception as exc:  # pylint: disable=broad-except  # best effort, say so
        log.warning('target %s: could not list unfinished uploads of %s: %s', t.name,
                    printable(okey), exc)
        return
    for block in xml_blocks(body.decode('utf-8', 'replace'), 'Upload'):
        if xml_tag(block, 'Key') == okey and xml_tag(block, 'UploadId'):
            log.info('target %s: aborting an unfinished upload of %s left by an earlier '
                     'attempt', t.name, printable(okey))
            abort(t, okey, xml_tag(block, 'UploadId'))


def same_object(t, fd, size, okey, ours):
    """Whether the stored object ``okey`` holds the bytes of ``fd``: our checksum of them
    in the stored object's form (full, or composite with its part size: computed by us,
    never the store's value), '' when the store keeps no checksum and its bytes are ours,
    None when it holds other bytes."""
    stored = t.stat(okey)
    if stored is None:
        raise t.temporary('%s: the store said the key exists, then that it does not '
                          '(will retry)' % printable(okey))
    if stored.size != size:
        return None
    c = stored.checksum
    if not c:
        h = hashlib.sha256()
        t.request('GET', okey, sink=h.update, expect=size, what='GET of %s' % printable(okey))
        return '' if h.digest() == _hash(fd, 0, size) else None
    if same(ours, c):
        return ours
    if split(c)[1] is None:                 # a full checksum, or a composite without "-N"
        full = _b64(_hash(fd, 0, size))
        if full == c:
            return full
    _, h, _ = t.request('HEAD', okey, params=[('partNumber', '1')], ok=(200, 206),
                        what='HEAD of part 1 of %s' % printable(okey))
    psize = int(h.get('Content-Length') or 0)
    if psize <= 0:
        return None
    mine = composite([_hash(fd, off, length) for _, off, length in part_ranges(size, psize)])
    return mine if same(mine, c) else None
