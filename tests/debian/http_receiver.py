"""A throw-away HTTP upload receiver for the Debian package test.

Usage: /usr/bin/python3 http_receiver.py DIR [LIFETIME_SECONDS]

Listens on 127.0.0.1 (a free port, written to ``DIR/port`` once listening) and
saves the body of every POST or PUT to ``DIR/NNNN.body``, with the request
line and headers in ``DIR/NNNN.head``, then answers 200 with the JSON reply of
the CSTBox data warehouse.  Exits by itself after LIFETIME_SECONDS (default
300), so that a killed test cannot leave it running forever.
"""

import http.server
import json
import os
import sys
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    """Saves each upload under the next sequence number."""

    counter = 0
    lock = threading.Lock()
    directory = '.'

    def _receive(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        with self.lock:
            type(self).counter += 1
            seq = type(self).counter
        base = os.path.join(self.directory, '%04d' % seq)
        with open(base + '.head.tmp', 'w', encoding='utf-8') as head:
            head.write('%s %s\n%s' % (self.command, self.path, self.headers))
        with open(base + '.body.tmp', 'wb') as out:
            out.write(body)
        os.rename(base + '.head.tmp', base + '.head')
        os.rename(base + '.body.tmp', base + '.body')
        reply = json.dumps({'jobID': seq, 'message': 'received'}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = _receive
    do_PUT = _receive

    def log_message(self, fmt, *args):  # noqa: D102 - quiet: the test reads the files
        pass


def main(argv):
    """Serves until the lifetime is over; returns the exit status."""
    directory = argv[1]
    lifetime = float(argv[2]) if len(argv) > 2 else 300.0
    _Handler.directory = directory
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    port_file = os.path.join(directory, 'port')
    with open(port_file + '.tmp', 'w', encoding='ascii') as out:
        out.write('%d\n' % server.server_address[1])
    os.rename(port_file + '.tmp', port_file)
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
