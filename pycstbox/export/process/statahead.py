"""Receiver stats fetched ahead, a few at a time, for the audit of many windows.

Where the listing gives no checksum (S3 stores list sizes only), the audit asks the
receiver for each journaled window (``stat``: a HEAD).  A year of 15-minute windows is
35,040 round trips: :class:`StatAhead` makes them with :data:`WORKERS` threads, each with
its own transport (its own connection: nothing shared between threads), :data:`CHUNK`
keys at a time in the order the audit will use them (memory stays bounded), and hands
each answer over once: a RemoteFile, None (absent), or the ExportError raised.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from pycstbox.export.errors import ExportError

log = logging.getLogger(__name__)

WORKERS = 4
CHUNK = 512
#: fewer keys than this are asked one by one, in order, by the audit itself
MINIMUM = 64


class StatAhead:
    """Stats of ``keys`` (in the order they will be asked for), fetched ahead."""

    def __init__(self, keys, make_transport, workers=WORKERS):
        self.keys = keys
        self.position = {k: i for i, k in enumerate(keys)}
        self.make_transport = make_transport
        self.answers = {}
        self.local = threading.local()
        self.made = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(workers)

    def __contains__(self, key):
        return key in self.answers or key in self.position

    def take(self, key):
        """The answer for ``key`` (fetching its chunk first); raises what stat raised."""
        if key not in self.answers:
            i = self.position[key]
            chunk = self.keys[i:i + CHUNK]
            self.answers = dict(self.pool.map(self._one, chunk))
        found = self.answers.pop(key)
        self.position.pop(key, None)
        if isinstance(found, ExportError):
            raise found
        return found

    def _one(self, key):
        t = getattr(self.local, 'transport', None)
        if t is None:
            t = self.local.transport = self.make_transport()
            with self.lock:
                self.made.append(t)
        try:
            return key, t.stat(key)
        except ExportError as exc:
            return key, exc

    def close(self):
        self.pool.shutdown(wait=True)
        for t in self.made:
            try:
                t.close()
            except Exception:  # noqa: BLE001  # closing is best effort
                log.debug('closing a transport failed', exc_info=True)
        self.made = []
