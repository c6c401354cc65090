"""The README's DuckDB query, exactly as printed, on a parquet landing in a real SeaweedFS.

``cbx-export run`` lands three daily windows (Europe/Paris) of a real store as parquet under
the README's bucket and prefix; DuckDB (httpfs, from the venv of ``.ci/install-deps``) runs
the README's SQL block with only the secret and the endpoint substituted, and returns the
mean of each energy variable per local day, equal to the mean of the store's events.
"""

import datetime
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.peers import parquet as peer
from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.seaweedfs import REGION

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRST = datetime.date(2026, 11, 1)
DAYS = 3
NOW = '2026-11-04T02:00:00Z'           # the Paris days of Nov 1, 2 and 3 are due
PARIS = datetime.timezone(datetime.timedelta(hours=1))      # November: CET, no DST change
pytestmark = pytest.mark.skipif(bool(peer.readers_usable()), reason=peer.readers_usable())

RUN_SQL = r'''
import duckdb, json, sys
con = duckdb.connect(config={'extension_directory': sys.argv[1]})
rows = con.execute(sys.stdin.read()).fetchall()
print(json.dumps([[str(x) if not isinstance(x, (int, float, str, type(None))) else x
                   for x in row] for row in rows]))
'''


def readme_sql():
    """The SQL block of the README's data lake section, as printed."""
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text[text.index("### A fleet's data lake"):]
    return re.search(r'With DuckDB:\n\n```sql\n(.*?)```', section, re.S).group(1)


def substituted(sql, key, secret, endpoint):
    """``sql`` with the README's placeholder secret and AWS endpoint replaced (nothing else)."""
    placeholder = "CREATE SECRET (TYPE s3, KEY_ID 'AKIA...', SECRET '...', REGION 'eu-west-3');"
    assert sql.count(placeholder) == 1, sql
    ours = ("CREATE SECRET (TYPE s3, KEY_ID '%s', SECRET '%s', REGION 'eu-west-3', "
            "ENDPOINT '%s', URL_STYLE 'path', USE_SSL false);"
            % (key, secret.replace("'", "''"), endpoint.split('://', 1)[1]))
    return sql.replace(placeholder, ours)


def store_means(address):
    """{(local date, var_name): mean} of the store's energy events, per Paris day."""
    from pycstbox.evtdb.client import EventStoreClient
    client = EventStoreClient(address, timeout=30)
    try:
        sums = defaultdict(list)
        for d in range(DAYS):
            day = FIRST + datetime.timedelta(days=d)
            start = datetime.datetime.combine(day, datetime.time(), PARIS)
            for e in client.events(start.astimezone(datetime.timezone.utc),
                                   (start + datetime.timedelta(days=1)).astimezone(
                                       datetime.timezone.utc), var_types=['energy']):
                sums[(day.isoformat(), e.var_name)].append(float(e.value))
    finally:
        client.close()
    return {k: sum(v) / len(v) for k, v in sums.items()}


def test_readme_duckdb_query_returns_numeric_means(tmp_path, seaweed):
    """The README's DuckDB query on a parquet landing returns, for each site, local date and
    energy variable, a numeric mean equal to the mean of the store's events."""
    seaweed.create_bucket('cstbox-fleet')
    root = tmp_path / 'db'
    generate_days(root, FIRST - datetime.timedelta(days=1), days=DAYS + 2, sensors=14,
                  interval=600)
    ak, sk = seaweed.identities['gw']
    (tmp_path / 'sk').write_text(sk)
    (tmp_path / 'sk').chmod(0o600)
    with evtdb_bus(tmp_path, root) as address:
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
bucket = "cstbox-fleet"
prefix = "raw/"
access_key_id = "%s"
secret_access_key_file = "sk"
timeout = 10
connect_timeout = 2
[jobs.daily]
target = "lake"
period = "1d"
delay = "15m"
format = "parquet"
start = "%s"
max_try = 1
retry_delay = 0
''' % (tmp_path / 'state', address, seaweed.endpoint, REGION, ak, FIRST.isoformat()))
        cfg.chmod(0o600)
        env = dict(os.environ, CBX_EXPORT_NOW=NOW, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'),
                   PYTHONPATH=REPO)
        r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg), 'run'],
                           env=env, capture_output=True, text=True, timeout=120,
                           cwd=str(tmp_path))
        assert r.returncode == 0, r.stderr
        want = store_means(address)
    status, _, body = seaweed.request('GET', '/cstbox-fleet', query=[('list-type', '2')])
    assert status == 200 and body.count(b'.parquet</Key>') == DAYS, body
    assert b'raw/site=lyon-b12/job=daily/date=2026-11-01/lyon-b12_daily_20261031T230000Z_' \
        b'20261101T230000Z.parquet' in body
    sql = substituted(readme_sql(), ak, sk, seaweed.endpoint)
    ext = peer.extension_dir(tmp_path / 'duckdb-ext')
    proc = subprocess.run([peer.PYTHON, '-c', RUN_SQL, ext], input=sql, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(proc.stdout)
    assert len(rows) == len(want) == DAYS * 2                  # 2 energy sensors, 3 days
    got = {}
    for site, date, var_name, mean in rows:
        assert site == 'lyon-b12' and isinstance(mean, float)
        got[(date, var_name)] = mean
    assert got == pytest.approx(want, rel=1e-12)
