"""Outbox files share their target's byte budget with the jobs' windows (real HTTP receiver)."""

import datetime
import json
import os

from pycstbox.evtdb.network import Metered
from pycstbox.export import config as configmod
from pycstbox.export.daemon import outboxbudget
from pycstbox.export.daemon.outboxlane import OutboxLane
from pycstbox.export.process.budget import Budget
from pycstbox.export.process.process import ExportProcess

from tests.process.helpers import GridSource

from .conftest import wait_for

UTC = datetime.timezone.utc
CONFIG = '''
site = "lyon-b12"
state_dir = "%(state)s"
[targets.web]
type = "http"
url = "%(url)s/up/{name}"
budget = "%(budget)s"
[jobs.hourly]
target = "web"
period = "1h"
delay = "0s"
format = "csv"
'''


def load(tmp_path, url, budget):
    path = tmp_path / 'export.toml'
    path.write_text(CONFIG % {'state': tmp_path / 'state', 'url': url, 'budget': budget})
    return configmod.load(str(path), environ={})


def test_outbox_files_wait_for_the_shared_budget(tmp_path, http_peer, monkeypatch):
    """Outbox files are sent, oldest first, while the budget lasts; the rest wait (counted in
    the ledger for status), a job window of the same target then waits too, and the files go
    as soon as the budget is raised; the receiver never got more than the budget."""
    monkeypatch.setattr(outboxbudget, 'RECHECK', 0.3)
    run = str(tmp_path / 'run')
    monkeypatch.setenv('CBX_EXPORT_RUNTIME_DIR', run)
    cfg = load(tmp_path, http_peer.url, '20KiB/day')
    lane = OutboxLane(cfg.targets['web'], cfg.site, cfg.state_dir, tz=cfg.tz)
    lane.budget = Budget(cfg, run, metered=lambda: Metered(1, 'yes'))
    os.makedirs(lane.dir)
    for i in range(6):
        p = os.path.join(lane.dir, 'f%d.bin' % i)
        with open(p, 'wb') as f:
            f.write(os.urandom(6000))
        os.utime(p, (1000 + i, 1000 + i))
    lane.rescan()
    lane.start()
    try:
        wait_for(lambda: len(http_peer.uploads) == 2 and lane.next_retry, 5, what='the budget')
        ledger = json.loads(open(os.path.join(run, 'budget', 'web.json')).read())
        assert ledger['files'] == 4 and ledger['blocked']
        assert [u.name for u in http_peer.uploads] == ['f0.bin', 'f1.bin']
        assert http_peer.received <= ledger['used'] <= 20 * 1024
        # a window of the same target finds the target waiting: nothing jumps ahead
        now = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        proc = ExportProcess(cfg, source_factory=lambda store: GridSource(), runtime_dir=run,
                             metered=lambda: Metered(1, 'yes'))
        rep = proc.run(now=now + datetime.timedelta(minutes=1))
        assert rep.deferred == 1 and rep.delivered == 0 and rep.ok
        assert len(http_peer.uploads) == 2
        # a larger budget (a reload): the files go at the next look
        big = load(tmp_path, http_peer.url, '1MiB/day')
        lane.budget = Budget(big, run, metered=lambda: Metered(1, 'yes'))
        wait_for(lambda: len(http_peer.uploads) == 6, 5, what='the waiting files')
        assert [u.name for u in http_peer.uploads][2:] == ['f2.bin', 'f3.bin', 'f4.bin',
                                                          'f5.bin']
        wait_for(lambda: json.loads(open(os.path.join(run, 'budget', 'web.json')).read())[
            'files'] == 0, 2, what='no file waiting')
    finally:
        lane.stop()
        lane.join(5)
