"""cbx-exportd outbox folders, against a real HTTP receiver."""

import os
import signal
import time

import pytest

from .conftest import drop, wait_for


def test_renamed_file_delivered_within_2s(outbox_setup, http_peer, daemon_factory, tmp_path):
    """A file renamed into an outbox is uploaded within 2 s, then removed."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    t0 = time.monotonic()
    drop(outbox, 'meter.csv', b'a,b\n1,2\n', str(tmp_path / 'src'))
    wait_for(lambda: http_peer.read('meter.csv') == b'a,b\n1,2\n', 2, what='the upload')
    assert time.monotonic() - t0 < 2
    wait_for(lambda: not os.path.exists(os.path.join(outbox, 'meter.csv')), 2,
             what='the removal')
    assert http_peer.by_name['meter.csv'].key == 'lyon-b12-outbox-meter.csv'
    wait_for(lambda: d.status()['outbox']['web']['delivered'] == 1, 2, what='status')


def test_files_present_at_start_sent_oldest_first(outbox_setup, http_peer, daemon_factory):
    """Files already in the outbox at start are all sent, oldest (mtime) first."""
    cfg, outbox = outbox_setup
    os.makedirs(outbox)
    for i, name in enumerate(['c-new', 'a-old', 'b-mid']):
        p = os.path.join(outbox, name)
        with open(p, 'wb') as f:
            f.write(name.encode())
        os.utime(p, (1000, {'a-old': 1000, 'b-mid': 2000, 'c-new': 3000}[name]))
    daemon_factory(cfg)
    wait_for(lambda: len(http_peer.uploads) == 3, 5, what='three uploads')
    assert [u.name for u in http_peer.uploads] == ['a-old', 'b-mid', 'c-new']
    wait_for(lambda: not os.listdir(outbox), 2, what='an empty outbox')


def test_slow_writer_not_sent_before_close(outbox_setup, http_peer, daemon_factory):
    """A file written slowly in place is sent only once closed, and arrives complete."""
    cfg, outbox = outbox_setup
    daemon_factory(cfg)
    path = os.path.join(outbox, 'slow.csv')
    with open(path, 'wb') as f:
        f.write(b'first half\n')
        f.flush()
        time.sleep(1.5)
        assert not any(r.path.endswith('/slow.csv') for r in http_peer.requests)
        f.write(b'second half\n')
    wait_for(lambda: http_peer.read('slow.csv') is not None, 2, what='the upload')
    assert http_peer.read('slow.csv') == b'first half\nsecond half\n'
    assert len(http_peer.uploads) == 1


def test_symlink_refused_and_left(outbox_setup, http_peer, daemon_factory, tmp_path):
    """A symlink renamed into an outbox is refused with a warning, not sent, and stays."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    secret = tmp_path / 'secret'
    secret.write_bytes(b'root password')
    os.makedirs(tmp_path / 'src')
    os.symlink(str(secret), str(tmp_path / 'src' / 'link.csv'))
    os.rename(str(tmp_path / 'src' / 'link.csv'), os.path.join(outbox, 'link.csv'))
    os.mkdir(str(tmp_path / 'src' / 'adir'))
    os.rename(str(tmp_path / 'src' / 'adir'), os.path.join(outbox, 'adir'))
    time.sleep(0.2)
    drop(outbox, 'after.csv', b'ok', str(tmp_path / 'src'))   # a barrier: sent after them
    wait_for(lambda: http_peer.read('after.csv') == b'ok', 3, what='the regular file')
    assert [u.name for u in http_peer.uploads] == ['after.csv']
    assert os.path.islink(os.path.join(outbox, 'link.csv'))
    assert os.path.isdir(os.path.join(outbox, 'adir'))
    log = d.log()
    assert 'link.csv refused' in log and 'symbolic link' in log
    assert 'adir refused' in log
    assert log.count('link.csv refused') == 1


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a file to another user')
def test_foreign_owner_refused(outbox_setup, http_peer, daemon_factory, tmp_path):
    """A file owned by another user (not root, not the service user) is refused and stays."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'foreign.csv').write_bytes(b'x')
    os.chown(str(src / 'foreign.csv'), 12345, 12345)
    os.rename(str(src / 'foreign.csv'), os.path.join(outbox, 'foreign.csv'))
    time.sleep(0.2)
    drop(outbox, 'mine.csv', b'ok', str(src))
    wait_for(lambda: http_peer.read('mine.csv') == b'ok', 3, what='the regular file')
    assert [u.name for u in http_peer.uploads] == ['mine.csv']
    assert os.path.exists(os.path.join(outbox, 'foreign.csv'))
    assert 'belongs to uid 12345' in d.log()


def test_permanent_failure_dead_lettered(outbox_setup, http_peer, daemon_factory, tmp_path):
    """A file the receiver refuses for good (413) moves to failed/<target>/ with its .error."""
    cfg, outbox = outbox_setup
    http_peer.behave('status', status=413, body='too large')
    daemon_factory(cfg)
    drop(outbox, 'bad.csv', b'x', str(tmp_path / 'src'))
    failed = tmp_path / 'state' / 'failed' / 'web'
    wait_for(lambda: (failed / 'bad.csv.error').exists(), 3, what='the dead letter')
    assert (failed / 'bad.csv').read_bytes() == b'x'
    assert '413' in (failed / 'bad.csv.error').read_text()
    assert not os.path.exists(os.path.join(outbox, 'bad.csv'))


def test_temporary_failure_kept_and_retried(outbox_setup, http_peer, daemon_factory, tmp_path):
    """A 503 keeps the file with a next retry in the status; the retry delivers it."""
    cfg, outbox = outbox_setup
    http_peer.behave('status', status=503)
    d = daemon_factory(cfg)
    drop(outbox, 'later.csv', b'data', str(tmp_path / 'src'))
    st = wait_for(lambda: (d.status() or {}).get('outbox', {}).get('web', {}).get('next_retry')
                  and d.status(), 3, what='a next_retry in the status')
    assert st['outbox']['web']['pending'] == 1 and '503' in st['outbox']['web']['last_error']
    assert os.path.exists(os.path.join(outbox, 'later.csv'))
    http_peer.behave('accept')
    d.signal(signal.SIGHUP)           # a reload retries at once instead of after the backoff
    wait_for(lambda: http_peer.read('later.csv') == b'data', 3, what='the retry')
    wait_for(lambda: not os.path.exists(os.path.join(outbox, 'later.csv')), 2, what='removal')


def test_sigterm_during_slow_upload_then_restart(outbox_setup, http_peer, daemon_factory,
                                                 tmp_path):
    """SIGTERM in a hung upload exits within 10 s; after a restart the file is delivered."""
    cfg, outbox = outbox_setup
    http_peer.behave('slow', delay=12)    # longer than the daemon's grace: it must abandon it
    d = daemon_factory(cfg)
    drop(outbox, 'w.csv', b'window', str(tmp_path / 'src'))
    wait_for(lambda: any(r.path.endswith('/w.csv') for r in http_peer.requests), 3,
             what='the upload to start')
    took = d.terminate(timeout=15)
    assert took < 10, 'daemon took %.1f s to stop' % took
    assert not os.path.exists(os.path.join(d.runtime, 'status.json'))
    assert os.path.exists(os.path.join(outbox, 'w.csv'))     # not lost
    http_peer.behave('accept')
    daemon_factory(cfg)
    wait_for(lambda: not os.path.exists(os.path.join(outbox, 'w.csv')), 5, what='delivery')
    assert http_peer.read('w.csv') == b'window'
    assert 1 <= sum(u.name == 'w.csv' for u in http_peer.uploads) <= 2


def test_sighup_broken_config_keeps_old(outbox_setup, http_peer, daemon_factory, tmp_path):
    """SIGHUP with an invalid config logs why, keeps running on the old one and still delivers."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    with open(cfg, 'a') as f:
        f.write('\nbogus_key = 1\n')
    d.signal(signal.SIGHUP)
    wait_for(lambda: 'not reloaded' in d.log(), 3, what='the refusal in the log')
    assert 'bogus_key' in d.log()
    assert d.proc.poll() is None
    drop(outbox, 'still.csv', b'alive', str(tmp_path / 'src'))
    wait_for(lambda: http_peer.read('still.csv') == b'alive', 2, what='the upload')


def test_sighup_follows_new_targets(outbox_setup, http_peer, daemon_factory, tmp_path):
    """After SIGHUP with a new target, its outbox folder is created and watched."""
    cfg, outbox = outbox_setup
    d = daemon_factory(cfg)
    with open(cfg, 'a') as f:
        f.write('\n[targets.other]\ntype = "http"\nurl = "%s/other/{name}"\nmethod = "PUT"\n'
                % http_peer.url)
    d.signal(signal.SIGHUP)
    other = tmp_path / 'state' / 'outbox' / 'other'
    wait_for(other.is_dir, 3, what='the new outbox folder')
    assert oct(other.stat().st_mode & 0o777) == oct(0o750)
    drop(str(other), 'o.csv', b'o', str(tmp_path / 'src'))
    wait_for(lambda: any(u.path == '/other/o.csv' for u in http_peer.uploads), 2,
             what='the upload to the new target')
