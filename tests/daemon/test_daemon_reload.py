"""cbx-exportd reloads that move what it serves (issue 25): a new state_dir moves the
single-instance lock (or the reload is refused), and no two lanes ever serve one outbox."""

import os
import subprocess
import sys
import time

from .conftest import DaemonProc, SITE, drop, wait_for, write_config


def _rewrite(path, state_dir, url, with_web=True):
    """The config at ``path``: target ``web`` (HTTP PUT) or only a dir target ``other``."""
    if with_web:
        return write_config(path, state_dir, url)
    with open(path, 'w') as f:
        f.write('site = "%s"\nstate_dir = "%s"\ntimezone = "UTC"\n\n[eventstore]\n'
                'address = "unix:path=/nonexistent"\n\n[targets.other]\ntype = "dir"\n'
                'path = "%s"\n' % (SITE, state_dir, os.path.join(os.path.dirname(path), 'dirt')))
    return str(path)


def _reload(d, count):
    """SIGHUP, then wait for the ``count``-th reload line (applied or refused)."""
    d.signal(__import__('signal').SIGHUP)
    wait_for(lambda: d.log().count('configuration reloaded') + d.log().count('not reloaded')
             >= count, 15, what='reload %d' % count)


def _second(tmp_path, cfg, sub):
    os.makedirs(tmp_path / sub, exist_ok=True)
    return DaemonProc(tmp_path / sub, cfg)


def test_state_dir_moved_by_reload_moves_the_lock(tmp_path, http_peer, daemon_factory):
    """After a reload to a new state_dir, a second daemon there is refused (exit 3) and one on
    the old state_dir may start."""
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state1', http_peer.url)
    a = daemon_factory(cfg)
    write_config(tmp_path / 'export.toml', tmp_path / 'state2', http_peer.url)
    _reload(a, 1)
    assert 'configuration reloaded' in a.log(), a.log()
    cfg2 = write_config(tmp_path / 'b.toml', tmp_path / 'state2', http_peer.url)
    b = _second(tmp_path, cfg2, 'b')
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export.daemon', '-c', cfg2],
                         env=b.env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 3, out.stderr
    assert 'another cbx-exportd already serves' in out.stderr
    cfg1 = write_config(tmp_path / 'c.toml', tmp_path / 'state1', http_peer.url)
    c = _second(tmp_path, cfg1, 'c')
    try:
        c.start()                          # the old state_dir is free again
        drop(str(tmp_path / 'state2' / 'outbox' / 'web'), 'moved.txt', b'x\n',
             str(tmp_path / 'tmp'))
        drop(str(tmp_path / 'state1' / 'outbox' / 'web'), 'old.txt', b'y\n',
             str(tmp_path / 'tmp'))
        wait_for(lambda: http_peer.read('moved.txt') and http_peer.read('old.txt'), 15,
                 what='both outboxes served')
        time.sleep(0.5)
        assert sorted(u.name for u in http_peer.uploads) == ['moved.txt', 'old.txt']
    finally:
        c.kill()
    assert a.proc.poll() is None


def test_reload_to_a_state_dir_served_by_another_daemon_refused(tmp_path, http_peer,
                                                                daemon_factory):
    """A reload to a state_dir another daemon holds is refused in one line; the old config
    stays and each file is sent once."""
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state1', http_peer.url)
    a = daemon_factory(cfg)
    cfg2 = write_config(tmp_path / 'b.toml', tmp_path / 'state2', http_peer.url)
    b = _second(tmp_path, cfg2, 'b')
    try:
        b.start()
        write_config(tmp_path / 'export.toml', tmp_path / 'state2', http_peer.url)
        _reload(a, 1)
        refusals = [l for l in a.log().splitlines() if 'not reloaded' in l]
        assert len(refusals) == 1 and 'another cbx-exportd already serves' in refusals[0], \
            a.log()
        assert 'pid %d' % b.pid in refusals[0]
        for i, sd in enumerate(('state1', 'state2', 'state2', 'state1')):
            drop(str(tmp_path / sd / 'outbox' / 'web'), 'f%d.txt' % i, b'%d\n' % i,
                 str(tmp_path / 'tmp'))
        wait_for(lambda: len(http_peer.uploads) >= 4, 15, what='four deliveries')
        time.sleep(1.0)
        assert sorted(u.name for u in http_peer.uploads) == ['f0.txt', 'f1.txt', 'f2.txt',
                                                             'f3.txt']
    finally:
        b.kill()
    assert a.proc.poll() is None


def test_target_removed_during_upload_and_added_back_one_lane(tmp_path, http_peer,
                                                              daemon_factory):
    """Removing a target while its upload runs, then adding it back: every file sent once
    (the new lane waits for the old one)."""
    cfg = write_config(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url)
    outbox = str(tmp_path / 'state' / 'outbox' / 'web')
    d = daemon_factory(cfg)
    http_peer.behave('slow', delay=4.0, times=1)
    src = tmp_path / 'tmp'
    os.makedirs(src)
    (src / 'first.txt').write_bytes(b'first\n')
    past = time.time() - 60                     # quiet already: a rescan would send it at once
    os.utime(src / 'first.txt', (past, past))
    os.rename(src / 'first.txt', os.path.join(outbox, 'first.txt'))
    wait_for(lambda: http_peer.requests, 10, what='the slow upload under way')
    slow_ends = time.monotonic() + 4.0
    _rewrite(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url, with_web=False)
    _reload(d, 1)
    _rewrite(tmp_path / 'export.toml', tmp_path / 'state', http_peer.url, with_web=True)
    _reload(d, 2)
    drop(outbox, 'second.txt', b'second\n', str(src))
    wait_for(lambda: http_peer.read('second.txt'), 20, what='second.txt')
    wait_for(lambda: not os.path.exists(os.path.join(outbox, 'first.txt')), 10,
             what='first.txt removed')
    time.sleep(max(1.0, slow_ends + 1.5 - time.monotonic()))   # the slow answer came too
    names = sorted(u.name for u in http_peer.uploads)
    assert names == ['first.txt', 'second.txt'], names
    assert d.proc.poll() is None
