"""Hostile event stores (issue 10, defects 9 and 10): a bad value or a store that
ignores from/to never wedges a window nor a run."""

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from pycstbox.evtdb.client import EventStoreClient
from pycstbox.export.errors import EventStoreError
from tests.peers.evtdb import _env, private_bus, wait_for_name

from .conftest import HERE

UTC = timezone.utc


def at(*args):
    return datetime(*args, tzinfo=UTC)


def run_stub(address, mode):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'stub_evtdb.py'), address, mode],
                            env=_env())
    wait_for_name(address, proc=proc)
    return proc


def stop(proc):
    proc.kill()
    proc.wait(5)


def test_huge_integer_value_kept_as_text(tmp_path):
    """A 5000-digit integer value (past int()'s limit) is kept as its text; the read goes on."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'hugeint')
        try:
            with EventStoreClient(address, timeout=5) as c:
                events = list(c.events(at(2026, 11, 27), at(2026, 11, 27, 0, 0, 5)))
        finally:
            stop(proc)
    assert [e.var_name for e in events] == ['ok', 'huge', 'ok2']
    assert events[1].value == '9' * 5000 and events[2].value == 22


def test_huge_integer_value_export_command(tmp_path):
    """``cbx-export export`` of a window holding a 5000-digit value: exit 0, the digits written."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'hugeint')
        try:
            cfg = tmp_path / 'export.toml'
            cfg.write_text('state_dir = "%s"\n[eventstore]\naddress = "%s"\ntimeout = 5\n'
                           % (tmp_path / 'state', address))
            for fmt in ('csv', 'jsonl', 'dwh-zip'):
                out = tmp_path / ('out.' + fmt)
                res = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg),
                                      'export', '--from', '2026-11-27T00:00:00Z', '--to',
                                      '2026-11-27T00:00:05Z', '--format', fmt, '-o', str(out)],
                                     env=_env(), capture_output=True, text=True, timeout=60)
                assert res.returncode == 0, res.stderr
                assert 'Traceback' not in res.stderr
                if fmt != 'dwh-zip':
                    assert '9' * 5000 in out.read_text(encoding='utf-8')
        finally:
            stop(proc)


def test_store_ignoring_from_to_ends_with_error(tmp_path):
    """A store answering the same events to every call: the read ends with an EventStoreError
    after a few calls, out-of-range events dropped and counted (never an endless run)."""
    with private_bus(tmp_path) as address:
        proc = run_stub(address, 'ignorant')
        box = {}

        def read():
            try:
                with EventStoreClient(address, timeout=10) as c:
                    try:
                        box['events'] = sum(1 for _ in c.events(at(2026, 11, 27),
                                                                  at(2026, 11, 28)))
                    except EventStoreError as exc:
                        box['error'] = exc
                    box['stats'] = dict(c.stats)
            except Exception as exc:   # noqa: BLE001 - reported by the assertions
                box['other'] = exc

        t0 = time.monotonic()
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(60)
        elapsed = time.monotonic() - t0
        stop(proc)          # ends an endless reader (old code) with a D-Bus error
        reader.join(15)
    assert elapsed < 60, 'the read did not end within 60 s'
    assert 'error' in box, box
    assert 'ignores the requested time range' in str(box['error'])
    stats = box['stats']
    assert stats['events'] == 20000 and stats['outside'] >= 40000 and stats['calls'] <= 6


@pytest.mark.parametrize('text', ['9' * 5000, '-' + '1' * 4301], ids=['5000', '-4301'])
def test_decode_value_never_raises(text):
    """decode_value keeps an integer past int()'s digit limit as its text."""
    from pycstbox.evtdb.event import decode_value
    assert decode_value(text) == text
