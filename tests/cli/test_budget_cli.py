"""cbx-export run/check/status with a metered budget: real cbx-evtdb, HTTP receiver and a
fake NetworkManager on a private bus ([network] bus), zstd-compressed windows."""

import io
import json

import pytest

from tests.peers.evtdb import private_bus
from tests.peers.http import HttpPeer
from tests.peers.networkmanager import fake_networkmanager
from tests.process.test_run_cli import (cli, events_by_window, pending, store,  # noqa: F401
                                        write_cfg)


def received_zstd(peer):
    """{window start: sorted [(ts, var_name)]} of the .jsonl.zst files received."""
    import datetime
    import zstandard
    out = {}
    for name in list(peer.by_name):
        start = datetime.datetime.strptime(name.split('_')[2], '%Y%m%dT%H%M%SZ')
        text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(peer.read(name))).read()
        rows = [json.loads(line) for line in text.decode().splitlines()]
        out[start] = sorted((r['ts'][:23], r['var_name']) for r in rows)
    return out


@pytest.fixture
def nm(tmp_path):
    with private_bus(tmp_path) as address, fake_networkmanager(address, tmp_path, 1) as fake:
        yield address, fake


def test_metered_budget_end_to_end(tmp_path, store, nm):  # noqa: F811
    """While NM says metered the budget holds windows back (exit 0, status and check say so);
    once NM says guess-no they all go; every window arrives once with its events."""
    root, address = store
    bus, fake = nm
    with HttpPeer(tmp_path / 'http') as peer:
        url = peer.url
        extra = 'compress = "zstd"\n[network]\nbus = "%s"\n' % bus
        cfg = write_cfg(tmp_path, address, url, extra=extra)
        text = open(cfg).read().replace('connect_timeout = 2\n', 'connect_timeout = 2\n'
                                        'budget = "16KiB/day"\nbudget_when = "metered"\n')
        open(cfg, 'w').write(text)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0, r.stderr
        assert 'waiting for a byte budget' in r.stderr
        sent = len(peer.uploads)
        assert 0 < sent < 12 and len(pending(tmp_path)) == 12 - sent
        assert all(u.name.endswith('.jsonl.zst') for u in peer.uploads)
        doc = json.loads(cli(tmp_path, cfg, 'status', '--json').stdout)
        b = doc['budgets']['web']
        assert b['metered'] == 'yes' and b['applies'] and b['deferred_windows'] == 12 - sent
        assert peer.received <= b['used'] <= 16 * 1024
        r = cli(tmp_path, cfg, 'check')
        assert 'network: NetworkManager says metered = yes on %s: budgets with budget_when = ' \
               '"metered" apply' % bus in r.stdout
        assert 'budget web: 16KiB/day while metered' in r.stdout
        fake.set(4)
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0, r.stderr
        assert pending(tmp_path) == [] and len(peer.uploads) == 12
        assert received_zstd(peer) == events_by_window(root, 6)
        r = cli(tmp_path, cfg, 'check')
        assert 'metered = guess-no' in r.stdout and 'do not apply now' in r.stdout


def test_killed_mid_upload_then_power_cut(tmp_path, store):  # noqa: F811
    """A run killed while an upload is on the wire has counted it; the resend counts again;
    after a power cut (/run lost) the count restarts above every byte the receiver got."""
    import os
    import shutil
    import signal
    import time
    from pycstbox.export import config as configmod
    from pycstbox.export.process.budget import Budget
    root, address = store
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = write_cfg(tmp_path, address, peer.url)
        text = open(cfg).read().replace('connect_timeout = 2\n', 'connect_timeout = 2\n'
                                        'budget = "1MiB/day"\n')
        open(cfg, 'w').write(text)
        peer.behave('hang')
        proc = cli(tmp_path, cfg, 'run', background=True)
        deadline = time.monotonic() + 120            # a loaded machine starts slowly
        while not peer.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert peer.requests, 'no upload started'
        seen = -1
        while seen != peer.received:                 # the body is read: it went on the wire
            seen = peer.received
            time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        ledger = tmp_path / 'run' / 'budget' / 'web.json'
        used = json.loads(ledger.read_text())['used']
        assert 0 < peer.received <= used, (peer.received, used)
        peer.behave('accept')
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0, r.stderr
        used = json.loads(ledger.read_text())['used']
        assert peer.received <= used <= 1024 * 1024 and pending(tmp_path) == []
        assert len(peer.uploads) == 12              # the killed upload (never answered) resent
        shutil.rmtree(tmp_path / 'run')              # power cut: /run is gone
        conf = configmod.load(cfg, environ={})
        rec = Budget(conf, str(tmp_path / 'run')).ledger('web').current('2026-11-23', 'day')
        assert rec['used'] >= used and not rec['exact']
        assert os.path.exists(tmp_path / 'state' / 'budget' / 'web.json')
