"""S3 SHA-256 checksums compared like for like (DESIGN.md sections 11-12).

Our checksum is the truth: it is computed from the bytes we send, and the store's
answer is only compared with it, never adopted.  Two kinds exist:

- *full*: ``base64(sha256(object))`` (a single PUT);
- *composite*: ``base64(sha256(part digests))-N`` (a multipart upload of N parts).
  Some stores (moto) give it without its ``-N`` suffix.

:func:`same` says whether the store's value names the bytes ours names: True, False,
or None when the two cannot be compared (another kind, e.g. a composite made with
another part size, and no full checksum of ours at hand).
"""

import base64


def split(checksum):
    """(base64 digest, number of parts or None) of a checksum string."""
    base, sep, parts = (checksum or '').strip().rpartition('-')
    if sep and parts.isdigit() and base:
        return base, int(parts)
    return (checksum or '').strip(), None


def full_of_hex(sha256_hex):
    """The full S3 checksum of an object whose hex SHA-256 is ``sha256_hex`` ('' if bad)."""
    try:
        return base64.b64encode(bytes.fromhex(sha256_hex or '')).decode('ascii') \
            if sha256_hex else ''
    except ValueError:
        return ''


def same(ours, theirs, full=''):
    """Whether the store's checksum ``theirs`` names the bytes ``ours`` names.

    :param ours: our checksum (full, or composite ``...-N``)
    :param theirs: the store's ('' when it gave none: None)
    :param full: our full checksum when known (it names the same bytes as ``ours``)
    :returns: True, False, or None when not comparable
    """
    t_base, t_parts = split(theirs)
    if not t_base:
        return None
    o_base, o_parts = split(ours)
    if t_parts is not None:                       # theirs is composite
        if o_parts is None:
            return None                           # ours full: their part size is unknown
        return t_base == o_base and t_parts == o_parts
    # theirs has no suffix: a full checksum, or a composite whose suffix was dropped
    if t_base == o_base or (full and t_base == full):
        return True
    if o_parts is None or full:
        return False                              # full with full, or every form known
    return None
