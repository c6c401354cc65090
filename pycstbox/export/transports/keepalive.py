"""One HTTP connection kept across the requests of a run or lane (keep-alive).

A ``requests.Session`` opened at the first request and kept until :meth:`close` (the
transport's ``close()``): the requests of a window (a multipart upload is several) and
the windows of a run share one TCP (and TLS) connection instead of a handshake each.
Each request still runs under its own :class:`~.deadline.Deadline`::

    with Deadline(seconds) as deadline:
        session = kept.open(deadline)     # the kept connections are watched by deadline
        ok = False
        try:
            response = session.request(...)
            ...
            ok = True
        finally:
            kept.done(ok)                 # a failed request drops the connection

A connection idle for more than :attr:`KeptSession.idle` seconds is not reused (the store
may have closed it meanwhile: a request on it would fail); :attr:`connections` counts the
connections opened (tests and benches read it).
"""

import time

from pycstbox.export.transports.deadline import _adapter_class


class KeptSession:
    """A ``requests.Session`` whose connections outlive a request (see the module doc)."""

    #: seconds a connection may stay idle and still be reused
    idle = 15.0

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._session = None
        self._socks = []
        self._deadline = None
        self._last = 0.0
        self.connections = 0
        self.live = 0           # connections open at the last open(): one may be reused

    def open(self, deadline):
        """The session for one request under ``deadline`` (its live sockets watched)."""
        if self._session is not None and self._clock() - self._last > self.idle:
            self.close()
        if self._session is None:
            import requests
            session = requests.Session()
            adapter = _adapter_class()(self)        # reports new sockets to watch()
            session.mount('http://', adapter)
            session.mount('https://', adapter)
            self._session = session
        self._deadline = deadline
        self._socks = [s for s in self._socks if s.fileno() != -1]
        self.live = len(self._socks)
        for sock in self._socks:
            deadline.watch(sock)
        return self._session

    def watch(self, sock):
        """A new connection's socket (called by the adapter): kept, and watched now."""
        self.connections += 1
        self._socks.append(sock)
        if self._deadline is not None:
            self._deadline.watch(sock)

    def done(self, ok):
        """End of a request: keep the connection when ``ok``, else drop it."""
        self._deadline = None
        self._last = self._clock()
        if not ok:
            self.close()

    def close(self):
        """Close the session and its connections (idempotent)."""
        session, self._session = self._session, None
        self._socks = []
        if session is not None:
            session.close()
