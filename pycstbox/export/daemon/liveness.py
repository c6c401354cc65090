"""Liveness of the daemon's lanes: heartbeats, and the watchdog that reads them.

Python threads cannot be killed: a lane stuck for good (a deadlock, a library that
ignores its timeout, a hung file system) would leave the daemon up and silent.  So each
lane (the process lane, every outbox lane, the metrics lane) owns a :class:`Heartbeat`
and *beats* whenever it makes progress: each turn of its loop, each bounded wait (an idle
lane waits in chunks of at most :data:`IDLE_WAIT` s and beats between them), each unit of
work (a file sent, 4096 events read, a metrics look).  Each beat says how long the lane
may go before the next one: its *bound* -- a send's bound is the target's request
timeouts plus the time the file needs at :data:`MIN_RATE`, a wait's its length -- and
:data:`MARGIN` is added.

The main loop calls :func:`stalled` every :func:`check_interval` seconds: a lane past its
bound (or whose thread ended) is a stall.  The daemon then logs one error line, shows
it in ``status.json`` and the metrics, and replaces itself with a fresh process
(:mod:`.daemon`: ``os.execv`` of its own command line); the restart is remembered
through :data:`RESTART_ENV` so that the new process shows it too.

``$CBX_EXPORT_LIVENESS_BOUND`` (seconds, tests) caps every bound, and shortens the
idle waits to a third of it.
"""

import datetime
import json
import logging
import os
import time

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc

MARGIN = 60.0          # seconds added to every bound
IDLE_WAIT = 60.0       # longest wait of an idle lane between two beats
MIN_RATE = 500.0       # bytes/s: the slowest link a send may legitimately crawl at (serial)
CHECK = 15.0           # seconds between two looks of the main loop (at most)
WORK_BOUND = 60.0      # a step of local work (directory listing, fsync, metrics look)
#: environment variable carrying the last self-restart into the new process (JSON)
RESTART_ENV = 'CBX_EXPORTD_RESTARTED'


def _cap(environ=os.environ):
    try:
        cap = float(environ.get('CBX_EXPORT_LIVENESS_BOUND', ''))
    except ValueError:
        return None
    return cap if cap > 0 else None


class Heartbeat:
    """The progress of one lane (written by the lane, read by the main thread)."""

    def __init__(self, lane, clock=time.monotonic):
        self.lane = lane
        self.clock = clock
        self.cap = _cap()
        self.idle_wait = IDLE_WAIT if self.cap is None else min(IDLE_WAIT, self.cap / 3)
        self.beat()

    def beat(self, bound=None, doing='waiting'):
        """Progress now; the next beat is due within ``bound`` s (+ :data:`MARGIN`).

        ``bound`` None: an idle wait (:attr:`idle_wait`).  One tuple assignment: atomic.
        """
        b = (self.idle_wait if bound is None else bound) + MARGIN
        if self.cap is not None:
            b = min(b, self.cap)
        self._state = (self.clock(), b, doing)

    def wait_time(self, wanted):
        """How long to wait for ``wanted`` s (None: forever) before beating again."""
        return self.idle_wait if wanted is None else max(0.0, min(wanted, self.idle_wait))

    def overdue(self, now=None):
        """``(seconds since the last beat, bound, doing)`` when past the bound, else None."""
        at, bound, doing = self._state
        age = (self.clock() if now is None else now) - at
        return (age, bound, doing) if age > bound else None


def send_bound(target, size):
    """Seconds a send of ``size`` bytes to ``target`` may take: its timeouts plus the
    transfer at :data:`MIN_RATE`."""
    opts = getattr(target, 'options', None) or {}
    total = 0.0
    for key in ('timeout', 'connect_timeout'):
        try:
            total += float(opts.get(key) or 0)
        except (TypeError, ValueError):
            pass
    return (total or 60.0) + (size or 0) / MIN_RATE


def stalled(lanes, stopping=False):
    """``[(lane name, age, bound, doing)]`` of the lanes past their bound or ended."""
    out = []
    for lane in lanes:
        hb = getattr(lane, 'heartbeat', None)
        if lane is None or hb is None:
            continue
        late = hb.overdue()
        if late is None and not stopping and lane.ident is not None and not lane.is_alive():
            late = (0.0, 0.0, 'its thread ended')
        if late is not None:
            out.append((hb.lane,) + late)
    return out


def check_interval(lanes, watchdog=None):
    """Seconds between two looks: :data:`CHECK`, a quarter of the smallest cap, half the
    systemd watchdog period."""
    wait = CHECK
    cap = _cap()
    if cap is not None:
        wait = min(wait, max(0.2, cap / 4))
    if watchdog:
        wait = min(wait, watchdog / 2)
    return wait


def describe(stall):
    lane, age, bound, doing = stall
    if doing == 'its thread ended':
        return 'lane %s: its thread ended' % lane
    return 'lane %s made no progress for %d s (bound %d s) while %s' % (lane, age, bound, doing)


def restart_record(stall, environ=os.environ):
    """The JSON text of :data:`RESTART_ENV` for a restart caused by ``stall``."""
    lane, age, bound, doing = stall
    previous = last_restart(environ) or {}
    return json.dumps({'at': datetime.datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ'),
                       'lane': lane, 'stalled_for': int(age), 'bound': int(bound),
                       'doing': doing, 'count': int(previous.get('count', 0)) + 1})


def last_restart(environ=os.environ):
    """The last self-restart (a dict) handed down by the previous process, or None."""
    try:
        rec = json.loads(environ.get(RESTART_ENV, ''))
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


class Progress:
    """A progress reporter (``cli/progress.py`` interface) that beats: the process lane
    hands it to ``ExportProcess`` (``extract`` calls ``update`` every 4096 events)."""

    enabled = True

    def __init__(self, heartbeat, bound):
        self.heartbeat, self.bound = heartbeat, bound

    def update(self, count, position=None):
        self.heartbeat.beat(self.bound, 'reading events')

    def show(self, text):
        self.heartbeat.beat(self.bound, 'export run')

    def finish(self, *args):
        self.heartbeat.beat(self.bound, 'export run')


class WatchedTransport:
    """A transport whose ``send`` beats before (bound: :func:`send_bound`) and after."""

    def __init__(self, inner, target, heartbeat, after):
        self._inner, self._target, self._hb, self._after = inner, target, heartbeat, after

    def send(self, path, name, **kw):
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
        self._hb.beat(send_bound(self._target, size), 'sending %s to %s' % (
            name, self._target.name))
        try:
            return self._inner.send(path, name, **kw)
        finally:
            self._hb.beat(self._after, 'export run')

    def __getattr__(self, attr):
        return getattr(self._inner, attr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._inner.close()


class Watchdog:
    """The main loop's look at the lanes (see module docstring).

    ``look()`` returns ``(stalls, seconds until the next look)``; while no lane is stalled
    it sends systemd's ``WATCHDOG=1`` through ``notifier`` (:mod:`.notify`).
    """

    def __init__(self, notifier, lanes, stopping=lambda: False, clock=time.monotonic):
        self.notifier, self.lanes, self.stopping, self.clock = notifier, lanes, stopping, clock
        self._next = 0.0

    def look(self):
        now = self.clock()
        lanes = list(self.lanes())
        interval = check_interval(lanes, self.notifier.watchdog)
        if now < self._next:
            return [], self._next - now
        self._next = now + interval
        stalls = stalled(lanes, self.stopping())
        if not stalls:
            self.notifier.ping()
        return stalls, interval


def bounded(fn, *args, timeout=5.0):
    """``fn(*args)`` in a helper thread, waited for at most ``timeout`` s: the stalled lane
    may hold a lock ``fn`` needs (a log handler's, inside a hung write), and the restart
    must happen anyway."""
    import threading
    t = threading.Thread(target=fn, args=args, name='restart-helper', daemon=True)
    t.start()
    t.join(timeout)


def reexec(release, environ=os.environ):
    """Replace this process with a fresh one running the same command line.

    ``release()`` first (locks, inotify: whatever the new process must take again);
    the pid stays the same (the pid file and systemd's main pid remain right).  Returns
    only when ``execv`` failed (the caller exits).
    """
    import sys
    release()

    def flush():
        for h in logging.getLogger().handlers:
            try:
                h.flush()
            except Exception:  # noqa: BLE001
                pass
    bounded(flush)
    argv = list(getattr(sys, 'orig_argv', None) or [sys.executable] + sys.argv)
    try:
        os.execve(sys.executable, argv, dict(environ))
    except OSError as exc:
        log.error('cannot restart %s: %s', argv, exc)
