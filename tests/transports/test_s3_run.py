"""`cbx-export run` end to end to real S3 stores (SeaweedFS, moto): real dbus-daemon + cbx-evtdb."""

import base64
import datetime
import gzip
import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.seaweedfs import BUCKET
from tests.transports.conftest import s3_options

FIRST = datetime.date(2026, 11, 20)
DAYS = 2
NOW = '2026-11-22T02:00:00Z'          # both Paris days are due


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """A private bus with cbx-evtdb serving generated days (one each side of them)."""
    tmp = tmp_path_factory.mktemp('store')
    root = tmp / 'db'
    generate_days(root, FIRST - datetime.timedelta(days=1), days=DAYS + 2, sensors=3,
                  interval=600)
    with evtdb_bus(tmp, root) as address:
        yield address


def cli(tmp_path, cfg, *args):
    env = dict(os.environ, CBX_EXPORT_NOW=NOW, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'),
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(
                   os.path.abspath(__file__)))))
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg] + list(args),
                          env=env, capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path))


def test_run_lands_windows_byte_identical_with_checksum(tmp_path, store, s3peer):
    """Each daily window (Europe/Paris) lands under the contract key, byte-identical to
    `cbx-export export` of the same window; the store holds its SHA-256, and the journal
    records ours."""
    o = s3_options(s3peer, prefix='e2e-%s/' % s3peer.kind)
    (tmp_path / 'sk').write_text(o['secret_access_key'])
    (tmp_path / 'sk').chmod(0o600)
    cfg = tmp_path / 'export.toml'
    cfg.write_text('''
site = "lyon-b12"
state_dir = "%s"
timezone = "Europe/Paris"
[eventstore]
address = "%s"
timeout = 10
[targets.lake]
type = "s3"
endpoint = "%s"
region = "%s"
bucket = "%s"
prefix = "%s"
access_key_id = "%s"
secret_access_key_file = "sk"
timeout = 10
connect_timeout = 2
[jobs.daily]
target = "lake"
period = "1d"
delay = "15m"
format = "csv"
compress = "gzip"
start = "%s"
max_try = 1
retry_delay = 0
''' % (tmp_path / 'state', store, o['endpoint'], o['region'], BUCKET, o['prefix'],
       o['access_key_id'],
       FIRST.isoformat()))
    cfg.chmod(0o600)
    r = cli(tmp_path, str(cfg), 'run')
    assert r.returncode == 0, r.stderr
    assert o['secret_access_key'] not in r.stderr
    for d in range(DAYS):
        day = FIRST + datetime.timedelta(days=d)
        start = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc) \
            - datetime.timedelta(hours=1)                  # Paris midnight in UTC (winter)
        end = start + datetime.timedelta(days=1)
        name = 'lyon-b12_daily_%s_%s.csv.gz' % (start.strftime('%Y%m%dT%H%M%SZ'),
                                                 end.strftime('%Y%m%dT%H%M%SZ'))
        key = '%ssite=lyon-b12/job=daily/date=%s/%s' % (o['prefix'], day.isoformat(), name)
        status, _, body = s3peer.request('GET', '/%s/%s' % (BUCKET, key))
        assert status == 200, key
        out = tmp_path / ('local-%d.csv.gz' % d)
        r = cli(tmp_path, str(cfg), 'export', '--from', start.strftime('%Y-%m-%dT%H:%M:%SZ'),
                '--to', end.strftime('%Y-%m-%dT%H:%M:%SZ'), '--format', 'csv',
                '--compress', 'gzip', '-o', str(out))
        assert r.returncode == 0, r.stderr
        assert body == out.read_bytes()
        assert len(gzip.decompress(body).splitlines()) > 100
        status, headers, _ = s3peer.request('HEAD', '/%s/%s' % (BUCKET, key),
                                             headers={'x-amz-checksum-mode': 'ENABLED'})
        ours = base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert {k.lower(): v for k, v in headers.items()}['x-amz-checksum-sha256'] == ours
        # what the object says of itself (issue 22): type, window, events, content hash
        headers = {k.title(): v for k, v in headers.items()}
        assert headers['Content-Type'] == 'application/gzip'
        assert headers['X-Amz-Meta-Sha256'] == hashlib.sha256(body).hexdigest()
        assert (headers['X-Amz-Meta-Window-Start'], headers['X-Amz-Meta-Window-End']) == (
            start.strftime('%Y-%m-%dT%H:%M:%SZ'), end.strftime('%Y-%m-%dT%H:%M:%SZ'))
        assert headers['X-Amz-Meta-Events'] == str(len(gzip.decompress(body).splitlines()) - 1)
        journal = [json.loads(line) for line in
                   (tmp_path / 'state' / 'journal' / 'daily.jsonl').read_text().splitlines()]
        assert [j['s3_checksum'] for j in journal if j.get('key') == key] == [ours]
