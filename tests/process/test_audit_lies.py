"""The audit against an S3 store whose listing lies (tests/peers/fakes3.py): exact verdicts, or
one INCOMPLETE line; never a false ok, never a false missing (DESIGN.md section 12)."""

import base64
import os
import subprocess
import sys

import pytest

from pycstbox.export.config import load
from pycstbox.export.process.reconcile import run_audit
from pycstbox.export.transports import create
from pycstbox.export.transports.s3 import S3Transport
from tests.peers.fakes3 import LIES, FakeS3
from tests.process.auditscale import Year, b64sha

COUNT = 300
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def truth(year):
    """What the store really holds: 3 windows lost, one cut short, one with other bytes."""
    objects = {k: (len(b), b64sha(b)) for k, b in year.objects.items()}
    keys = sorted(objects)
    for k in (keys[0], keys[100], keys[299]):
        del objects[k]
    objects[keys[50]] = (objects[keys[50]][0] - 3, b64sha(b'cut'))
    objects[keys[200]] = (objects[keys[200]][0], b64sha(b'other bytes'))
    expected = {k: 'ok' for k in keys}
    expected.update({keys[0]: 'missing', keys[100]: 'missing', keys[299]: 'missing',
                     keys[50]: 'mismatch', keys[200]: 'mismatch'})
    return objects, expected


@pytest.fixture
def lying(tmp_path, monkeypatch):
    monkeypatch.setattr(S3Transport, 'page_size', 40)          # 8 pages
    monkeypatch.setattr(S3Transport, 'max_pages', 20, raising=False)
    with FakeS3({}) as store:
        year = Year(tmp_path / 'box', store.endpoint, 'AK', 'SK', 'bkt', 'fleet/', COUNT)
        objects, expected = truth(year)
        store.load(objects)
        yield store, year, expected


def audit(year):
    config = load(year.config_path, environ={})
    [result] = run_audit(config, [], transport_factory=lambda t, site: create(t, site,
                                                                                config.tz))
    return result


@pytest.mark.parametrize('lie', LIES)
def test_lying_listing_gives_exact_verdicts_or_incomplete(lying, lie):
    """Keys left out, listed twice or out of order: the exact verdict of every window (a key
    the listing does not show is asked for by HEAD); a torn, cut, endless, looping or
    oversized listing: the job is INCOMPLETE with no window judged."""
    store, year, expected = lying
    store.lie = lie
    result = audit(year)
    if lie in ('', 'omit', 'duplicate', 'reorder'):
        assert result.error is None
        assert {w.key: w.status for w in result.windows} == expected
    else:
        assert result.error and 'cannot list target lake' in result.error, result.error
        assert result.windows == [] and not result.complete


@pytest.mark.parametrize('lie', ['', 'omit', 'duplicate'])
def test_listing_of_sizes_only_checksums_asked_ahead(lying, lie):
    """A listing of sizes only (as AWS and SeaweedFS give): the checksums come from HEADs
    asked ahead (several at a time), and the verdicts are exactly the truth's, the window
    with other bytes of the same size included."""
    store, year, expected = lying
    store.lie, store.list_checksums = lie, False
    result = audit(year)
    assert result.error is None
    assert {w.key: w.status for w in result.windows} == expected
    assert sum(1 for r in store.requests if r[0] == 'HEAD') >= COUNT - 3


def test_incomplete_listing_is_one_line_and_exit_1(lying):
    """`cbx-export audit` on a cut listing prints one INCOMPLETE line and exits 1."""
    store, year, _ = lying
    store.lie = 'unclosed'
    env = dict(os.environ, PYTHONPATH=ROOT, CBX_EXPORT_NOW='2026-01-01T00:00:00Z')
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', year.config_path,
                        'audit'], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and 'INCOMPLETE' in lines[0] and 'MISSING' not in r.stdout, lines
