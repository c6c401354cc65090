"""Outbox drop folders: ``state_dir/outbox/<target>/``, watched with pyinotify.

A file closed after writing (``IN_CLOSE_WRITE``) or renamed into the folder
(``IN_MOVED_TO``) becomes *ready*; files already there when the watch starts are
ready too.  Each target has one :class:`OutboxLane` thread that uploads its ready
files one at a time (never concurrently with itself), oldest first (mtime, then
name), with ``transport.send(path, name, job=<target name>, key='<site>-outbox-<name>')``,
then removes them.  A file that is still being written is not ready: it was
neither closed nor renamed in.

Refused and left alone (a warning, once per file): directories, symlinks,
anything not a regular file, files not owned by the daemon's user or root.
Temporary names (``.*``, ``*.tmp``, ``*.part``) are ignored (debug log only: it is
the normal way to write a file before renaming it in).  The file is opened with
``O_NOFOLLOW`` and checked on the open descriptor, and the transport reads that
very descriptor (``/proc/self/fd/N``): swapping in a symlink after the check
cannot make the daemon send another file.

Failures: temporary -> the file stays, the target backs off (``Retry.backoff``:
exponential, bounded, with jitter; one log line per attempt); permanent -> the
file moves to ``failed/<target>/`` with its ``.error``.  Targets are independent.

This is the only module importing ``pyinotify``.
"""

import array
import fcntl
import logging
import os
import struct
import termios
import time

from pycstbox.export.daemon.outboxfile import ensure_dir
from pycstbox.export.daemon.outboxlane import OutboxLane
from pycstbox.export.process.hold import Holds
from pycstbox.export.process.runtime import runtime_dir

log = logging.getLogger(__name__)


def _notifier_class(pyinotify):
    """pyinotify's Notifier, reading names as ``os.listdir`` does (undecodable bytes kept).

    pyinotify 0.9 decodes file names as strict UTF-8: one file whose name is not
    UTF-8 raised ``UnicodeDecodeError`` out of the main loop.  This reader decodes
    with ``os.fsdecode`` (surrogateescape), so such a file reaches its lane under the
    same name a directory listing gives, and the lane deals with it.
    """

    class Notifier(pyinotify.Notifier):
        def read_events(self):
            buf = array.array('i', [0])
            if fcntl.ioctl(self._fd, termios.FIONREAD, buf, 1) == -1:
                return
            size = buf[0]
            if size < self._threshold:
                return
            try:
                raw = os.read(self._fd, size)
            except OSError as exc:
                raise pyinotify.NotifierError(exc) from exc
            pos = 0
            while pos + 16 <= len(raw):
                wd, mask, cookie, length = struct.unpack_from('iIII', raw, pos)
                name = os.fsdecode(raw[pos + 16:pos + 16 + length].rstrip(b'\0'))
                event = pyinotify._RawEvent(wd, mask, cookie, name)
                if self._coalesce:
                    text = str(event)
                    if text not in self._eventset:
                        self._eventset.add(text)
                        self._eventq.append(event)
                else:
                    self._eventq.append(event)
                pos += 16 + length

    return Notifier


class OutboxWatcher:
    """The inotify watch of every outbox folder and their lanes (main thread side).

    ``fileno()`` is for the caller's ``select``; call ``handle()`` when it is
    readable.  ``apply(config)`` follows the configured targets.
    """

    MASK_NAMES = ('IN_CLOSE_WRITE', 'IN_MOVED_TO')

    def __init__(self, wake=lambda: None, transport_factory=None):
        import pyinotify
        self._pyinotify = pyinotify
        plog = logging.getLogger('pyinotify')     # it brings its own console handler:
        for h in list(plog.handlers):             # let its records reach ours instead
            plog.removeHandler(h)
        self.wake = wake
        self._factory = transport_factory
        self.wm = pyinotify.WatchManager()
        watcher = self

        class Handler(pyinotify.ProcessEvent):
            def process_default(self, event):
                watcher._event(event)

        self.notifier = _notifier_class(pyinotify)(self.wm, Handler(), timeout=0)
        self.mask = pyinotify.IN_CLOSE_WRITE | pyinotify.IN_MOVED_TO | pyinotify.IN_ONLYDIR
        self.lanes = {}        # resolved outbox folder -> OutboxLane
        self._wds = {}         # resolved outbox folder -> watch descriptor
        self._by_dir = {}      # watched directory -> resolved outbox folder
        self._retiring = []    # lanes stopped by a reload, maybe still uploading
        self._deferred = {}    # resolved folder -> (name, target, config): waits for a retiree
        self._budget = None    # the targets' byte budgets of the config being served
        self._waiting = set()  # folders whose wait was logged

    def fileno(self):
        return self.wm.get_fd()

    def apply(self, config):
        """Watch ``outbox/<target>/`` of every target of ``config``; drop the others.

        Lanes are keyed by the outbox folder's resolved path: no two lanes ever serve
        one folder.  A lane removed (target gone, renamed, moved state_dir) is stopped
        and *retired*; a lane wanted again on a folder whose retired lane still
        uploads starts only once that one has ended (:meth:`reap`).
        """
        wanted = {}
        for name in sorted(config.targets):
            folder = os.path.join(config.state_dir, 'outbox', name)
            key = os.path.realpath(folder)
            if key in wanted:
                log.error('outbox %s: %s is the outbox of target %s too: only %s is served '
                          'from it; give each target its own folder', name, folder,
                          wanted[key][0], wanted[key][0])
                continue
            wanted[key] = (name, config.targets[name])
        for key, lane in list(self.lanes.items()):
            want = wanted.get(key)
            if want is None or want[0] != lane.target.name or lane.dir != os.path.join(
                    config.state_dir, 'outbox', want[0]):
                self._remove(key)
        from pycstbox.export.process.budget import Budget
        self._budget = Budget(config, runtime_dir(config))   # outbox files share it (issue 24)
        self._deferred = {}
        for key, (name, target) in wanted.items():
            lane = self.lanes.get(key)
            if lane is not None:
                lane.budget = self._budget
                lane.update(target, config.site, config.tz)
                continue
            self._deferred[key] = (name, target, config)
        self.reap()

    def reap(self):
        """Forget the retired lanes that ended; start the lanes that waited for them."""
        for lane in self._retiring:
            if lane.ended:
                lane.join(1.0)
        self._retiring = [lane for lane in self._retiring
                          if lane.is_alive() and not lane.ended]
        busy = {os.path.realpath(lane.dir) for lane in self._retiring}
        for key, (name, target, config) in list(self._deferred.items()):
            if key in busy:
                if key not in self._waiting:
                    self._waiting.add(key)
                    log.info('outbox %s: waits for the upload in progress on %s before '
                             'serving it again', name, key)
                continue
            del self._deferred[key]
            self._waiting.discard(key)
            self._start(key, name, target, config)

    def busy(self, root):
        """True while a retired lane under ``root`` still runs (its upload not finished)."""
        root = os.path.realpath(root) + os.sep
        return any(os.path.realpath(lane.dir).startswith(root) for lane in self._retiring)

    def _start(self, key, name, target, config):
        lane = OutboxLane(target, config.site, config.state_dir, self.wake,
                          transport_factory=self._factory, tz=config.tz,
                          holds=Holds(runtime_dir(config)))
        lane.budget = self._budget
        try:
            ensure_dir(lane.dir)
            wd = self.wm.add_watch(lane.dir, self.mask, quiet=False)[lane.dir]
        except (OSError, self._pyinotify.WatchManagerError) as exc:
            log.error('outbox %s: cannot watch %s: %s; files dropped there are not sent '
                      'until the daemon is reloaded', name, lane.dir, exc)
            return
        self.lanes[key] = lane
        self._wds[key] = wd
        self._by_dir[lane.dir] = key
        lane.rescan()
        lane.start()
        log.info('outbox %s: watching %s', name, lane.dir)

    def _remove(self, key):
        lane = self.lanes.pop(key)
        lane.stop()
        if lane.is_alive():
            self._retiring.append(lane)
        wd = self._wds.pop(key, None)
        self._by_dir.pop(lane.dir, None)
        if wd is not None:
            try:
                self.wm.rm_watch(wd, quiet=True)
            except Exception:  # noqa: BLE001
                log.debug('rm_watch failed', exc_info=True)

    def handle(self):
        """Read the pending inotify events and hand ready files to their lanes.

        Never raises: when the events cannot be read (a bug, a library surprise),
        every outbox folder is scanned instead, so no file is missed and the
        daemon goes on.
        """
        try:
            self.notifier.read_events()
            self.notifier.process_events()
        except Exception:  # noqa: BLE001 - a file name must never stop the daemon
            log.warning('outbox: cannot read the file events; scanning every outbox folder',
                        exc_info=True)
            for lane in self.lanes.values():
                lane.rescan()

    def _event(self, event):
        if event.mask & self._pyinotify.IN_Q_OVERFLOW:
            log.warning('outbox: too many events at once; scanning every outbox folder')
            for lane in self.lanes.values():
                lane.rescan()
            return
        key = self._by_dir.get(event.path.rstrip('/'))
        if key not in self.lanes or not event.name:
            return
        self.lanes[key].notify(event.name)   # a directory is refused by the lane

    def status(self):
        return {lane.target.name: lane.snapshot()
                for lane in sorted(self.lanes.values(), key=lambda lane: lane.target.name)}

    def stop(self):
        for lane in self.lanes.values():
            lane.stop()

    def join(self, deadline):
        """Wait for the lanes (retired ones too) until ``deadline`` (monotonic); True: all ended."""
        lanes = list(self.lanes.values()) + self._retiring
        for lane in lanes:
            lane.join(max(0.0, deadline - time.monotonic()))
        return not any(lane.is_alive() for lane in lanes)

    def close(self):
        try:
            self.notifier.stop()
        except Exception:  # noqa: BLE001
            log.debug('closing inotify failed', exc_info=True)
