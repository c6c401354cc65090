"""An overall deadline for one HTTP request made with ``requests`` (connect + send + answer).

``requests`` timeouts bound each socket operation, not the request: a receiver that
drips one byte of its status line every few seconds, or reads the body one byte at a
time, holds a run (and ``state_dir/lock``) forever.  :class:`Deadline` is a watchdog
timer: when it fires, it shuts the request's socket down, so that the blocked read or
write fails at once, and ``expired`` tells the caller why::

    with Deadline(seconds) as deadline, requests.Session() as session:
        deadline.mount(session)
        response = session.request(..., stream=True)    # raises once expired

The socket is watched from its creation (``_new_conn``), through a duplicate of its
file descriptor (``shutdown`` acts on the socket, whichever descriptor names it), so
the TLS handshake is covered too, and wrapping it in TLS changes nothing.  Name
resolution happens before the socket exists: its own resolver timeouts apply; a
request whose socket appears after the deadline is shut down at once.

Used by the ``http`` transport; any transport built on ``requests`` may use it.
"""

import socket
import threading


class Deadline:
    """Shut down every socket of the mounted session(s) ``seconds`` after entering."""

    def __init__(self, seconds):
        self.seconds = float(seconds)
        self.expired = False
        self._lock = threading.Lock()
        self._socks = []
        self._timer = None

    def __enter__(self):
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            s.close()

    def mount(self, session):
        """Make every connection of ``session`` (a ``requests.Session``) watched."""
        adapter = _adapter_class()(self)
        session.mount('http://', adapter)
        session.mount('https://', adapter)

    def watch(self, sock):
        """Watch ``sock``: shut it down at the deadline (at once when already past)."""
        try:
            dup = sock.dup()
        except OSError:
            return
        with self._lock:
            if not self.expired:
                self._socks.append(dup)
                return
        _shutdown(dup)
        dup.close()

    def _expire(self):
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for s in socks:
            _shutdown(s)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:          # already closed or never connected
        pass


_ADAPTER = []


def _adapter_class():
    """``requests.adapters.HTTPAdapter`` whose connection pools report their sockets."""
    if _ADAPTER:
        return _ADAPTER[0]
    from requests.adapters import HTTPAdapter

    class DeadlineAdapter(HTTPAdapter):
        def __init__(self, deadline):
            self.deadline = deadline
            HTTPAdapter.__init__(self, max_retries=0)

        def get_connection(self, *args, **kwargs):                   # requests < 2.32
            return _arm(HTTPAdapter.get_connection(self, *args, **kwargs), self.deadline)

        def get_connection_with_tls_context(self, *args, **kwargs):  # requests >= 2.32
            return _arm(HTTPAdapter.get_connection_with_tls_context(self, *args, **kwargs),
                        self.deadline)

    _ADAPTER.append(DeadlineAdapter)
    return DeadlineAdapter


def _arm(pool, deadline):
    """Make the connections ``pool`` creates report their socket to ``deadline``."""
    base = pool.ConnectionCls
    if getattr(base, 'cbx_deadline', None) is deadline:
        return pool

    class WatchedConnection(base):
        cbx_deadline = deadline

        def _new_conn(self):
            sock = base._new_conn(self)
            deadline.watch(sock)
            return sock

    WatchedConnection.__name__ = 'Watched' + base.__name__
    pool.ConnectionCls = WatchedConnection
    return pool
