"""A TCP relay on 127.0.0.1 that counts the bytes of every connection, both directions.

Usage::

    with Relay(('127.0.0.1', peer.port)) as relay:     # in front of any TCP server
        url = 'https://127.0.0.1:%d/...' % relay.port  # the client talks to the relay
        ...
        relay.up, relay.down, relay.connections         # client->server, server->client bytes

What it counts is the TCP payload (TLS records included), not the TCP/IP headers.
"""

import socket
import threading


class Relay:
    def __init__(self, upstream):
        self.upstream = upstream
        self.up = self.down = self.connections = 0
        self.lock = threading.Lock()
        self.sock = None
        self.threads = []

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()
        for t in self.threads:
            t.join(5)

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.connections += 1
            for a, b, field in ((client, server, 'up'), (server, client, 'down')):
                t = threading.Thread(target=self._pipe, args=(a, b, field), daemon=True)
                t.start()
                self.threads.append(t)

    def _pipe(self, src, dst, field):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    setattr(self, field, getattr(self, field) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
