"""Liveness, not hope (issue 19, item 2): a stalled lane is found, shown, and the daemon
replaces itself with a fresh process; systemd hears READY=1 and WATCHDOG=1 directly."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from pycstbox.export.daemon import liveness
from pycstbox.export.daemon.notify import Notifier
from tests.daemon.conftest import DaemonProc, drop, wait_for, write_config
from tests.cli.test_status_json import SCHEMA_PATH


class NotifySocket:
    """A real AF_UNIX datagram socket standing in for systemd's ``$NOTIFY_SOCKET``."""

    def __init__(self, path=None, abstract=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            self.sock.bind('\0' + abstract)
            self.address = '@' + abstract
        else:
            self.sock.bind(path)
            self.address = path
        self.messages = []          # (monotonic time, text)
        self._stop = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def texts(self):
        return [m for _, m in self.messages]

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


class FakeLane(threading.Thread):
    """A lane thread with a heartbeat the test controls."""

    def __init__(self, name):
        super().__init__(name=name, daemon=True)
        self.heartbeat = liveness.Heartbeat(name)
        self.done = threading.Event()
        self.start()

    def run(self):
        self.done.wait()


def test_watchdog_pings_only_while_every_lane_is_alive(tmp_path, monkeypatch):
    """WATCHDOG=1 reaches the socket while each lane beats within its bound; a lane past
    its bound is reported (name, age, bound, what it was doing) and no WATCHDOG=1 is sent."""
    peer = NotifySocket(str(tmp_path / 'notify'))
    try:
        n = Notifier({'NOTIFY_SOCKET': peer.address, 'WATCHDOG_USEC': '2000000'})
        assert n.watchdog == 2.0
        clock = [1000.0]
        lane = FakeLane('outbox-web')
        lane.heartbeat.clock = lambda: clock[0]
        lane.heartbeat.beat(30, 'sending a.csv')             # bound 30 + MARGIN
        wd = liveness.Watchdog(n, lambda: [lane], clock=lambda: clock[0])
        clock[0] += 30 + liveness.MARGIN - 1
        assert wd.look()[0] == []
        wait_for(lambda: peer.texts() == ['WATCHDOG=1'], 5, what='WATCHDOG=1')
        clock[0] += 2 + n.watchdog
        stalls, _ = wd.look()
        assert [(s[0], s[3]) for s in stalls] == [('outbox-web', 'sending a.csv')]
        assert stalls[0][1] > stalls[0][2] == 30 + liveness.MARGIN
        assert 'lane outbox-web made no progress for 93 s (bound 90 s) while sending a.csv' \
            == liveness.describe(stalls[0])
        time.sleep(0.3)
        assert peer.texts() == ['WATCHDOG=1']                 # none while stalled
        lane.heartbeat.beat()                                  # it moves again
        clock[0] += n.watchdog
        assert wd.look()[0] == []
        wait_for(lambda: peer.texts() == ['WATCHDOG=1'] * 2, 5, what='WATCHDOG=1 again')
        lane.done.set()
        lane.join(5)
        clock[0] += n.watchdog
        stalls, _ = wd.look()
        assert [liveness.describe(s) for s in stalls] == ['lane outbox-web: its thread ended']
    finally:
        peer.close()


def test_notify_abstract_socket_and_no_socket(monkeypatch):
    """An abstract ``@name`` socket is reached; without $NOTIFY_SOCKET nothing is sent;
    WATCHDOG_USEC for another pid (WATCHDOG_PID) is not ours."""
    name = 'cbx-test-%d' % os.getpid()
    peer = NotifySocket(abstract=name)
    try:
        n = Notifier({'NOTIFY_SOCKET': '@' + name})
        assert n.ready('2 job(s)') and n.reloading() and n.stopping()
        wait_for(lambda: len(peer.texts()) == 3, 5, what='3 datagrams')
        ready, reloading, stopping = peer.texts()
        assert ready == 'READY=1\nSTATUS=2 job(s)' and stopping == 'STOPPING=1'
        assert reloading.startswith('RELOADING=1\nMONOTONIC_USEC=')
        usec = int(reloading.split('=')[-1])
        assert abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 5
    finally:
        peer.close()
    assert not Notifier({}).enabled and Notifier({}).send('READY=1') is False
    other = Notifier({'NOTIFY_SOCKET': '/x', 'WATCHDOG_USEC': '1000', 'WATCHDOG_PID': '1'})
    assert other.watchdog is None


def _status(d):
    return d.status() or {}


def test_daemon_notifies_ready_then_watchdog(tmp_path, outbox_setup):
    """Under a stand-in systemd socket: READY=1 after start, WATCHDOG=1 keeps coming at
    half of WATCHDOG_USEC, STOPPING=1 at SIGTERM; SIGHUP gives RELOADING=1 then READY=1."""
    cfg, _ = outbox_setup
    peer = NotifySocket(str(tmp_path / 'notify'))
    d = DaemonProc(tmp_path, cfg)
    d.env.update(NOTIFY_SOCKET=peer.address, WATCHDOG_USEC='1000000')
    try:
        d.start()
        wait_for(lambda: 'READY=1' in '\n'.join(peer.texts()), 10, what='READY=1')
        assert peer.texts()[0].startswith('READY=1\n')
        t0 = time.monotonic()
        time.sleep(2.2)
        pings = [t for t, m in peer.messages if m == 'WATCHDOG=1' and t >= t0]
        assert len(pings) >= 3, peer.texts()
        d.signal(1)                                   # SIGHUP
        wait_for(lambda: any(m.startswith('RELOADING=1') for m in peer.texts()), 10,
                 what='RELOADING=1')
        wait_for(lambda: peer.texts().count('READY=1') >= 1, 10, what='READY=1 after reload')
        d.terminate()
        assert peer.texts()[-1] == 'STOPPING=1'
    finally:
        d.kill()
        peer.close()


def test_hung_lane_detected_daemon_comes_back_and_delivers(tmp_path, http_peer, outbox_setup):
    """An upload the receiver never answers (timeout 3600 s): the lane is found stalled
    past its bound, status.json says so, the daemon re-executes itself (same pid, a fresh
    process) and delivers the file; the new status names the restart and its cause."""
    cfg, outbox = outbox_setup
    prom = tmp_path / 'metrics' / 'cstbox_export.prom'
    prom.parent.mkdir()
    with open(cfg) as f:
        text = f.read().replace('timeout = 30', 'timeout = 3600')
    with open(cfg, 'w') as f:
        f.write(text + '\n[metrics]\ntextfile = "%s"\n' % prom)
    http_peer.behave('hang', delay=600, times=1)
    peer = NotifySocket(str(tmp_path / 'notify'))
    d = DaemonProc(tmp_path, cfg)
    d.env.update(CBX_EXPORT_LIVENESS_BOUND='4', NOTIFY_SOCKET=peer.address,
                 WATCHDOG_USEC='2000000', CBX_EXPORT_METRICS_INTERVAL='0.5')
    try:
        d.start()
        started = _status(d)['started']
        drop(outbox, 'a.csv', b'x,1\n', str(tmp_path / 'tmp'))
        wait_for(lambda: http_peer.requests, 10, what='the upload to start')
        t_hang = time.monotonic()
        wait_for(lambda: 'cbx-exportd restarts itself' in d.log(), 20, what='the stall')
        t_found = time.monotonic()
        line = [l for l in d.log().splitlines() if 'restarts itself' in l][0]
        assert '[E]' in line and 'lane outbox-web made no progress for' in line
        assert 'while sending a.csv' in line
        wait_for(lambda: http_peer.read('a.csv'), 20, what='a.csv delivered after restart')
        t_back = time.monotonic()
        assert d.proc.poll() is None                      # same process id, re-executed
        st = wait_for(lambda: _status(d).get('restarted') and _status(d), 10,
                      what='the restart in status.json')
        assert st['pid'] == d.pid and st['started'] >= started
        assert st['restarted']['lane'] == 'outbox-web' and st['restarted']['count'] == 1
        assert st['stalled'] == []
        assert sum(m.startswith('READY=1') for m in peer.texts()) == 2   # once per process
        env = dict(d.env)
        out = subprocess.run([sys.executable, '-m', 'pycstbox.export', 'status', '-c', cfg],
                             env=env, capture_output=True, text=True, timeout=30)
        assert 'restarted itself' in out.stdout and 'outbox-web' in out.stdout, out.stdout
        js = subprocess.run([sys.executable, '-m', 'pycstbox.export', 'status', '--json',
                             '-c', cfg], env=env, capture_output=True, text=True, timeout=30)
        doc = json.loads(js.stdout)
        from jsonschema import Draft202012Validator
        with open(SCHEMA_PATH) as f:
            assert not list(Draft202012Validator(json.load(f)).iter_errors(doc))
        assert doc['daemon']['restarted']['lane'] == 'outbox-web' and js.returncode == 1
        site = 'site="lyon-b12"'
        want = ['cstbox_export_lane_stalled{lane="outbox-web",%s} 1.0' % site,
                'cstbox_export_lane_stalled{lane="process",%s} 0.0' % site,
                'cstbox_export_daemon_restarts{%s} 1.0' % site]
        wait_for(lambda: all(w in prom.read_text() for w in want), 10,
                 what='lane_stalled in the metrics')
        print('hang -> found %.1f s, -> delivered %.1f s' % (t_found - t_hang, t_back - t_hang))
    finally:
        d.kill()
        peer.close()


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 4000)),
                          st.integers(0, 5000)), min_size=1, max_size=20))
def test_overdue_exactly_when_past_the_last_beats_bound(steps):
    """Whatever the beats and the pauses, a lane is overdue iff the time since its last beat
    exceeds that beat's bound (idle wait when None) plus the margin, and never otherwise."""
    clock = [0.0]
    hb = liveness.Heartbeat('x', clock=lambda: clock[0])
    hb.cap = None
    for bound, pause in steps:
        hb.beat(bound)
        clock[0] += pause
        allowed = (liveness.IDLE_WAIT if bound is None else bound) + liveness.MARGIN
        late = hb.overdue()
        assert (late is not None) == (pause > allowed)
        if late is not None:
            assert late[0] == pause and late[1] == allowed
    assert hb.wait_time(None) == liveness.IDLE_WAIT and hb.wait_time(5) == 5


def test_restart_record_counts_restarts():
    """Each self-restart hands the next process a record whose count grows by one."""
    stall = ('outbox-web', 130.4, 130.0, 'sending a.csv')
    first = json.loads(liveness.restart_record(stall, {}))
    assert (first['lane'], first['stalled_for'], first['bound'], first['count']) == \
        ('outbox-web', 130, 130, 1)
    again = liveness.restart_record(stall, {liveness.RESTART_ENV: json.dumps(first)})
    assert json.loads(again)['count'] == 2
    assert liveness.last_restart({liveness.RESTART_ENV: 'garbage'}) is None
