"""What a budget counts for an upload (process/wire.py) covers what really crosses the
network: a byte-counting TCP relay in front of a real HTTP(S) receiver, both directions."""

import os
import time

import pytest

from pycstbox.export.process.wire import wire_bytes
from tests.peers.relay import Relay
from tests.transports.harness import USER_PASSWORD, Target, make


@pytest.mark.parametrize('size', [100, 60_000, 1_000_000])
@pytest.mark.parametrize('method', ['POST', 'PUT'])
@pytest.mark.parametrize('tls', [False, True])
def test_estimate_covers_the_bytes_on_the_wire(tmp_path, http_peer, https_peer, size, method,
                                               tls):
    """The estimate is at least the TCP payload of the upload (request, answer, TLS) and at
    most 1.2x it plus the fixed per-connection costs (TCP/IP headers are not seen here)."""
    peer = https_peer if tls else http_peer
    path = tmp_path / 'f.csv'
    path.write_bytes(os.urandom(size))
    name = 'lyon-b12_daily_20261127T000000Z_20261128T000000Z.csv.zst'
    with Relay(('127.0.0.1', peer.port)) as relay:
        opts = dict(url='%s://127.0.0.1:%d/api/sites/{site}/{job}/{name}'
                    % ('https' if tls else 'http', relay.port), username='gw',
                    password=USER_PASSWORD, method=method, timeout=10, connect_timeout=5,
                    field='file', headers={})
        if tls:
            opts['verify'] = peer.tls.ca
        t = make('http', name='warehouse', **opts)
        t.send(str(path), name, job='daily', key='lyon-b12-daily-261127000000')
        deadline = time.monotonic() + 5
        while relay.connections and time.monotonic() < deadline and not relay.down:
            time.sleep(0.02)
        time.sleep(0.1)
        wire = relay.up + relay.down
    estimate = wire_bytes(Target('warehouse', 'http', opts), size, name)
    print("\n%s %s %d: wire %d, estimate %d" % ("https" if tls else "http", method, size, wire,
                                                  estimate))
    assert wire <= estimate <= wire * 1.2 + 8192, (wire, estimate)


@pytest.mark.parametrize('size', [100, 60_000, 1_000_000])
def test_sftp_estimate_covers_the_bytes_on_the_wire(tmp_path, sshd_peer, size):
    """SFTP: the estimate covers the SSH connection's TCP payload (key exchange, login,
    the writes and their acknowledgements), both directions."""
    from tests.transports.conftest import sftp_options
    path = tmp_path / 'f.bin'
    path.write_bytes(os.urandom(size))
    updir = os.path.join(sshd_peer.dir, tmp_path.name)
    os.makedirs(updir)
    with Relay(('127.0.0.1', sshd_peer.port)) as relay:
        known = tmp_path / 'known_hosts'
        with open(sshd_peer.known_hosts) as f:
            known.write_text(f.read().replace(']:%d ' % sshd_peer.port, ']:%d ' % relay.port))
        opts = sftp_options(sshd_peer, port=relay.port, known_hosts=str(known),
                            directory=updir)
        t = make('sftp', name='box', **opts)
        t.send(str(path), 'f.bin')
        t.close()
        time.sleep(0.2)
        wire = relay.up + relay.down
    estimate = wire_bytes(Target('box', 'sftp', opts), size, 'f.bin')
    print('\nsftp %d: wire %d, estimate %d' % (size, wire, estimate))
    assert wire <= estimate <= wire * 1.2 + 8192, (wire, estimate)


@pytest.mark.parametrize('size', [100, 1_000_000, 11 * 1024 * 1024])
def test_s3_estimate_covers_the_bytes_on_the_wire(tmp_path, seaweed, size):
    """S3 (SeaweedFS): the estimate covers the signed request(s) and answers, single PUT and
    multipart (create, parts, complete)."""
    from pycstbox.export import transports
    from tests.transports.conftest import s3_options
    path = tmp_path / 'f.bin'
    path.write_bytes(os.urandom(size))
    name = 'lyon-b12_daily_20261127T000000Z_20261128T000000Z.csv.zst'
    port = int(seaweed.endpoint.rsplit(':', 1)[1])
    with Relay(('127.0.0.1', port)) as relay:
        opts = s3_options(seaweed, endpoint='http://127.0.0.1:%d' % relay.port,
                          prefix='wire-%d/' % size, multipart_threshold=5 * 1024 * 1024,
                          part_size=5 * 1024 * 1024, timeout=30)
        t = transports.create(Target('lake', 's3', opts), site='lyon-b12')
        t.send(str(path), name, job='daily')
        t.close()
        time.sleep(0.2)
        wire = relay.up + relay.down
    estimate = wire_bytes(Target('lake', 's3', opts), size, name)
    print('\ns3 %d: wire %d, estimate %d' % (size, wire, estimate))
    assert wire <= estimate <= wire * 1.2 + 16384, (wire, estimate)
