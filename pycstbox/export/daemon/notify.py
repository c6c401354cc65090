"""systemd's notification protocol (``sd_notify``), written directly: no dependency.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an
abstract socket); each message is one datagram of ``KEY=value`` lines.  ``cbx-exportd``
sends ``READY=1`` once its signals, locks and lanes are set up, ``WATCHDOG=1`` from its
main loop only while every lane is alive (:mod:`.liveness`), ``RELOADING=1`` with
``MONOTONIC_USEC`` on SIGHUP then ``READY=1`` again, and ``STOPPING=1`` when it stops.
``$WATCHDOG_USEC`` (``WatchdogSec=`` of the unit; for this process when
``$WATCHDOG_PID`` is unset or its pid) sets how often ``WATCHDOG=1`` must come.

Without ``$NOTIFY_SOCKET`` (init.d, a shell) every call does nothing.
"""

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to ``$NOTIFY_SOCKET`` (see module docstring)."""

    def __init__(self, environ=os.environ):
        addr = environ.get('NOTIFY_SOCKET', '')
        if addr.startswith('@'):
            addr = '\0' + addr[1:]            # abstract namespace
        self.address = addr if addr.startswith(('/', '\0')) else ''
        self.watchdog = None                  # seconds between two WATCHDOG=1 at most
        try:
            usec = int(environ.get('WATCHDOG_USEC', ''))
            pid = environ.get('WATCHDOG_PID', '')
            if usec > 0 and (not pid or int(pid) == os.getpid()):
                self.watchdog = usec / 1e6
        except ValueError:
            pass
        self._failed = False
        self._last_ping = None

    @property
    def enabled(self):
        return bool(self.address)

    def send(self, *lines):
        """Send one datagram of ``lines``; False when not under systemd or it failed."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto('\n'.join(lines).encode(), self.address)
        except OSError as exc:
            if not self._failed:
                log.warning('cannot notify systemd through %s: %s', self.address.replace(
                    '\0', '@'), exc)
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status=''):
        return self.send('READY=1', *(['STATUS=' + status] if status else []))

    def reloading(self):
        usec = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
        return self.send('RELOADING=1', 'MONOTONIC_USEC=%d' % usec)

    def stopping(self):
        return self.send('STOPPING=1')

    def ping(self):
        """``WATCHDOG=1`` (the caller checked that every lane is alive)."""
        if self.watchdog is None:
            return False
        self._last_ping = time.monotonic()
        return self.send('WATCHDOG=1')
