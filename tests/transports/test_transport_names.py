"""Odd file names (line breaks, control characters, bytes that are not UTF-8) against
real HTTP and FTP peers: delivered under an encoded name, never a library exception."""

import os

import pytest

from pycstbox.export.transports.filename import header_value, printable, wire_name
from tests.transports.harness import USER_PASSWORD, make

# os.listdir gives undecodable bytes back as lone surrogates: b'caf\xe9' -> 'caf\udce9'
LATIN1 = os.fsdecode(b'caf\xe9.csv')
NEWLINE = 'a\r\nb.csv'


def http(peer, **kw):
    opts = dict(url=peer.url + '/up/{name}', username='gw', password=USER_PASSWORD,
                timeout=3, connect_timeout=2)
    opts.update(kw)
    return make('http', name='web', **opts)


def ftp(peer):
    return make('ftp', name='drop', host='127.0.0.1', port=peer.port, user='user',
                password=peer.password, timeout=5)


def test_name_encodings():
    """Ordinary names are unchanged; odd characters are escaped, never passed raw."""
    for name in ('meter.csv', 'a b%.csv', 'Ã©tÃ©.csv'):
        assert wire_name(name) == name and printable(name) == name
    assert wire_name(NEWLINE) == 'a%0D%0Ab.csv'
    assert wire_name(LATIN1) == 'caf%E9.csv'
    assert printable(NEWLINE) == 'a\\x0d\\x0ab.csv'
    assert printable(LATIN1) == 'caf\\xe9.csv'
    assert header_value('site-outbox-meter.csv') == 'site-outbox-meter.csv'
    assert header_value('k-' + NEWLINE) == 'k-a%0D%0Ab.csv'
    assert header_value('k-a b%') == 'k-a%20b%25'
    assert header_value('k-' + LATIN1) == 'k-caf%E9.csv'


@pytest.mark.parametrize('name', [NEWLINE, LATIN1])
def test_http_put_odd_name_and_key_delivered(http_peer, data_file, name):
    """PUT of an odd name: URL and Idempotency-Key are encoded; the file arrives."""
    t = http(http_peer, method='PUT')
    t.send(data_file[0], name, job='outbox', key='lyon-b12-outbox-' + name)
    up = http_peer.uploads[-1]
    assert up.key == header_value('lyon-b12-outbox-' + name)
    assert '\n' not in up.key and up.size == len(data_file[1])


@pytest.mark.parametrize('name', [NEWLINE, LATIN1])
def test_http_post_odd_name_multipart_delivered(http_peer, data_file, name):
    """POST of an odd name: the multipart filename is encoded; the file arrives."""
    http(http_peer, url=http_peer.url + '/upload').send(data_file[0], name, key='k-' + name)
    up = http_peer.uploads[-1]
    assert up.name == wire_name(name)
    assert http_peer.read(wire_name(name)) == data_file[1]


@pytest.mark.parametrize('name', [NEWLINE, LATIN1])
def test_ftp_odd_name_delivered_encoded(ftp_peer, data_file, name):
    """FTP of an odd name: stored under its encoded name (no broken command line)."""
    ftp(ftp_peer).send(data_file[0], name)
    assert ftp_peer.read('user', wire_name(name)) == data_file[1]
