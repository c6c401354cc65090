"""A TCP relay on loopback that counts connections and bytes each way (keep-alive proofs).

Usage::

    with CountingRelay('127.0.0.1', store_port) as relay:
        relay.endpoint                  # 'http://127.0.0.1:PORT': give it to the client
        relay.connections               # connections accepted so far
        relay.up, relay.down            # bytes client -> store, store -> client
        relay.drop()                    # close every open connection (a store closing
                                        # its idle connections)
        relay.drip = 0.5                # from now on, one byte to the client every 0.5 s
        relay.cut_next = True           # the next request on an open connection: closed
                                        # unanswered (a store closing it as it arrives)

``CountingRelay(host, port, tls=server_ssl_context)`` also terminates TLS on the client
side (the store behind it speaks plain HTTP): put a plain relay in front of it to count
the bytes a client sends and receives over TLS, handshakes included.

Each accepted connection gets one thread pumping both ways with ``select``.
"""

import select
import socket
import threading
import time


class CountingRelay:
    """Relay 127.0.0.1:<port> to ``(host, port)`` (a context manager)."""

    def __init__(self, host, port, tls=None):
        self.upstream = (host, port)
        self.tls = tls
        self.connections = 0
        self.up = self.down = 0
        self.drip = 0.0
        self.cut_next = False
        self._lock = threading.Lock()
        self._open = []
        self._stop = False
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(('127.0.0.1', 0))
        self._srv.listen(16)
        self.port = self._srv.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._srv.close()
        self.drop()

    def reset(self):
        """Zero the counters."""
        with self._lock:
            self.connections = 0
            self.up = self.down = 0

    def drop(self):
        """Close every open connection, both sides."""
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self):
        while not self._stop:
            try:
                client, _ = self._srv.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _count(self, up, n):
        with self._lock:
            if up:
                self.up += n
            else:
                self.down += n

    def _pump(self, client, server):
        try:
            if self.tls is not None:
                client.settimeout(10)
                client = self.tls.wrap_socket(client, server_side=True)
                client.settimeout(None)
            while True:
                readable, _, _ = select.select([client, server], [], [], 1.0)
                if self._stop:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    while s is client and self.tls is not None and client.pending():
                        data += client.recv(client.pending())
                    if s is client and self.cut_next:
                        self.cut_next = False
                        return
                    if s is client:
                        server.sendall(data)
                        self._count(True, len(data))
                    elif self.drip:
                        for i in range(len(data)):
                            client.sendall(data[i:i + 1])
                            self._count(False, 1)
                            time.sleep(self.drip)
                    else:
                        client.sendall(data)
                        self._count(False, len(data))
        except (OSError, ValueError):
            return
        finally:
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass
