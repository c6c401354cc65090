"""The daemon's process lane: when the next run happens."""

import datetime

from pycstbox.export import config as configmod
from pycstbox.export.daemon.scheduler import PENDING_RETRY, ProcessLane

UTC = datetime.timezone.utc


def _config(tmp_path):
    yesterday = (datetime.datetime.now(UTC) - datetime.timedelta(days=1)).date()
    path = tmp_path / 'export.toml'
    path.write_text('site = "s"\nstate_dir = "%s"\n[eventstore]\naddress = "unix:path=/nonexistent"\n'
                    'timeout = 2\n[targets.web]\ntype = "http"\nurl = "http://127.0.0.1:9/{name}"\n'
                    '[jobs.daily]\ntarget = "web"\nperiod = "1d"\ndelay = "0s"\nstart = "%s"\n'
                    'max_try = 1\n' % (tmp_path / 'state', yesterday))
    return configmod.load(str(path), environ={})


def test_pending_windows_retried_before_next_slot(tmp_path):
    """After a failed run, pending windows are tried again after a bounded backoff, not a day later."""
    lane = ProcessLane(_config(tmp_path), str(tmp_path / 'run'))
    before = datetime.datetime.now(UTC)
    first = lane._run_once(lane.config)
    assert lane.last_run['pending'] == 1
    wait = (first - before).total_seconds()
    assert PENDING_RETRY.base <= wait <= PENDING_RETRY.base * (1 + PENDING_RETRY.jitter) + 5
    second = lane._run_once(lane.config)
    assert (second - before).total_seconds() >= 2 * PENDING_RETRY.base   # backs off further
    assert lane.next_due > second                                      # still before the slot
