"""Several jobs in one configuration: every entry runs under its own job (issue 10, defect 1)."""

import csv
import gzip
import io
import json
import os

from pycstbox.export import transports
from pycstbox.export.process.process import ExportProcess

from .helpers import ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.a]
type = "dir"
path = "%(out)s/a"

[targets.b]
type = "dir"
path = "%(out)s/b"

[jobs.daily]
target = "a"
period = "1d"
delay = "15m"
format = "csv"
start = "2026-11-20"

[jobs.hourly]
target = "b"
period = "6h"
delay = "1m"
format = "jsonl"
compress = "gzip"
start = "2026-11-22"

[jobs.quarter]
target = "a"
period = "12h"
delay = "0s"
format = "tsv"
start = "2026-11-23"
'''


def test_three_jobs_deliver_every_window_of_every_job(tmp_path):
    """3 jobs with different periods, formats and targets: every window of each job arrives."""
    out = tmp_path / 'received'
    for d in 'ab':
        (out / d).mkdir(parents=True)
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    events = hourly_events(T('2026-11-19 00:00'), 24 * 8)
    proc = ExportProcess(cfg, source_factory=lambda store: ListSource(events),
                         transport_factory=lambda t, site: transports.create(t, site=site),
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    rep = proc.run(now=T('2026-11-24 00:30'))
    assert rep.ok, rep.problems
    assert rep.pending == 0 and rep.dead_lettered == 0
    a = sorted(os.listdir(out / 'a'))
    b = sorted(os.listdir(out / 'b'))
    daily = [n for n in a if '_daily_' in n]
    quarter = [n for n in a if '_quarter_' in n]
    assert len(daily) == 4 and all(n.endswith('.csv') for n in daily)       # 20..23
    assert len(quarter) == 2 and all(n.endswith('.tsv') for n in quarter)   # 23 00h, 12h
    assert len(b) == 8 and all('_hourly_' in n and n.endswith('.jsonl.gz') for n in b)
    # each file holds exactly the events of its own window, in its own format
    rows = list(csv.reader(io.StringIO((out / 'a' / daily[0]).read_text())))
    assert len(rows) == 1 + 24 * 6
    lines = gzip.decompress((out / 'b' / b[0]).read_bytes()).decode().splitlines()
    assert len(lines) == 6 * 6 and json.loads(lines[0])['ts'] == '2026-11-22T00:00:00.000Z'
    assert len((out / 'a' / quarter[0]).read_text().splitlines()) == 12 * 6
