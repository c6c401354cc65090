"""``serial`` transport: send a file over a serial line (radio modem...) with ``pyserial``.

Protocols (option ``protocol``):

- ``ymodem`` (default, recommended): YMODEM batch with CRC and 1K blocks.  Block 0
  carries the file name and its exact size, so the receiver (e.g. lrzsz ``rb``) writes
  the file under ``name``, byte-identical; an empty block 0 ends the batch.
- ``xmodem``: plain XMODEM-1K with CRC (``python3-xmodem``).  XMODEM carries no name
  nor size: the receiver chooses the name and gets the file padded with 0x1A up to a
  multiple of 1024 bytes (use it only when the receiving side strips the padding).

The block sender is this module's (``python3-xmodem`` has no YMODEM; its CRC is used);
the receiver must ask for CRC (``C``).  Every block is acknowledged by the receiver
before the next one is sent; a block not acknowledged in time is sent again (lrzsz
flushes its input right after each ACK, so the next block may be lost on fast links);
answers already waiting before a block or EOT is sent are stale and dropped (a duplicate
ACK must not pass for the next one); :meth:`send` returns once the end of the file (EOT)
was acknowledged.  XMODEM ``rx`` exits right after that last ACK: if it is lost, the
sender cannot know whether the receiver holds the file (the error says so and the file is
sent again).  On a pty pair (socat) rx's exit discards that ACK unless socat already read
it (Linux ptys do not drain): run rx behind a relay (``socat pty,... EXEC:rx``) for tests.
The receiver names the file itself: a failed transfer may leave a partial file on the
receiving side (lrzsz keeps it); the next successful send overwrites it.

Options: ``port`` (device), ``baudrate`` (115200), ``protocol`` (``ymodem``),
``timeout`` (60 s: longest silence of the receiver tolerated at any point).

Classification: port missing or busy, receiver silent, receiver cancel (CAN CAN), too
many rejected blocks: temporary.  Unknown protocol: permanent.
"""

import logging
import os
import time

from pycstbox.export.transports import Transport

log = logging.getLogger(__name__)

SOH, STX, EOT, ACK, NAK, CAN, CRC = b'\x01', b'\x02', b'\x04', b'\x06', b'\x15', b'\x18', b'C'
PAD = b'\x1a'
PROTOCOLS = ('ymodem', 'xmodem')
RETRY = 10
POLL = 0.2   # seconds: granularity of the read deadlines


class _Abort(Exception):
    """Internal: the receiver is silent or cancelled (message for the technician)."""


class _Silent(_Abort):
    """Internal: the receiver said nothing for ``timeout`` s."""


class _Line:
    """getc/putc over a pyserial port, with a deadline on the receiver's silence."""

    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.last = time.monotonic()
        self.cancels = 0

    def getc(self, size, timeout=1):
        """Up to ``size`` bytes within ``timeout`` s (None if none); _Abort on silence/cancel."""
        until = time.monotonic() + (timeout or 1)
        while True:
            data = self.port.read(size)   # port.timeout is short: re-check the deadlines
            now = time.monotonic()
            if data:
                break
            if now - self.last >= self.timeout:
                raise _Silent('the receiver stayed silent for %g s' % self.timeout)
            if now >= until:
                return None
        self.last = now
        self.cancels = self.cancels + 1 if data == CAN else 0
        if self.cancels >= 2:
            raise _Abort('the receiver cancelled the transfer')
        return data

    def discard(self):
        """Drop the bytes already received (CAN CAN still cancels)."""
        waiting = self.port.in_waiting
        if waiting:
            for char in self.port.read(waiting):
                self.cancels = self.cancels + 1 if char == CAN[0] else 0
                if self.cancels >= 2:
                    raise _Abort('the receiver cancelled the transfer')

    def putc(self, data, timeout=1):
        self.port.write(data)
        return len(data)

    def wait_for(self, wanted, what):
        """Read until one of ``wanted`` arrives (other bytes are line noise)."""
        errors = 0
        while True:
            char = self.getc(1, self.timeout)
            if char in wanted:
                return char
            errors += 1
            if errors > RETRY * 4:
                raise _Abort('the receiver did not %s' % what)


class SerialTransport(Transport):
    """Send files over a serial port with YMODEM or XMODEM-1K (see the module docstring)."""

    type = 'serial'

    def __init__(self, target, site='', tz=None):
        Transport.__init__(self, target, site, tz)
        self.port = str(self.opt('port', ''))
        self.baudrate = int(self.opt('baudrate', 115200))
        self.protocol = str(self.opt('protocol', 'ymodem')).lower()
        self.timeout = float(self.opt('timeout', 60))

    def _open(self):
        serial = self.require('serial', 'python3-serial')
        if self.protocol not in PROTOCOLS:
            raise self.permanent('unknown protocol %r: use one of %s'
                                 % (self.protocol, ', '.join(PROTOCOLS)))
        if not self.port:
            raise self.permanent('no port configured')
        try:
            return serial.Serial(self.port, self.baudrate, timeout=POLL,
                                 write_timeout=self.timeout, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self.temporary('cannot open serial port %s: %s: check the cable or USB '
                                 'adapter and that no other program uses the port '
                                 '(will retry)' % (self.port, _reason(exc))) from exc

    def check(self):
        """The port exists and can be opened exclusively (nothing is sent)."""
        self._open().close()

    def send(self, path, name, *, job='', key=None, start=None, meta=None):
        """Send ``path``; return once the receiver acknowledged the end of the file."""
        xmodem = self.require('xmodem', 'python3-xmodem')
        serial = self.require('serial', 'python3-serial')
        with self.open_source(path) as src:
            st = os.fstat(src.fileno())
            port = self._open()
            line = _Line(port, self.timeout)
            crc = xmodem.XMODEM1k(line.getc, line.putc).calc_crc
            try:
                if self.protocol == 'ymodem':
                    self._block0(line, crc, _header(name, st.st_size, st.st_mtime))
                else:
                    line.wait_for((CRC,), 'start the transfer (it must ask for CRC)')
                count = self._blocks(line, crc, src)
                self._eot(line, count)
                if self.protocol == 'ymodem':
                    self._block0(line, crc, b'', final=True)
            except _Abort as exc:
                _cancel(port)
                raise self.temporary('sending %s on %s: %s (will retry)'
                                     % (name, self.port, exc)) from exc
            except (serial.SerialException, OSError) as exc:
                raise self.temporary('sending %s on %s: %s (will retry)'
                                     % (name, self.port, _reason(exc))) from exc
            finally:
                port.close()
        log.debug('target %s: %s sent on %s (%s)', self.name, name, self.port, self.protocol)

    def _wait(self, extra):
        """Seconds to wait for an answer before sending again.

        lrzsz flushes its input right after each ACK, so a block sent at once may be
        lost (always possible on fast links): it is sent again after the time to
        transmit two blocks plus ``extra`` s.  The receiver's silence is bounded by
        ``timeout`` as a whole.
        """
        return min(self.timeout, extra + 2 * 1029 * 10.0 / max(self.baudrate, 1))

    def _packet(self, crc, seq, data):
        size = 128 if len(data) <= 128 and seq == 0 else 1024
        data = data.ljust(size, b'\0' if seq == 0 else PAD)
        check = crc(data)
        return (SOH if size == 128 else STX) + bytes((seq, 0xff - seq)) + data + \
            bytes((check >> 8, check & 0xff))

    def _exchange(self, line, packet, tries, wait):
        """Send ``packet`` until ACKed (True) or ``tries`` exhausted (False)."""
        for _ in range(tries):
            line.putc(packet)
            deadline = time.monotonic() + wait
            while True:   # skip noise until ACK, NAK or the wait is over
                char = line.getc(1, max(0.01, deadline - time.monotonic()))
                if char == ACK:
                    return True
                if char is None or char == NAK or time.monotonic() >= deadline:
                    break
        return False

    def _blocks(self, line, crc, src):
        """XMODEM-1K data blocks (CRC), each ACKed; returns their count."""
        seq = count = 0
        while True:
            data = src.read(1024)
            if not data:
                break
            seq, count = (seq + 1) & 0xff, count + 1
            line.discard()   # answers to earlier tries (a duplicate ACK/NAK) are stale
            if not self._exchange(line, self._packet(crc, seq, data), RETRY, self._wait(1.0)):
                raise _Abort('block %d was not acknowledged after %d tries' % (count, RETRY))
        return count

    def _eot(self, line, count):
        """EOT until ACKed; when it is not, say what the protocol cannot tell.

        lrzsz takes EOT only after 1 s of silence (a byte within that second makes it
        NAK), so EOT is sent again after 2 s.  XMODEM ``rx`` exits right after its ACK:
        when that last ACK is lost (noise; on a pty, rx's exit flushes it away), nothing
        tells a receiver that holds the whole file from one that never saw EOT.  YMODEM
        ``rb`` stays for the next header and acknowledges a repeated EOT.
        """
        line.discard()   # a stale ACK must not pass for the answer to EOT
        try:
            if self._exchange(line, EOT, RETRY, self._wait(2.0)):
                return
            why = 'after %d tries' % RETRY
        except _Silent:
            why = 'receiver silent for %g s' % self.timeout
        if self.protocol != 'xmodem':
            raise _Abort('the end of the file (EOT) was not acknowledged (%s)' % why)
        raise _Abort('every block (%d) was acknowledged, the end of the file (EOT) was not (%s): '
                     'the receiver may hold the complete file, XMODEM cannot tell a lost '
                     'last ACK from an EOT never received (YMODEM confirms the end)'
                     % (count, why))

    def _block0(self, line, crc, data, final=False):
        """YMODEM block 0: wait for 'C', send the header, wait for its ACK.

        ``final``: the empty block 0 that ends the batch.  The file was already
        acknowledged (lrzsz closes it before acknowledging EOT), so it is sent twice at
        most and a missing answer is not an error.
        """
        try:
            line.wait_for((CRC,), 'ask for the file header')
            if self._exchange(line, self._packet(crc, 0, data), 2 if final else RETRY,
                              self._wait(1.0)):
                return
        except _Abort:
            if not final:
                raise
        if final:
            log.debug('target %s: end of batch not acknowledged (file was)', self.name)
        else:
            raise _Abort('the receiver did not acknowledge the file header')


def _header(name, size, mtime):
    return b'%s\0%d %o' % (os.path.basename(name).encode('utf-8'), size, int(mtime))


def _cancel(port):
    try:
        port.write(CAN * 3)
    except Exception:  # pylint: disable=broad-except  # best effort on a dying line
        pass


def _reason(exc):
    return ' '.join(str(getattr(exc, 'strerror', None) or exc).split())


TRANSPORT = SerialTransport
