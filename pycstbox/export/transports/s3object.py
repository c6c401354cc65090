"""What an ``s3`` object carries besides its bytes: type, storage class, encryption, metadata.

- ``Content-Type`` from the file name's extension: ``.csv`` text/csv, ``.tsv``
  text/tab-separated-values, ``.jsonl`` application/x-ndjson, ``.zip`` application/zip,
  ``.parquet`` application/vnd.apache.parquet; a compressed file keeps the type of what it
  is: ``.gz`` application/gzip, ``.zst`` application/zstd.  Never ``Content-Encoding``: a
  client would decompress transparently and the bytes (and checksums) would no longer be
  the stored ones; query engines read ``.csv.gz`` by its extension.
- ``x-amz-storage-class`` (``storage_class``), ``x-amz-server-side-encryption``
  (``sse = "AES256" | "aws:kms"``) and ``...-aws-kms-key-id`` (``sse_kms_key_id``): on a
  single PUT, on CreateMultipartUpload (never on its parts), and on the check's probe.
- ``x-amz-meta-*``: ``window-start``, ``window-end`` (ISO 8601 UTC), ``events``, ``sha256``
  (hex of the whole object), ``exporter`` (``cstbox-export/VERSION``); absent values
  (outbox files have no window) are left out.
"""

from datetime import timezone

TYPES = {'csv': 'text/csv', 'tsv': 'text/tab-separated-values', 'jsonl': 'application/x-ndjson',
         'json': 'application/json', 'zip': 'application/zip',
         'parquet': 'application/vnd.apache.parquet', 'gz': 'application/gzip',
         'zst': 'application/zstd'}
DEFAULT_TYPE = 'application/octet-stream'
SSE_MODES = ('AES256', 'aws:kms')


def content_type(name):
    """The Content-Type of a file named ``name`` (its last extension)."""
    base = name.rsplit('/', 1)[-1]
    ext = base.rsplit('.', 1)[-1].lower() if '.' in base else ''
    return TYPES.get(ext, DEFAULT_TYPE)


def storage_headers(options):
    """Storage class and server-side encryption headers of a target's ``options``."""
    out = {}
    if options.get('storage_class'):
        out['x-amz-storage-class'] = options['storage_class']
    if options.get('sse'):
        out['x-amz-server-side-encryption'] = options['sse']
        if options['sse'] == 'aws:kms' and options.get('sse_kms_key_id'):
            out['x-amz-server-side-encryption-aws-kms-key-id'] = options['sse_kms_key_id']
    return out


def _iso(when):
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def meta_headers(meta, sha256_hex):
    """``x-amz-meta-*`` headers of a window's ``meta`` (start, end, events) and content hash."""
    from pycstbox.export import __version__
    meta = meta or {}
    out = {}
    if meta.get('start') is not None:
        out['x-amz-meta-window-start'] = _iso(meta['start'])
    if meta.get('end') is not None:
        out['x-amz-meta-window-end'] = _iso(meta['end'])
    if meta.get('events') is not None:
        out['x-amz-meta-events'] = str(int(meta['events']))
    if sha256_hex:
        out['x-amz-meta-sha256'] = sha256_hex
    out['x-amz-meta-exporter'] = 'cstbox-export/%s' % __version__
    return out


def object_headers(name, options, meta, sha256_hex):
    """Every header describing the object (PUT or CreateMultipartUpload)."""
    out = {'Content-Type': content_type(name)}
    out.update(storage_headers(options))
    out.update(meta_headers(meta, sha256_hex))
    return out
