"""cbx-evtdb generate and the cbx-evtdb command line."""

import subprocess
import sys
from datetime import date

from pycstbox.evtdb import fsys
from tests.peers.evtdb import _env


def cbx_evtdb(*args, timeout=60):
    return subprocess.run([sys.executable, '-m', 'pycstbox.evtdb'] + [str(a) for a in args],
                          env=_env(), capture_output=True, text=True, timeout=timeout)


def test_generate_is_deterministic_and_realistic(tmp_path):
    """Same arguments give the same files; data covers the CSTBox kinds of variables."""
    for name in ('a', 'b'):
        r = cbx_evtdb('generate', '--root', tmp_path / name, '--from', '2026-11-27', '--days', 2,
                      '--sensors', 14, '--interval', 30)
        assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / 'a' / 'sensor').iterdir())
    assert files == ['261127.evt-log', '261128.evt-log']
    for f in files:
        assert (tmp_path / 'a' / 'sensor' / f).read_bytes() == (tmp_path / 'b' / 'sensor' / f).read_bytes()
    counters = {}
    rows = [r for d in (date(2026, 11, 27), date(2026, 11, 28))
            for r in fsys.read_day(str(tmp_path / 'a'), 'sensor', d, counters=counters)]
    assert counters['skipped'] == 0
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    kinds = {r[1] for r in rows}
    assert {'energy', 'power', 'temperature', 'humidity', 'motion', 'opened', 'notification'} <= kinds
    names = {r[2] for r in rows}
    assert any(',' in n for n in names) and any('"' in n for n in names)
    assert any(' ' in n for n in names) and any(not n.isascii() for n in names)
    assert any(r[0].microsecond % 1000 == 0 and r[0].microsecond for r in rows)
    for name in {r[2] for r in rows if r[1] == 'energy'}:
        values = [float(r[3]) for r in rows if r[2] == name]
        assert values == sorted(values) and values[0] < values[-1]
    temps = [float(r[3]) for r in rows if r[1] == 'temperature']
    assert max(temps) - min(temps) > 3            # daily cycle
    assert {r[3] for r in rows if r[1] in ('motion', 'opened')} == {'True', 'False'}
    assert {r[3] for r in rows if r[1] == 'notification'} == {'None'}
    assert {r[4].get('unit') for r in rows if r[1] == 'power'} == {'W'}


def test_serve_usage_errors():
    """A missing --root directory is a usage error (exit 2) naming it."""
    r = cbx_evtdb('--root', '/nonexistent/evtdb-root', '--address', 'unix:path=/nonexistent')
    assert r.returncode == 2 and '/nonexistent/evtdb-root' in r.stderr
    r = cbx_evtdb('--help')
    assert r.returncode == 0 and '--max-events' in r.stdout
