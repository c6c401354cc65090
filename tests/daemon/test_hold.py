"""A target that refuses itself is held, not a dead letter per file (issue 25: one minute of
403 from a receiver dead-lettered 36 outbox files, each needing its own requeue)."""

import datetime
import json
import os
import subprocess
import sys
import time

from pycstbox.export.process.metrics import samples

from .conftest import SITE, UTC, DaemonProc, drop, wait_for, write_config


def _status(d, cfg, *args):
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'status']
                          + list(args), env=d.env, capture_output=True, text=True, timeout=30)


def _start(tmp_path, cfg):
    d = DaemonProc(tmp_path, cfg)
    d.env.update(CBX_EXPORT_HOLD_PROBE='1', CBX_EXPORT_PENDING_RETRY='1')
    return d


def test_403_holds_the_target_then_everything_is_delivered_once(tmp_path, store_address,
                                                                http_peer):
    """A 403: outbox files and the job's window wait (no dead letter), status and metrics say
    'target held' with the next probe, probes back off; once accepted, each is sent once."""
    y = datetime.datetime.now(UTC).date() - datetime.timedelta(days=1)
    state = tmp_path / 'state'
    cfg = write_config(tmp_path / 'export.toml', state, http_peer.url, store_address,
                       job=y.isoformat())
    outbox = state / 'outbox' / 'web'
    os.makedirs(outbox)
    for i in range(5):
        drop(str(outbox), 'f%d.txt' % i, b'file %d\n' % i, str(tmp_path / 'src'))
    http_peer.behave('status', status=403, body=b'forbidden: key revoked')
    d = _start(tmp_path, cfg)
    try:
        d.start()
        wait_for(lambda: json.loads(_status(d, cfg, '--json').stdout).get('holds'), 15,
                 what='the hold in status --json')
        time.sleep(4)                                  # probes at ~1, 2, 4 s: not 6 per s
        tried = len([r for r in http_peer.requests if r.method == 'PUT'])
        assert 2 <= tried <= 10, tried
        doc = json.loads(_status(d, cfg, '--json').stdout)
        hold = doc['holds']['web']
        assert '403' in hold['reason'] and hold['next_probe'] >= hold['since']
        assert any(p.startswith('target held: ') for p in doc['jobs']['daily']['problems'])
        assert doc['jobs']['daily']['pending'] == 1 and not doc['jobs']['daily']['dead_letters']
        assert doc['outbox']['web']['pending'] == 5 and not doc['outbox']['web']['dead_letters']
        assert not (state / 'failed').exists() or not any(
            os.listdir(p) for p in (state / 'failed').iterdir())
        text = _status(d, cfg).stdout
        assert 'PROBLEM: web: target held: ' in text and 'next probe' in text, text
        held = {labels['target']: v for name, _, labels, v in samples(doc)
                if name == 'cstbox_export_target_held'}
        assert held == {'web': 1}
        http_peer.behave('accept')
        window = '%s_daily_%sT000000Z_%sT000000Z.csv' % (
            SITE, y.strftime('%Y%m%d'), (y + datetime.timedelta(days=1)).strftime('%Y%m%d'))
        wait_for(lambda: len(http_peer.uploads) >= 6, 30, what='everything delivered')
        time.sleep(1.5)
        names = sorted(u.name for u in http_peer.uploads)
        assert names == sorted(['f%d.txt' % i for i in range(5)] + [window]), names
        doc = json.loads(_status(d, cfg, '--json').stdout)
        assert doc['holds'] == {} and doc['jobs']['daily']['pending'] == 0
        assert d.proc.poll() is None
    finally:
        d.kill()


def test_413_dead_letters_that_file_only(tmp_path, outbox_setup, http_peer):
    """A 413 (a refusal of one file) dead-letters that file; the others are delivered, no hold."""
    cfg, outbox = outbox_setup
    http_peer.behave('status', status=413, body=b'too large', times=1)
    d = _start(tmp_path, cfg)
    try:
        d.start()
        drop(outbox, 'big.bin', b'x' * 10, str(tmp_path / 'src'))
        wait_for(lambda: (tmp_path / 'state' / 'failed' / 'web' / 'big.bin').exists(), 10,
                 what='the dead letter')
        for i in range(3):
            drop(outbox, 'f%d.txt' % i, b'%d\n' % i, str(tmp_path / 'src'))
        wait_for(lambda: len(http_peer.uploads) >= 3, 10, what='the other files')
        doc = json.loads(_status(d, cfg, '--json').stdout)
        assert doc['holds'] == {} and doc['outbox']['web']['dead_letters'] == ['big.bin']
        out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg, 'backlog',
                              'requeue', 'web', '--all'], env=d.env, capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0 and '1 outbox file(s) of target web' in out.stdout, \
            out.stdout + out.stderr
        wait_for(lambda: http_peer.read('big.bin'), 10, what='the requeued file delivered')
    finally:
        d.kill()


def test_job_placeholder_of_an_outbox_file_is_the_target_name(tmp_path, http_peer,
                                                              daemon_factory):
    """{job} in an http url is the target's name for outbox files (as etc/export.toml says)."""
    state = tmp_path / 'state'
    cfg = write_config(tmp_path / 'export.toml', state, http_peer.url + '/{job}')
    daemon_factory(cfg)
    drop(str(state / 'outbox' / 'web'), 'j.txt', b'j\n', str(tmp_path / 'src'))
    wait_for(lambda: http_peer.read('j.txt'), 10, what='j.txt')
    assert [u.path for u in http_peer.uploads] == ['/web/up/j.txt']
