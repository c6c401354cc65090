"""Outbox lanes are keyed by folder (issue 25): whatever the sequence of reloads (targets
removed, added back, two names on one folder through a symlink), no two lanes that may still
upload ever serve one folder."""

import datetime
import os
import threading
import time
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings, strategies as st

from pycstbox.export.config.model import TargetConfig
from pycstbox.export.daemon.outbox import OutboxWatcher

NAMES = ('a', 'b', 'c')


class Blocking:
    """A transport whose send waits for ``gate`` (an upload under way), then succeeds; it
    records two sends at once from one folder (``sends.overlaps``)."""

    def __init__(self, gate, folder, sends):
        self.gate, self.folder, self.sends = gate, folder, sends

    def send(self, path, name, **kw):
        with self.sends.lock:
            if self.sends.active.get(self.folder):
                self.sends.overlaps.append(self.folder)
            self.sends.active[self.folder] = self.sends.active.get(self.folder, 0) + 1
        try:
            self.gate.wait(10)
        finally:
            with self.sends.lock:
                self.sends.active[self.folder] -= 1

    def close(self):
        pass


def _config(state, names):
    targets = {n: TargetConfig(n, 'dir', {'path': '/nonexistent'}) for n in names}
    return SimpleNamespace(state_dir=state, site='s', tz=datetime.timezone.utc,
                           targets=targets, runtime_dir=os.path.join(state, 'run'))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sets(st.sampled_from(NAMES)), st.booleans()),
                      min_size=2, max_size=6))
def test_no_two_lanes_on_one_folder(tmp_path_factory, steps):
    """After every reload (uploads blocked, or let go) no two uploads ever run at once from one
    folder; target 'c' is a symlink to 'a's folder and is never served beside it."""
    state = str(tmp_path_factory.mktemp('state'))
    for n in ('a', 'b'):
        os.makedirs(os.path.join(state, 'outbox', n))
        path = os.path.join(state, 'outbox', n, 'f')
        with open(path, 'w') as f:
            f.write('x')
        os.utime(path, (time.time() - 60,) * 2)
    os.symlink(os.path.join(state, 'outbox', 'a'), os.path.join(state, 'outbox', 'c'))
    gate = threading.Event()
    sends = SimpleNamespace(lock=threading.Lock(), active={}, overlaps=[])
    w = OutboxWatcher(transport_factory=lambda target, site: Blocking(
        gate, os.path.realpath(os.path.join(state, 'outbox', target.name)), sends))
    try:
        for names, release in steps:
            w.apply(_config(state, names))
            time.sleep(0.05)
            if release:
                gate.set()
                time.sleep(0.1)
                gate.clear()
            getattr(w, 'reap', lambda: None)()         # the daemon's main loop does this
            time.sleep(0.05)
            assert not sends.overlaps, (steps, sends.overlaps)
            served = [os.path.realpath(lane.dir) for lane in w.lanes.values()]
            assert len(served) == len(set(served)), served
    finally:
        gate.set()
        w.stop()
        w.join(time.monotonic() + 10)
        w.close()
