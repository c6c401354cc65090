"""The audit of many windows on a real SeaweedFS: several listing pages, exact verdicts
(the full year, 35,040 windows in 36 pages of 1,000, is bench/audit_year.py)."""

from pycstbox.export.config import load
from pycstbox.export.process.reconcile import run_audit
from pycstbox.export.transports import create
from pycstbox.export.transports.s3 import S3Transport
from tests.peers.seaweedfs import BUCKET
from tests.process.auditscale import Year, b64sha

COUNT = 300


def test_audit_over_pages_is_exact(tmp_path, seaweed, monkeypatch):
    """300 fifteen-minute windows stored and journaled, listed in pages of 100: ok for each,
    except the two deleted (on two pages) and the one replaced by other bytes of the same
    size (its stored checksum differs: HEAD)."""
    monkeypatch.setattr(S3Transport, 'page_size', 100)
    ak, sk = seaweed.identities['gw']
    year = Year(tmp_path / 'box', seaweed.endpoint, ak, sk, BUCKET, 'scale/', COUNT)
    year.put_all(seaweed.endpoint, ak, sk)
    keys = sorted(year.objects)
    for k in (keys[10], keys[250]):
        assert seaweed.request('DELETE', '/%s/%s' % (BUCKET, k))[0] == 204
    other = bytes(reversed(year.objects[keys[150]]))
    assert seaweed.request('PUT', '/%s/%s' % (BUCKET, keys[150]), other,
                           {'x-amz-checksum-sha256': b64sha(other)})[0] == 200
    config = load(year.config_path, environ={})
    [job] = run_audit(config, [], transport_factory=lambda t, site: create(t, site, config.tz))
    assert job.error is None and job.counts['ok'] == COUNT - 3
    assert sorted(w.key for w in job.windows if w.status == 'missing') == [keys[10], keys[250]]
    assert [w.key for w in job.windows if w.status == 'mismatch'] == [keys[150]]
