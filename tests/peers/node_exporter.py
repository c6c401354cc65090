"""A real Prometheus node_exporter (Debian's prometheus-node-exporter) serving a textfile dir.

Usage::

    with node_exporter(textfile_dir) as scrape:
        families = scrape()           # {metric name: [(labels dict, value)]} of GET /metrics

Only the textfile collector runs (``--collector.disable-defaults``), on 127.0.0.1 and a
port chosen at run time; the process is killed when the context exits.
"""

import contextlib
import os
import socket
import subprocess
import time
import urllib.request

import pytest

BINARY = '/usr/bin/prometheus-node-exporter'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def parse(text):
    """{name: [(labels, value)]} of a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


@contextlib.contextmanager
def node_exporter(textfile_dir, log_path=None):
    """node_exporter reading ``textfile_dir``; yields ``scrape()`` (see module docstring)."""
    if not os.access(BINARY, os.X_OK):
        pytest.fail('%s missing: apt install prometheus-node-exporter (.ci/install-deps)' % BINARY)
    log = open(log_path or os.path.join(os.fspath(textfile_dir), '..', 'node_exporter.log'), 'ab')
    proc = url = None
    try:
        for _ in range(5):                      # the port may be taken between pick and bind
            port = _free_port()
            proc = subprocess.Popen(
                [BINARY, '--web.listen-address=127.0.0.1:%d' % port,
                 '--collector.textfile.directory=%s' % os.fspath(textfile_dir),
                 '--collector.disable-defaults', '--collector.textfile'],
                stdout=log, stderr=subprocess.STDOUT)
            url = 'http://127.0.0.1:%d/metrics' % port
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(url, timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                proc.kill()
                proc.wait(10)
                continue
            break
        else:
            raise AssertionError('node_exporter did not start (see its log)')

        def scrape():
            with urllib.request.urlopen(url, timeout=10) as r:
                return parse(r.read().decode('utf-8'))
        yield scrape
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
