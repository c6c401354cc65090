"""cbx-exportd outbox against odd file names and files still being written (issue 10)."""

import os
import time

from .conftest import drop, wait_for

LATIN1 = b'caf\xe9.csv'                  # not UTF-8
FORGING = 'x\n2026-01-01 00:00:00,000 [E] FORGED > line.csv'


def test_non_utf8_name_does_not_kill_the_daemon(outbox_setup, http_peer, daemon_factory,
                                                tmp_path):
    """A file whose name is not UTF-8 is sent under an encoded name; the daemon lives on."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    src = os.fsencode(str(tmp_path / 'src'))
    os.makedirs(src)
    with open(os.path.join(src, LATIN1), 'wb') as f:
        f.write(b'latin')
    os.rename(os.path.join(src, LATIN1), os.path.join(os.fsencode(outbox), LATIN1))
    time.sleep(0.3)
    drop(outbox, 'after.csv', b'ok', str(tmp_path / 'src'))
    wait_for(lambda: http_peer.read('after.csv') == b'ok', 3, what='the file after it')
    assert d.proc.poll() is None, d.log()
    wait_for(lambda: not os.listdir(outbox), 3, what='an empty outbox')
    assert {u.key for u in http_peer.uploads} == {'lyon-b12-outbox-caf%E9.csv',
                                                 'lyon-b12-outbox-after.csv'}


def test_line_break_in_name_sent_and_escaped_in_log(outbox_setup, http_peer, daemon_factory,
                                                    tmp_path):
    """A name with a line break neither blocks the outbox nor forges a log line."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    drop(outbox, FORGING, b'forged', str(tmp_path / 'src'))
    time.sleep(0.3)
    drop(outbox, 'after.csv', b'ok', str(tmp_path / 'src'))
    wait_for(lambda: http_peer.read('after.csv') == b'ok', 3, what='the file after it')
    wait_for(lambda: not os.listdir(outbox), 3, what='an empty outbox')
    assert len(http_peer.uploads) == 2
    log = d.log()
    assert 'x\\x0a2026-01-01' in log
    assert not any(line.startswith('2026-01-01 00:00:00,000') for line in log.splitlines())


def test_start_up_scan_waits_until_files_are_quiet(outbox_setup, http_peer, daemon_factory,
                                                   tmp_path):
    """At start-up a file open for writing, or modified within seconds, is not sent yet."""
    cfg, outbox = outbox_setup
    os.makedirs(outbox)
    with open(os.path.join(outbox, 'fresh.csv'), 'wb') as f:
        f.write(b'fresh\n')
    fresh_at = time.monotonic()
    with open(os.path.join(outbox, 'growing.csv'), 'wb') as f:
        for i in range(4):
            f.write(b'line %d\n' % i)
        f.flush()
        d = daemon_factory(cfg)
        for i in range(4, 12):
            time.sleep(0.15)
            f.write(b'line %d\n' % i)
            f.flush()
        assert http_peer.read('growing.csv') is None, 'sent while open for writing'
    wait_for(lambda: http_peer.read('growing.csv') is not None, 3, what='growing.csv')
    assert http_peer.read('growing.csv') == b''.join(b'line %d\n' % i for i in range(12))
    time.sleep(max(0.0, fresh_at + 2.0 - time.monotonic()))
    assert http_peer.read('fresh.csv') is None, 'fresh.csv sent before it was quiet'
    wait_for(lambda: http_peer.read('fresh.csv') == b'fresh\n', 5, what='fresh.csv')
    assert len(http_peer.uploads) == 2
    assert d.proc.poll() is None


class _RefusingTransport:
    """A transport whose library refuses some names (as ftplib did with a line break)."""

    def __init__(self, sent):
        self.sent = sent

    def send(self, path, name, *, job='', key=None):
        if name.startswith('bad'):
            raise ValueError('an illegal newline character should not be contained')
        with open(path, 'rb') as f:
            self.sent[name] = f.read()

    def close(self):
        pass


def test_file_refused_by_the_library_is_set_aside_and_lane_moves_on(tmp_path):
    """A file the transport cannot send (ValueError) goes to failed/<target>/; newer files go."""
    import types
    from pycstbox.export.daemon.outboxlane import OutboxLane
    sent = {}
    target = types.SimpleNamespace(name='web', type='ftp', options={})
    lane = OutboxLane(target, 'site', str(tmp_path / 'state'),
                      transport_factory=lambda t, s: _RefusingTransport(sent))
    os.makedirs(lane.dir)
    for i, name in enumerate(['bad\nname.csv', 'good.csv']):
        with open(os.path.join(lane.dir, name), 'wb') as f:
            f.write(name.encode())
        os.utime(os.path.join(lane.dir, name), (1000 + i, 1000 + i))
    lane.rescan()
    lane.start()
    try:
        wait_for(lambda: 'good.csv' in sent, 3, what='the newer file')
    finally:
        lane.stop()
        lane.join(5)
    failed = tmp_path / 'state' / 'failed' / 'web'
    assert (failed / 'bad\nname.csv').read_bytes() == b'bad\nname.csv'
    assert 'cannot send this file' in (failed / 'bad\nname.csv.error').read_text()
    assert not os.listdir(lane.dir)
