"""A job of 15-minute windows delivered to an S3 target, made without a run: its config, its
journal and state files, and the objects the receiver should hold (the audit at scale,
tests/process/test_audit_s3_scale.py and bench/audit_year.py).

    year = Year(tmp_path, endpoint, access_key, secret_key, bucket, prefix, count)
    year.objects            # {key: body bytes}, one per window
    year.put_all(peer)      # PUT every object (8 threads, kept-alive connections)
    year.config_path        # a config whose job "quarter" sends to target "lake"
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

UTC = datetime.timezone.utc
FIRST = datetime.datetime(2025, 1, 1, tzinfo=UTC)
PERIOD = datetime.timedelta(minutes=15)
SITE = 'lyon-b12'

CONFIG = '''site = "%(site)s"
state_dir = "%(state)s"
timezone = "UTC"
[eventstore]
address = "unix:path=/nonexistent"
[targets.lake]
type = "s3"
endpoint = "%(endpoint)s"
region = "us-east-1"
bucket = "%(bucket)s"
prefix = "%(prefix)s"
access_key_id = "%(ak)s"
secret_access_key = %(sk)s
timeout = 30
connect_timeout = 5
[jobs.quarter]
target = "lake"
period = "15m"
format = "csv"
start = "%(day)s"
'''


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Year:
    """``count`` windows of job ``quarter`` from 2025-01-01 00:00 UTC, all delivered."""

    def __init__(self, root, endpoint, ak, sk, bucket, prefix, count, checksum=True):
        from pycstbox.export.process.journal import record
        from pycstbox.export.process.windowjob import upload_name
        root = os.fspath(root)
        os.makedirs(root, exist_ok=True)
        self.state = os.path.join(root, 'state')
        self.config_path = os.path.join(root, 'export.toml')
        with open(self.config_path, 'w') as f:
            f.write(CONFIG % dict(site=SITE, state=self.state, endpoint=endpoint, bucket=bucket,
                                  prefix=prefix, ak=ak, sk=json.dumps(sk),
                                  day=FIRST.date().isoformat()))
        os.chmod(self.config_path, 0o600)
        self.bucket = bucket
        self.objects = {}
        self.jobids = []
        lines = []
        delivered = FIRST + PERIOD * count
        for i in range(count):
            start = FIRST + PERIOD * i
            end = start + PERIOD
            name = upload_name(SITE, 'quarter', start, end, 'csv')
            key = '%ssite=%s/job=quarter/date=%s/%s' % (prefix, SITE, start.date(), name)
            body = b'time,var,value\n%s,t,%d\n' % (start.isoformat().encode(), i)
            self.objects[key] = body
            jobid = start.strftime('%y%m%d%H%M%S')
            self.jobids.append(jobid)
            lines.append(json.dumps(record(
                jobid, start, end, 'lake', events=1, delivered_at=delivered, name=name,
                key=key, size=len(body), sha256=hashlib.sha256(body).hexdigest(),
                s3_checksum=b64sha(body) if checksum else None), separators=(',', ':')))
        os.makedirs(os.path.join(self.state, 'journal'))
        with open(os.path.join(self.state, 'journal', 'quarter.jsonl'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.makedirs(os.path.join(self.state, 'state'))
        with open(os.path.join(self.state, 'state', 'quarter.json'), 'w') as f:
            json.dump({'watermark': (FIRST + PERIOD * count).strftime(
                '%Y-%m-%dT%H:%M:%S.000000Z')}, f)

    def put_all(self, endpoint, ak, sk, threads=8):
        """PUT every object (with its checksum), ``threads`` kept-alive connections."""
        from pycstbox.export.transports import sigv4
        u = urlsplit(endpoint)
        local = threading.local()

        def put(item):
            key, body = item
            conn = getattr(local, 'conn', None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            path = '/%s/%s' % (self.bucket, key)
            headers = sigv4.sign_headers(
                'PUT', path, [], {'x-amz-checksum-sha256': b64sha(body),
                                  'x-amz-sdk-checksum-algorithm': 'SHA256'},
                hashlib.sha256(body).hexdigest(), host=u.netloc, access_key=ak,
                secret_key=sk, region='us-east-1')
            conn.request('PUT', sigv4.canonical_uri(path), body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError('PUT %s: %d' % (key, resp.status))
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, self.objects.items(), chunksize=64))
