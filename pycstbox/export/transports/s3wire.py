"""The HTTP side of the ``s3`` transport: bounded requests, streamed bodies, S3 errors.

- :class:`FileRange`: a body of known length read from a file range in 256 KiB chunks
  (``os.pread``): memory stays flat whatever the size.
- :func:`read_excerpt`: at most 64 KiB of a response body, read streamed.
- :func:`error_fields`: ``Code`` and ``Message`` of an S3 XML error body.
"""

import os
import re

CHUNK = 256 * 1024
EXCERPT = 64 * 1024


class FileRange:
    """``length`` bytes of the open file ``fd`` from ``offset``: an iterable body of known
    length, read in chunks with ``os.pread`` (stops between chunks once ``deadline``, a
    :class:`~pycstbox.export.transports.deadline.Deadline`, has expired)."""

    def __init__(self, fd, offset, length, deadline=None):
        self.fd, self.offset, self.length, self.deadline = fd, offset, length, deadline

    def __len__(self):
        return self.length

    def __iter__(self):
        pos, left = self.offset, self.length
        while left > 0:
            if self.deadline is not None and self.deadline.expired:
                raise TimeoutError('deadline of %g s passed' % self.deadline.seconds)
            chunk = os.pread(self.fd, min(CHUNK, left), pos)
            if not chunk:
                raise OSError('the file shrank while it was being sent')
            pos += len(chunk)
            left -= len(chunk)
            yield chunk

    def chunks(self):
        """The range's bytes in chunks (for hashing)."""
        return iter(self)


def read_excerpt(response, limit=EXCERPT):
    """At most ``limit`` bytes of the body of a streamed ``response`` (the rest unread)."""
    out = bytearray()
    try:
        for chunk in response.iter_content(16384):
            out += chunk
            if len(out) >= limit:
                break
    finally:
        response.close()
    return bytes(out[:limit])


def _tag(xml, name):
    m = re.search(r'<%s>(.*?)</%s>' % (name, name), xml, re.S)
    return _unescape(m.group(1).strip()) if m else ''


def _unescape(text):
    return (text.replace('&lt;', '<').replace('&gt;', '>').replace('&quot;', '"')
            .replace('&#34;', '"').replace('&apos;', "'").replace('&#39;', "'")
            .replace('&amp;', '&'))


def error_fields(body):
    """(Code, Message) of an S3 XML error body ('' when absent), on one line each."""
    xml = body.decode('utf-8', 'replace')
    return (' '.join(_tag(xml, 'Code').split())[:100],
            ' '.join(_tag(xml, 'Message').split())[:300])


def xml_tag(body, name):
    """The text of the first ``<name>`` element of an XML body (bytes or str), ''."""
    return _tag(body.decode('utf-8', 'replace') if isinstance(body, bytes) else body, name)


def xml_blocks(xml, name):
    """The inner text of every ``<name>...</name>`` element, in order."""
    return re.findall(r'<%s>(.*?)</%s>' % (name, name), xml, re.S)
