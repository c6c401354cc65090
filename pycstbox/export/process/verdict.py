"""Is the receiver's file the one delivered?  One journal line against one RemoteFile.

Size first, then the SHA-256 where the receiver gives one (dir: the file hashed), then
the S3 checksum compared like for like with ours (:mod:`..transports.s3checksum`: full
or composite, with or without "-N"; the journal's values are the truth).
"""

from pycstbox.export.transports.s3checksum import full_of_hex, same


def same_checksum(f, rec):
    """Whether the receiver's S3 checksum names the delivered bytes (like for like: full
    or composite, with or without "-N"; our journaled values are the truth): True, False,
    or None when it gave none or the two cannot be compared."""
    full = full_of_hex(rec.get('sha256'))
    if not f.checksum or not (rec.get('s3_checksum') or full):
        return None
    return same(rec.get('s3_checksum') or full, f.checksum, full)


def differs(f, rec):
    """Why the receiver's file is not the delivered one (None when it is, or when absent)."""
    if f is None:
        return None
    if f.size != rec.get('bytes'):
        return '%d bytes at the receiver, %s delivered' % (f.size, rec.get('bytes'))
    if f.sha256 and rec.get('sha256') and f.sha256 != rec['sha256']:
        return 'same size, other SHA-256 at the receiver (%s, %s delivered)' % (
            f.sha256[:12], rec['sha256'][:12])
    if same_checksum(f, rec) is False:
        return 'checksum %s at the receiver, %s delivered' % (
            f.checksum, rec.get('s3_checksum') or rec.get('sha256'))
    return None
