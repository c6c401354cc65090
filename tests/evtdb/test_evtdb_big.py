"""A 1,000,000-event day read end to end through cbx-evtdb, memory measured."""

import json
import subprocess
import sys

from tests.peers.evtdb import _env, evtdb_bus, write_dense_day

from .conftest import DAY1

READER = r'''
import json, sys
from datetime import datetime, timezone
from pycstbox.evtdb.client import EventStoreClient
c = EventStoreClient(sys.argv[1], timeout=30)
start = datetime(2026, 11, 27, tzinfo=timezone.utc)
end = datetime(2026, 11, 28, tzinfo=timezone.utc)
n, prev, total, first = 0, start, 0, None
for e in c.events(start, end):
    assert prev <= e.timestamp < end, (prev, e)
    prev = e.timestamp
    total += e.value
    n += 1
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]
print(json.dumps({'events': n, 'sum': total, 'calls': c.stats['calls'],
                  'largest': c.stats['largest'], 'hwm_kb': int(hwm)}))
'''


def test_million_event_day(tmp_path):
    """1M events of one day come back complete, in order, with client peak RSS < 50 MB."""
    root = tmp_path / 'root'
    count = 1000000
    write_dense_day(root, DAY1, count)
    with evtdb_bus(tmp_path, root) as address:
        out = subprocess.run([sys.executable, '-c', READER, address], env=_env(),
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r['events'] == count and r['sum'] == count * (count - 1) // 2
    assert r['largest'] <= 30000 and r['calls'] < 400
    assert r['hwm_kb'] < 50 * 1024, r
