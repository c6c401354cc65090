"""`cbx-export run` and a target that refuses itself; `backlog requeue JOB|TARGET --all`
(issue 25: a 403 dead-lettered every window, each needing its own requeue)."""

import json

from tests.peers.http import HttpPeer
from tests.process.test_run_cli import DAYS, cli, pending, store, write_cfg  # noqa: F401


def _status(tmp_path, cfg):
    return json.loads(cli(tmp_path, cfg, 'status', '--json').stdout)


def test_403_holds_the_windows_and_retry_probes_at_once(tmp_path, store):  # noqa: F811
    """A 403 holds the target: one attempt, every window pending, none dead; `backlog retry`
    after the fix probes at once (no wait for the next probe) and delivers them all."""
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('status', status=403, body=b'key revoked')
        cfg = write_cfg(tmp_path, address, peer.url)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 1
        assert len([q for q in peer.requests if q.method == 'PUT']) == 1
        doc = _status(tmp_path, cfg)
        assert doc['jobs']['main']['pending'] == DAYS * 4
        assert not doc['jobs']['main']['dead_letters'] and 'key revoked' in \
            doc['holds']['web']['reason']
        r = cli(tmp_path, cfg, 'run')                    # before the next probe: nothing tried
        assert len([q for q in peer.requests if q.method == 'PUT']) == 1
        peer.behave('accept')
        r = cli(tmp_path, cfg, 'backlog', 'retry')
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(peer.uploads) == DAYS * 4 and pending(tmp_path) == []
        assert _status(tmp_path, cfg)['holds'] == {}


def test_requeue_all_of_a_job_and_of_a_target(tmp_path, store):  # noqa: F811
    """`requeue JOB --all` and `requeue TARGET --all` bring every dead letter back at once."""
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('status', status=413, body=b'too large')
        cfg = write_cfg(tmp_path, address, peer.url)
        assert cli(tmp_path, cfg, 'run').returncode == 1
        assert len(_status(tmp_path, cfg)['jobs']['main']['dead_letters']) == DAYS * 4
        r = cli(tmp_path, cfg, 'backlog', 'requeue', 'main', '--all')
        assert r.returncode == 0 and '%d window(s) of job main' % (DAYS * 4) in r.stdout, \
            r.stdout + r.stderr
        assert len(pending(tmp_path)) == DAYS * 4
        assert cli(tmp_path, cfg, 'backlog', 'retry').returncode == 1      # 413 again
        r = cli(tmp_path, cfg, 'backlog', 'requeue', 'web', '--all')
        assert r.returncode == 0 and '%d window(s) of job main' % (DAYS * 4) in r.stdout, \
            r.stdout + r.stderr
        peer.behave('accept')
        assert cli(tmp_path, cfg, 'backlog', 'retry').returncode == 0
        assert len(peer.uploads) == DAYS * 4
        r = cli(tmp_path, cfg, 'backlog', 'requeue', 'main')
        assert r.returncode == 2 and 'either an ID or --all' in r.stderr
