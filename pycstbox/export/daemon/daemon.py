"""``cbx-exportd``: the foreground daemon (DESIGN section 5).

::

    cbx-exportd [-c CONFIG] [-L LEVEL] [--debug] [--pidfile FILE]
    python3 -m pycstbox.export.daemon ...       (from a source checkout)

Threads:

- the main thread owns signals and inotify: one ``select`` on the inotify fd and
  a self-pipe (``signal.set_wakeup_fd``; worker threads write to it too when
  their status changed), no timeout, no polling.  It writes the status file;
- one *process lane* (:mod:`pycstbox.export.daemon.scheduler`) runs ``ExportProcess.run`` (the same code and the same
  ``state_dir/lock`` as ``cbx-export run``) at start-up (catch-up after a reboot),
  then at each job's next due time; a run blocked by the lock (cron) is tried
  again 60 s later.  It sleeps in chunks of at most 300 s and recomputes, so a
  wall-clock jump is noticed;
- one *outbox lane* per target (:mod:`pycstbox.export.daemon.outbox`);
- one *metrics lane* (:mod:`pycstbox.export.daemon.metrics`): the ``[metrics]
  textfile`` rewritten when a value changed, at most once a minute.

SIGTERM/SIGINT: nothing new starts; the lanes get up to :data:`STOP_GRACE` s to
finish what they are doing, then the process ends with ``os._exit`` anyway:
an abandoned upload leaves its backlog entry or outbox file in place (every
write of the core is atomic), so it is delivered once or twice, never lost.
The status file is removed.  SIGHUP: reload the configuration; an invalid one is
refused with its one-line reason and the old one stays in force.  A reload that
changes ``state_dir`` takes the new directory's single-instance lock first (refused in
one line when another daemon holds it) and releases the old one once no lane works
under it.  Signals received while starting: :mod:`.signals`.

Runtime directory (``status.json``, staging): the config's ``runtime_dir``, else
``$CBX_EXPORT_RUNTIME_DIR``, else ``/run/cstbox-export`` (a tmpfs: the status
file is written atomically but not fsynced, and only when its content changed).
Single instance: a flock on the state directory itself
(:class:`~pycstbox.export.process.lock.DaemonLock`: nothing written), so two
daemons never serve the same outboxes and backlog, whatever their runtime
directories; and one on ``<runtime>/daemon.lock`` (the status file is theirs).
``--pidfile FILE``: written by the daemon once it holds both locks, removed when it
stops (the init script relies on it: a daemon that lost the race never names itself).

Exit codes: 0 stopped by a signal, 1 the state directory cannot be written (read-only
file system), 2 configuration or start-up error, 3 another ``cbx-exportd`` serves the
same state directory or runtime directory.
"""

import argparse
import datetime
import fcntl
import json
import logging
import os
import select
import signal
import sys
import time

from pycstbox.export.daemon import signals
from pycstbox.export.process.runtime import runtime_dir
from pycstbox.export.daemon.scheduler import ProcessLane, _iso, _utcnow
from pycstbox.export.daemon.preload import preload
from pycstbox.export.daemon import liveness
from pycstbox.export.daemon.notify import Notifier

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc
PROG = 'cbx-exportd'
STOP_GRACE = 7.0           # seconds given to the lanes on SIGTERM (the contract is 10 s)
STATUS_INTERVAL = 1.0      # seconds: status.json is rewritten at most this often
LOG_LEVELS = ('DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL')


class Daemon:
    """The main loop (see module docstring)."""

    def __init__(self, config, args):
        self.config = config
        self.args = args
        self.runtime_dir = runtime_dir(config)
        self.status_path = os.path.join(self.runtime_dir, 'status.json')
        self.started = _utcnow()
        self._stop = None
        self._reload = False
        self._last_status = None
        self._last_write = 0.0
        self._status_failed = False
        self._r = self._w = None
        self._state_lock = None
        self._old_locks = []           # (state_dir, DaemonLock) left by a reload, still busy
        self.watcher = self.lane = self.metrics = None
        self.notifier = Notifier()
        self.stalls = []
        self._lockfd = None
        self._lane_names = []

    def wake(self):
        """Wake the main loop (from any thread)."""
        try:
            os.write(self._w, b'\0')
        except (BlockingIOError, OSError):
            pass

    def _on_stop(self, signum, frame):
        self._stop = signum

    def _on_hup(self, signum, frame):
        self._reload = True

    def _take_early_signals(self):
        """HUP/TERM/INT received while starting (:mod:`.signals`): acted upon once ready."""
        for signum in signals.take_pending():
            if signum == signal.SIGHUP:
                log.info('reload asked while starting: done once started')
                self._reload = True
            else:
                self._stop = signum

    def _lock_state(self):
        """Take the state directory's daemon lock: None, or the exit code (message printed)."""
        from pycstbox.export.errors import BacklogError, LockError
        from pycstbox.export.process.lock import DaemonLock, state_dir_problem
        try:
            self._state_lock = DaemonLock(self.config.state_dir).acquire()
        except LockError as exc:
            print('%s: %s' % (PROG, exc), file=sys.stderr)
            return 3
        except BacklogError as exc:
            print('%s: %s' % (PROG, exc), file=sys.stderr)
            return 1
        problem = state_dir_problem(self.config.state_dir)
        if problem:
            print('%s: %s' % (PROG, problem), file=sys.stderr)
            return 1
        return None

    def serve(self):
        """Run until SIGTERM/SIGINT; returns the exit code."""
        from pycstbox.export.daemon.outbox import OutboxWatcher
        code = self._lock_state()
        if code is not None:
            return code
        try:
            os.makedirs(self.runtime_dir, exist_ok=True)
            lockfd = os.open(os.path.join(self.runtime_dir, 'daemon.lock'),
                             os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            print('%s: cannot use the runtime directory %s: %s (set runtime_dir or '
                  'CBX_EXPORT_RUNTIME_DIR)' % (PROG, self.runtime_dir, exc.strerror),
                  file=sys.stderr)
            return 2
        try:
            fcntl.flock(lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print('%s: another cbx-exportd already runs with %s' % (PROG, self.runtime_dir),
                  file=sys.stderr)
            return 3
        self._lockfd = lockfd
        if not self._write_pidfile():
            return 2
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        preload(self.config)            # no lane imports a module first (issue 19)
        self._take_early_signals()
        self.watcher = OutboxWatcher(wake=self.wake)
        self.watcher.apply(self.config)
        self.lane = ProcessLane(self.config, self.runtime_dir, self.wake)
        self.lane.start()
        from pycstbox.export.daemon.metrics import MetricsLane
        self.metrics = MetricsLane(self.config, self._metrics_doc, _utcnow)
        self.metrics.start()
        log.info('started (pid %d), config %s, state in %s, %d job(s), %d target(s)',
                 os.getpid(), self._config_path(), self.config.state_dir,
                 len(self.config.jobs), len(self.config.targets))
        fds = [self._r, self.watcher.fileno()]
        watchdog = liveness.Watchdog(self.notifier, self._lanes, lambda: self._stop is not None)
        self.notifier.ready('%d job(s), %d target(s)' % (len(self.config.jobs),
                                                        len(self.config.targets)))
        while self._stop is None:
            if self._reload:
                self._reload = False
                self.notifier.reloading()
                self.reload()
                self.notifier.ready()
            self._reap()
            self.stalls, wait = watchdog.look()
            if self.stalls:
                return self._restart()
            timeout = self.write_status()
            timeout = wait if timeout is None else min(timeout, wait)
            try:
                ready, _, _ = select.select(fds, [], [], timeout)
            except InterruptedError:
                continue
            if self._r in ready:
                try:
                    while os.read(self._r, 512):
                        pass
                except BlockingIOError:
                    pass
            if self.watcher.fileno() in ready:
                self.watcher.handle()
        return self.shutdown()

    def _lanes(self):
        return [self.lane, self.metrics] + list(self.watcher.lanes.values())

    def _restart(self):
        """A lane is stalled: say so, then replace this process with a fresh one."""
        stall = max(self.stalls, key=lambda s: s[1])
        liveness.bounded(log.error, '%s: cbx-exportd restarts itself (a fresh process; '
                         'nothing is lost)', '; '.join(liveness.describe(s) for s in self.stalls))
        self._last_status = None
        self._last_write = 0.0
        liveness.bounded(self.write_status)
        os.environ[liveness.RESTART_ENV] = liveness.restart_record(stall)

        def release():
            self.watcher.close()
            if self._state_lock is not None:
                self._state_lock.release()
            for _, lock in self._old_locks:     # a state_dir moved by a reload
                lock.release()
            os.close(self._lockfd)
        liveness.reexec(release)
        os._exit(70)

    def shutdown(self):
        self.notifier.stopping()
        log.info('stopping (signal %d)', self._stop)
        self.watcher.stop()
        self.lane.stop()
        self.metrics.stop()
        deadline = time.monotonic() + STOP_GRACE
        done = self.watcher.join(deadline)
        self.lane.join(max(0.0, deadline - time.monotonic()))
        done = done and not self.lane.is_alive()
        try:
            os.unlink(self.status_path)
        except OSError:
            pass
        self.metrics.join(max(0.0, deadline - time.monotonic()))
        self.metrics.final()
        self._remove_pidfile()
        if not done:
            log.warning('an upload or an export was still running and is abandoned: it stays '
                        'pending and is sent again at the next start')
            logging.shutdown()
            os._exit(0)
        self.watcher.close()
        log.info('stopped')
        return 0

    def _write_pidfile(self):
        """Write ``--pidfile`` (this process holds its locks now); False on failure."""
        from pycstbox.export.atomic import write_atomic
        path = getattr(self.args, 'pidfile', None)
        if not path:
            return True
        try:
            write_atomic(path, '%d\n' % os.getpid(), durable=False, skip_unchanged=False)
        except OSError as exc:
            print('%s: cannot write the pid file %s: %s' % (PROG, path, exc.strerror),
                  file=sys.stderr)
            return False
        return True

    def _remove_pidfile(self):
        path = getattr(self.args, 'pidfile', None)
        try:
            with open(path) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(path)
        except (OSError, TypeError):
            pass

    def reload(self):
        """SIGHUP: load the configuration again; keep the old one when the new one is bad."""
        from pycstbox.export import config as configmod
        from pycstbox.export.config import logsetup
        from pycstbox.export.errors import ConfigError
        try:
            new = configmod.load(self.args.config)
        except ConfigError as exc:
            log.error('configuration not reloaded, the previous one stays in force: %s', exc)
            return
        except Exception as exc:  # noqa: BLE001
            log.error('configuration not reloaded, the previous one stays in force: %s', exc)
            return
        if not self._move_state_lock(new):
            return
        try:
            setup_logging(self.args, new, logsetup)
        except OSError as exc:
            log.error('log settings not applied: cannot open the log file: %s', exc)
        preload(new)                    # a new target type: its libraries, before its lane
        self.config = new
        self.watcher.apply(new)
        self.lane.update(new)
        self.metrics.update(new)
        log.info('configuration reloaded from %s', self._config_path())

    def _move_state_lock(self, new):
        """A reload that changes ``state_dir``: take the new one's DaemonLock first (False:
        refused, one line, the old configuration stays); the old one is released once no
        lane works under it any more (:meth:`_reap`)."""
        from pycstbox.export.errors import ExportError
        from pycstbox.export.process.lock import DaemonLock, state_dir_problem
        old = self.config.state_dir
        if os.path.realpath(new.state_dir) == os.path.realpath(old):
            return True
        try:
            lock = DaemonLock(new.state_dir).acquire()
        except ExportError as exc:
            log.error('configuration not reloaded, the previous one stays in force: state_dir '
                      '%s: %s', new.state_dir, exc)
            return False
        problem = state_dir_problem(new.state_dir)
        if problem:
            lock.release()
            log.error('configuration not reloaded, the previous one stays in force: %s',
                      problem)
            return False
        self._old_locks.append((old, self._state_lock))
        self._state_lock = lock
        log.info('state_dir moved from %s to %s: this daemon serves %s now', old,
                 new.state_dir, new.state_dir)
        return True

    def _reap(self):
        """Retired outbox lanes that ended; old state_dir locks nothing works under any more."""
        self.watcher.reap()
        for item in list(self._old_locks):
            path, lock = item
            if not self.watcher.busy(path):
                self._old_locks.remove(item)
                lock.release()
                log.info('%s released: another cbx-exportd may serve it', path)

    def _config_path(self):
        files = getattr(self.config, 'files', ())
        return files[0] if files else (self.args.config or '(built-in defaults)')

    def _metrics_doc(self):
        """The daemon part of the metrics' snapshot (any thread)."""
        return {'pid': os.getpid(), 'started': _iso(self.started),
                'lanes': list(self._lane_names), 'restarted': liveness.last_restart()}

    def status_doc(self):
        self._lane_names = sorted(lane.name for lane in self._lanes())
        next_due, last_run = self.lane.snapshot()
        return {'pid': os.getpid(), 'started': _iso(self.started),
                'config': self._config_path(), 'next_due': next_due, 'last_run': last_run,
                'outbox': self.watcher.status(),
                'stalled': [{'lane': s[0], 'for': int(s[1]), 'bound': int(s[2]),
                             'doing': s[3]} for s in self.stalls],
                'restarted': liveness.last_restart(),
                'lanes': self._lane_names}

    def write_status(self):
        """Write status.json when its content changed (``updated`` = time of the change).

        At most once per :data:`STATUS_INTERVAL`: returns None, or the seconds after
        which a changed status is still to be written (the caller's select timeout).
        """
        from pycstbox.export.atomic import write_atomic
        doc = self.status_doc()
        body = json.dumps(doc, sort_keys=True)
        if body == self._last_status:
            return None
        wait = self._last_write + STATUS_INTERVAL - time.monotonic()
        if wait > 0:
            return wait
        self._last_write = time.monotonic()
        doc['updated'] = _iso(_utcnow())
        try:
            write_atomic(self.status_path, json.dumps(doc, indent=1, sort_keys=True) + '\n',
                         durable=False, skip_unchanged=False)
        except OSError as exc:
            if not self._status_failed:
                log.error('cannot write %s: %s', self.status_path, exc)
            self._status_failed = True
            return None
        self._status_failed = False
        self._last_status = body
        return None


def setup_logging(args, cfg, logsetup):
    """Logging as ``cbx-export`` does it: -L/--debug override the config's [log] level."""
    if cfg is None or cfg.log.file or cfg.log.syslog or not args.loglevel:
        logsetup.configure(args.loglevel, cfg.log if cfg else None, args.debug, ident=PROG)


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='cstbox-export daemon: runs the export jobs at their slots '
                               'and uploads the files dropped in the outbox folders.')
    parser.add_argument('-c', '--config', metavar='CONFIG',
                        help='configuration file (default: $CBX_EXPORT_CONFIG or '
                             '/etc/cstbox/export.toml)')
    parser.add_argument('-L', '--loglevel', metavar='LEVEL', type=str.upper,
                        choices=LOG_LEVELS, help='log level (default: the config\'s, INFO)')
    parser.add_argument('--debug', action='store_true', help='same as -L DEBUG')
    parser.add_argument('--pidfile', metavar='FILE',
                        help='write the daemon\'s pid there once it holds its locks '
                             '(removed when it stops)')
    return parser


def main(argv=None):
    """Entry point of ``cbx-exportd``; returns the exit code."""
    signals.install_early()
    args = build_parser().parse_args(argv)
    from pycstbox.export import config as configmod
    from pycstbox.export.config import logsetup
    from pycstbox.export.errors import ConfigError
    setup_logging(args, None, logsetup)
    try:
        cfg = configmod.load(args.config)
        setup_logging(args, cfg, logsetup)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print('%s: cannot open the log file: %s' % (PROG, exc), file=sys.stderr)
        return 2
    return Daemon(cfg, args).serve()


if __name__ == '__main__':
    signals.install_early()
    # run the imported module, not __main__: loggers are named pycstbox.export.daemon.daemon, as under cbx-exportd
    from pycstbox.export.daemon.daemon import main as _main
    sys.exit(_main())
