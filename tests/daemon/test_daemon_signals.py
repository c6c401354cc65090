"""cbx-exportd and the signals it is sent while it starts and runs (issue 25: a HUP 30-50 ms
after start, or any USR1/USR2, ended it by the default action)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from .conftest import DaemonProc, drop, wait_for

#: the signal is sent once the daemon has imported this module (the first heavy import of
#: its start-up, whatever the machine's load), plus these seconds; None: once running
TRIGGER = 'pycstbox.export.daemon.scheduler'
DELAYS = (0.0, 0.03, 0.1, None)


def _spawn(tmp_path, cfg):
    """The daemon with ``-X importtime``: its stderr tells when each import is done."""
    os.makedirs(tmp_path, exist_ok=True)
    d = DaemonProc(tmp_path, cfg)
    d._log = open(d.log_path, 'ab')
    d.proc = subprocess.Popen(
        [sys.executable, '-X', 'importtime', '-m', 'pycstbox.export.daemon', '-c', cfg,
         '-L', 'DEBUG'], env=d.env, stdout=d._log, stderr=subprocess.PIPE)
    d.imported = threading.Event()

    def read():
        for line in d.proc.stderr:
            if line.split(b'|')[-1].strip() == TRIGGER.encode():
                d.imported.set()
            try:
                d._log.write(line)
                d._log.flush()
            except ValueError:         # closed by kill() at the end
                return
    threading.Thread(target=read, daemon=True).start()
    return d


@pytest.mark.parametrize('signame', ['SIGHUP', 'SIGUSR1', 'SIGUSR2'])
def test_signal_while_starting_and_running_keeps_it_up(signame, tmp_path, outbox_setup,
                                                       http_peer):
    """HUP/USR1/USR2 as soon as the daemon's heavy imports begin, 30 and 100 ms later, and
    once running: it stays up, reloads (HUP) and delivers."""
    cfg, outbox = outbox_setup
    sig = getattr(signal, signame)
    daemons = []
    try:
        for i, delay in enumerate(DELAYS):
            d = _spawn(tmp_path / ('d%d' % i), cfg)
            daemons.append(d)
            if delay is None:
                wait_for(lambda: d.status() or d.proc.poll() is not None, 15, what='status.json')
            else:
                assert d.imported.wait(30), 'no import of %s seen' % TRIGGER
                time.sleep(delay)
            d.signal(sig)
            wait_for(lambda: d.status() or d.proc.poll() is not None, 15, what='status.json')
            time.sleep(0.3)
            assert d.proc.poll() is None, '%s at %s s ended it (%s): %s' % (
                signame, delay, d.proc.returncode, d.log())
            if signame == 'SIGHUP':
                wait_for(lambda: 'configuration reloaded' in d.log(), 10,
                         what='the reload once ready')
            drop(outbox, 'f%d.txt' % i, b'data %d\n' % i, str(tmp_path / 'tmp'))
            wait_for(lambda: http_peer.read('f%d.txt' % i), 15, what='f%d.txt delivered' % i)
            assert d.terminate() < 10
            assert d.proc.returncode == 0
    finally:
        for d in daemons:
            d.kill()
    assert sorted(u.name for u in http_peer.uploads) == ['f%d.txt' % i
                                                         for i in range(len(DELAYS))]


def test_unused_signals_ignored_first_thing():
    """install_early ignores USR1/USR2 and records HUP before anything of the daemon is imported."""
    code = ('import sys, signal\n'
            'from pycstbox.export.daemon import signals\n'
            'signals.install_early()\n'
            'assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN\n'
            'assert signal.getsignal(signal.SIGUSR2) == signal.SIG_IGN\n'
            'import os; os.kill(os.getpid(), signal.SIGHUP); os.kill(os.getpid(), signal.SIGUSR1)\n'
            'assert signals.take_pending() == [signal.SIGHUP]\n'
            'assert not [m for m in sys.modules if m.startswith("pycstbox.export.daemon.")'
            ' and m != "pycstbox.export.daemon.signals"], sys.modules\n')
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
