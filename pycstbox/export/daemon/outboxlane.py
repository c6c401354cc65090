"""One outbox lane: the thread that uploads the ready files of one target's drop folder.

Files are sent one at a time (never concurrently with themselves), oldest first
(mtime, then name), with ``transport.send(path, name, job=<target name>,
key='<site>-outbox-<name>')`` (``{job}`` of an http url or s3 key is the target's
name for outbox files), then removed.  The file is opened with
``O_NOFOLLOW`` and checked on the open descriptor, and the transport reads that
very descriptor (``/proc/self/fd/N``).  Temporary failure -> the file stays and
the lane backs off (``Retry.backoff``); permanent -> ``failed/<target>/`` with
its ``.error``; a refusal of the target itself (``scope='target'``: credentials,
bucket, login) holds the target (:mod:`~pycstbox.export.process.hold`): the files
stay and the lane waits for the next probe.  The inotify side is :mod:`.outbox`.

Which files may be sent is :mod:`.outboxfile`: a file found by a scan (start-up,
inotify overflow) rather than by an inotify event is sent only once it is quiet
(not open for writing by any process, not modified for a few seconds); until then
it is looked at again every few seconds.  A failure caused by the file itself (the
transport library refuses its name: ``ValueError``) is permanent for that file: it goes to
``failed/<target>/`` and the lane moves on.  Names are logged with their control
characters escaped (:func:`~pycstbox.export.transports.filename.printable`).
"""

import datetime
import logging
import os
import threading
import time

from pycstbox.export.atomic import fsync_dir
from pycstbox.export.daemon.outboxbudget import send_within_budget
from pycstbox.export.daemon.liveness import WORK_BOUND, Heartbeat, send_bound
from pycstbox.export.daemon.outboxfile import is_temp_name, problem, wait_needed, writers
from pycstbox.export.process.deadletter import DeadLetters
from pycstbox.export.process.recover import tidy_group
from pycstbox.export.daemon.outboxhold import HoldMixin
from pycstbox.export.process.hold import is_target_refusal
from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.process.retry import Retry
from pycstbox.export.transports.filename import printable

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def _iso(t):
    return t.strftime('%Y-%m-%dT%H:%M:%SZ') if t else None


class OutboxLane(HoldMixin, threading.Thread):
    """Uploads the ready files of one target's outbox (see module docstring)."""

    def __init__(self, target, site, state_dir, wake=lambda: None, retry=None,
                 transport_factory=None, tz=None, holds=None):
        threading.Thread.__init__(self, name='outbox-%s' % target.name, daemon=True)
        self.target, self.site = target, site
        self.tz = tz                   # config timezone: {date} of s3 keys
        self.dir = os.path.join(state_dir, 'outbox', target.name)
        self.dead = DeadLetters(state_dir)
        self.retry = retry or Retry()
        self._wake = wake
        self._factory = transport_factory
        self._cond = threading.Condition()
        self._ready = set()
        self._unsure = set()           # found by a scan: sent only once quiet
        self._later = {}               # name -> monotonic time to look at it again
        self._warned = set()
        self._stopping = False
        self._transport = None
        self._stale = False
        self._retry_at = None          # monotonic time of the next attempt after a failure
        self.attempts = 0
        self.delivered = 0
        self.last_error = None
        self.next_retry = None         # wall-clock time of the next attempt (for status)
        self.uid = os.geteuid()
        self.budget = None             # the targets' byte budgets (set by the watcher)
        self.heartbeat = Heartbeat(self.name)
        self.holds = holds             # process.hold.Holds, or None
        self.ended = False             # its thread has finished its work (about to exit)
        self._held = False

    # -- called from the main thread ------------------------------------------------
    def notify(self, name):
        """A file was closed or renamed in: it is ready."""
        with self._cond:
            self._ready.add(name)
            self._unsure.discard(name)
            self._later.pop(name, None)
            self._cond.notify()

    def rescan(self):
        """Every file present is ready (start-up, inotify queue overflow)."""
        try:
            names = os.listdir(self.dir)
        except OSError as exc:
            log.error('outbox %s: cannot list %s: %s', self.target.name, self.dir, exc.strerror)
            return
        with self._cond:
            self._unsure.update(n for n in names if n not in self._ready)
            self._ready.update(names)
            self._cond.notify()

    def update(self, target, site, tz=None):
        """New configuration of the target: use it, and retry now."""
        with self._cond:
            self.target, self.site, self.tz = target, site, tz
            self._stale = True
            self._retry_at = None
            self.next_retry = None
            self._cond.notify()

    def stop(self):
        """Start nothing new; the upload in progress (if any) finishes or is abandoned."""
        with self._cond:
            self._stopping = True
            self._cond.notify()

    def snapshot(self):
        """The status of this outbox: pending, delivered, last_error, next_retry."""
        with self._cond:
            return {'pending': len(self._ready), 'delivered': self.delivered,
                    'last_error': self.last_error, 'next_retry': _iso(self.next_retry)}

    # -- the lane thread ------------------------------------------------------------
    def run(self):
        try:
            # what a power cut left in failed/<target>/: temp files, a lone .error (the
            # file was not moved yet: it is still in the outbox), a letter without .error
            tidy_group(self.dead, self.target.name)
        except OSError as exc:
            log.warning('outbox %s: cannot tidy its dead letters: %s', self.target.name, exc)
        try:
            while True:
                with self._cond:
                    while not self._stopping:
                        wait = None
                        now = time.monotonic()
                        batch = [n for n in self._ready if self._later.get(n, 0) <= now]
                        if batch:
                            if self._retry_at is None:
                                break
                            wait = self._retry_at - now
                            if wait <= 0:
                                break
                        elif self._later:
                            wait = max(0.01, min(self._later.values()) - now)
                        self.heartbeat.beat()
                        self._cond.wait(self.heartbeat.wait_time(wait))
                    if self._stopping:
                        return
                    if self._stale:
                        self._close_transport()
                        self._stale = False
                self.heartbeat.beat(WORK_BOUND, 'looking at its files')
                try:
                    self._drain(batch)
                except Exception as exc:  # noqa: BLE001 - the lane must not die
                    log.error('outbox %s: unexpected failure: %s', self.target.name,
                              printable(exc), exc_info=True)
                    self._failed('(outbox)', exc, None)
                self._wake()
        finally:
            self._close_transport()
            self.ended = True          # set before the wake: is_alive() may still say True
            self._wake()               # a retired lane ended: its folder may be served again

    def _drain(self, batch):
        if self._wait_hold():
            return
        entries = []
        busy = None
        for name in batch:
            st = self._check(name)
            if st is None:
                continue
            with self._cond:
                unsure = name in self._unsure
            if unsure:
                if busy is None:
                    busy = writers(self.dir)
                wait = wait_needed(st, name in busy)
                with self._cond:
                    if wait > 0 and name in self._unsure:
                        self._later[name] = time.monotonic() + wait
                        log.debug('outbox %s: %s is not finished yet (written to %s)',
                                  self.target.name, printable(name),
                                  'now' if name in busy else 'a moment ago')
                        continue
                    self._unsure.discard(name)
                    self._later.pop(name, None)
            entries.append((st.st_mtime_ns, name))
        entries.sort()
        removed = 0
        try:
            for _, name in entries:
                if self._stopping or self._stale:
                    return
                result = self._upload(name)
                if result is None:
                    return                     # temporary failure: back off
                removed += result
                self._wake()                   # the status changed
                if removed and removed % 50 == 0:
                    fsync_dir(self.dir)
        finally:
            if removed % 50:
                try:
                    fsync_dir(self.dir)
                except OSError as exc:
                    log.error('outbox %s: cannot sync %s: %s', self.target.name, self.dir, exc)

    def _discard(self, name):
        with self._cond:
            self._ready.discard(name)
            self._unsure.discard(name)
            self._later.pop(name, None)

    def _refuse(self, name, st, why):
        self._discard(name)
        key = (name, st.st_ino if st else None)
        if key not in self._warned:
            self._warned.add(key)
            if len(self._warned) > 10000:
                self._warned.clear()
            log.warning('outbox %s: %s refused and left in %s: %s', self.target.name,
                        printable(name), self.dir, why)

    def _check(self, name):
        """lstat of a ready file that may be sent, or None (refused, temporary, gone)."""
        if is_temp_name(name):
            self._discard(name)
            log.debug('outbox %s: temporary name %s ignored', self.target.name,
                      printable(name))
            return None
        try:
            st = os.lstat(os.path.join(self.dir, name))
        except FileNotFoundError:
            self._discard(name)
            return None
        except OSError as exc:
            self._refuse(name, None, exc.strerror)
            return None
        why = problem(st, self.uid)
        if why:
            self._refuse(name, st, why)
            return None
        return st

    def _upload(self, name):
        """Send one file: 1 when sent and removed, 0 when dropped, None on temporary failure."""
        path = os.path.join(self.dir, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            self._discard(name)
            return 0
        except OSError as exc:
            self._refuse(name, None, 'cannot open it: %s' % exc.strerror)
            return 0
        try:
            st = os.fstat(fd)
            why = problem(st, self.uid)
            if why:
                self._refuse(name, st, why)
                return 0
            self.heartbeat.beat(send_bound(self.target, st.st_size),
                                'sending %s' % printable(name))
            try:
                transport = self._get_transport()
                if not send_within_budget(self, name, st.st_size, lambda: transport.send(
                        '/proc/self/fd/%d' % fd, name, job=self.target.name,
                        key='%s-outbox-%s' % (self.site, name))):
                    return None                # waits for the next budget period
            except PermanentError as exc:
                if is_target_refusal(exc) and self.holds is not None:
                    self._hold(name, exc)
                    return None

                self._dead_letter(path, name, st, exc)
                return 0
            except TemporaryError as exc:
                self._failed(name, exc, exc.retry_after)
                return None
            except ValueError as exc:   # the library refuses this file's name or data
                log.debug('outbox %s: refused by the transport', self.target.name, exc_info=True)
                self._dead_letter(path, name, st, 'the %s transport cannot send this file '
                                  '(%s: %s); rename it' % (self.target.type,
                                                           type(exc).__name__, exc))
                return 0
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the lane
                log.debug('outbox %s: unexpected failure', self.target.name, exc_info=True)
                self._failed(name, exc, None)
                return None
            self._remove(path, name, st)
            return 1
        finally:
            os.close(fd)
            self.heartbeat.beat(WORK_BOUND, 'looking at its files')

    def _remove(self, path, name, st):
        if self._held:
            self._held = False
            self.holds.release(self.target.name)
        again = False
        try:
            now_st = os.lstat(path)
            if (now_st.st_ino, now_st.st_dev) == (st.st_ino, st.st_dev):
                if (now_st.st_size, now_st.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
                    os.unlink(path)
                else:
                    again = True
                    log.info('outbox %s: %s changed while it was sent: it is sent again',
                             self.target.name, printable(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.error('outbox %s: %s was delivered but cannot be removed (%s): it will be '
                      'sent again; check the permissions of %s', self.target.name, printable(name),
                      exc.strerror, self.dir)
        with self._cond:
            if not again:
                self._ready.discard(name)
            self.delivered += 1
            self.attempts = 0
            self.last_error = None
            self.next_retry = self._retry_at = None
        log.info('outbox %s: %s delivered (%d bytes)', self.target.name, printable(name),
                 st.st_size)

    def _dead_letter(self, path, name, st, exc):
        self._discard(name)
        exc = printable(exc)
        try:
            now_st = os.lstat(path)
            if (now_st.st_ino, now_st.st_dev) != (st.st_ino, st.st_dev):
                raise FileNotFoundError(path)
            self.dead.add_file(self.target.name, path, name,
                               '%s\ntarget: %s\nwhat to do: fix the cause, then move the file '
                               'back into %s' % (exc, self.target.name, self.dir),
                               datetime.datetime.now(UTC))
        except OSError as err:
            log.error('outbox %s: %s was refused by the target (%s) and cannot be moved to '
                      'failed/: %s', self.target.name, printable(name), exc, err)
        with self._cond:
            self.last_error = exc

    def _failed(self, name, exc, retry_after):
        with self._cond:
            self.attempts += 1
            wait = self.retry.backoff(self.attempts)
            if retry_after:
                wait = max(wait, min(float(retry_after), self.retry.max_backoff))
            self._retry_at = time.monotonic() + wait
            self.next_retry = datetime.datetime.now(UTC) + datetime.timedelta(seconds=wait)
            self.last_error = str(exc)
        log.warning('outbox %s: %s stays in the outbox (attempt %d failed, next try in %d s): '
                    '%s', self.target.name, printable(name), self.attempts, wait, exc)
        self._close_transport()

    def _get_transport(self):
        if self._transport is None:
            if self._factory is not None:
                self._transport = self._factory(self.target, self.site)
            else:
                from pycstbox.export import transports
                self._transport = transports.create(self.target, site=self.site, tz=self.tz)
        return self._transport

    def _close_transport(self):
        t, self._transport = self._transport, None
        if t is not None:
            try:
                t.close()
            except Exception:  # noqa: BLE001
                log.debug('closing the transport of %s failed', self.target.name, exc_info=True)
