"""Receiver stats fetched ahead, a few at a time, for the audit of many windows.

Where the listing gives no checksum (S3 stores list sizes only), the audit asks the
receiver for each journaled window (``stat``: a HEAD).  A year of 15-minute windows is
35,040 round trips: :func:`stat_ahead` makes them with :data:`WORKERS` threads, each with
its own transport (its own connection: nothing shared between threads), and returns
``{key: RemoteFile or None or the ExportError raised}`` for the audit to use in order.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from pycstbox.export.errors import ExportError

log = logging.getLogger(__name__)

WORKERS = 4
#: fewer keys than this are asked one by one, in order, by the audit itself
MINIMUM = 64


def stat_ahead(keys, make_transport, workers=WORKERS):
    """``{key: stat(key)}`` for every key (an ExportError in place of a failed answer)."""
    local = threading.local()
    made = []
    lock = threading.Lock()

    def one(key):
        t = getattr(local, 'transport', None)
        if t is None:
            t = local.transport = make_transport()
            with lock:
                made.append(t)
        try:
            return key, t.stat(key)
        except ExportError as exc:
            return key, exc
    try:
        with ThreadPoolExecutor(workers) as pool:
            return dict(pool.map(one, keys, chunksize=16))
    finally:
        for t in made:
            try:
                t.close()
            except Exception:  # noqa: BLE001  # closing is best effort
                log.debug('closing a transport failed', exc_info=True)
