"""A real serial link for tests: a ``socat`` pty pair and ``lrzsz`` receivers.

Usage::

    with SerialLink(tmp_path / 'tty') as link:
        link.sender                                     # path of the port the transport opens
        with link.receiver(outdir, 'ymodem') as rx:     # lrzsz rb (or rx for 'xmodem')
            transport.send(...)
        rx.returncode                                   # after the block: rb's exit status

``ScriptedReceiver(link, ...)`` is an XMODEM-1K (CRC) receiver of ours on the receiving pty
(a thread) that can misbehave on purpose: answer each block with two ACKs (as a receiver that
got the block twice does), answer the successive EOTs with given bytes then fall silent (as
``rx`` once it has exited).

``receiver()`` starts ``rb --ymodem -b -y -u`` (files land in ``outdir`` under the name of
YMODEM block 0, overwriting) or ``rx -c -b xmodem.bin`` (in ``outdir``), reading and writing the
receiving pty; on exit it waits for the receiver a few seconds, then kills it.  socat is
stopped when the link exits.
"""

import binascii
import os
import select
import shutil
import signal
import subprocess
import threading
import time

SOCAT = '/usr/bin/socat'


def serial_usable():
    """Why the serial peer cannot run here ('' when it can)."""
    missing = [p for p in (SOCAT, '/usr/bin/rb', '/usr/bin/rx') if not os.path.exists(p)]
    return ('not installed: %s (apt install socat lrzsz)' % ', '.join(missing)) if missing else ''


class Receiver:
    """A running lrzsz receiver on the receiving end of a link."""

    def __init__(self, link, outdir, protocol, idle, relay):
        self.outdir = os.fspath(outdir)
        os.makedirs(self.outdir, exist_ok=True)
        # --delay-startup 1: the sender opens its port first (pyserial flushes the input
        # at open: a 'C' sent before would be lost and lrzsz repeats it only after 10 s)
        common = ['--delay-startup', '1', '-b', '-y', '-q', '-t', str(int(idle * 10))]
        if protocol == 'ymodem':
            cmd = ['rb', '--ymodem', '-u'] + common
        else:   # relative name: lrzsz refuses paths outside its cwd ("Security Violation")
            cmd = ['rx', '-c'] + common + ['xmodem.bin']
        if relay:
            self.tty = None
            cmd = [SOCAT, 'FILE:%s,raw,echo=0' % link.receiving, 'EXEC:%s' % ' '.join(cmd)]
            self.proc = subprocess.Popen(cmd, cwd=self.outdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         start_new_session=True)
        else:
            self.tty = open(link.receiving, 'r+b', buffering=0)
            self.proc = subprocess.Popen(cmd, cwd=self.outdir, stdin=self.tty,
                                         stdout=self.tty, stderr=subprocess.PIPE,
                                         start_new_session=True)
        self.returncode = None

    def kill(self):
        """Kill the receiver (and its relay): its own process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(5)

    def stop(self, wait=5.0):
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill()
        self.returncode = self.proc.returncode
        self.stderr = self.proc.stderr.read().decode('utf-8', 'replace')
        self.proc.stderr.close()
        if self.tty is not None:
            self.tty.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(wait=5.0 if exc[0] is None else 0.5)


class SerialLink:
    """Two linked ptys made by socat (a context manager)."""

    def __init__(self, root):
        self.root = os.fspath(root)
        self.proc = None

    def __enter__(self):
        os.makedirs(self.root, exist_ok=True)
        self.sender = os.path.join(self.root, 'ttyA')
        self.receiving = os.path.join(self.root, 'ttyB')
        self.proc = subprocess.Popen(
            [SOCAT, 'pty,raw,echo=0,link=%s' % self.sender,
             'pty,raw,echo=0,link=%s' % self.receiving],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.sender) and os.path.exists(self.receiving)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError('socat did not create the pty pair')
            time.sleep(0.02)
        return self

    def receiver(self, outdir, protocol='ymodem', idle=3.0, relay=None):
        """Start an lrzsz receiver (``rb`` or ``rx``) on the receiving end.

        ``relay`` (default: for xmodem) puts a second socat between the pty and lrzsz:
        lrzsz flushes its tty when it exits, and on a pty that also discards its last
        ACK if not yet read by socat; XMODEM ends with that ACK (YMODEM does not).
        """
        if relay is None:
            relay = protocol == 'xmodem'
        return Receiver(self, outdir, protocol, idle, relay)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def clean(self):
        shutil.rmtree(self.root, ignore_errors=True)


class ScriptedReceiver:
    """XMODEM-1K (CRC) receiver in a thread on ``link.receiving`` (a context manager).

    ``double_ack``: every good block is answered ACK ACK.  ``eot_answers``: the bytes
    answering the 1st, 2nd... EOT; after them the receiver stays silent.  After the block:
    ``data`` (blocks received, padding kept), ``eots`` (EOTs seen).  It stops after ``idle``
    s without input, or when the block exits.
    """

    def __init__(self, link, double_ack=False, eot_answers=(b'\x06',), idle=4.0):
        self.path, self.double_ack, self.idle = link.receiving, double_ack, idle
        self.eot_answers = list(eot_answers)
        self.data, self.eots, self.error = bytearray(), 0, None
        self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _read(self, size):
        out = b''
        while len(out) < size:
            ready, _, _ = select.select([self.fd, self.stop_r], [], [], self.idle)
            if not ready or self.stop_r in ready:
                raise TimeoutError('no input for %g s' % self.idle)
            out += os.read(self.fd, size - len(out))
        return out

    def _run(self):
        try:
            started = time.monotonic()   # 'C' until the sender starts (its open flushes)
            while not select.select([self.fd], [], [], 0.2)[0]:
                if time.monotonic() - started > self.idle:
                    return
                os.write(self.fd, b'C')
            seq = 1
            while True:
                head = self._read(1)
                if head == b'\x04':
                    self.eots += 1
                    if self.eot_answers:
                        os.write(self.fd, self.eot_answers.pop(0))
                    continue
                if head not in (b'\x01', b'\x02'):
                    continue
                body = self._read(2 + (128 if head == b'\x01' else 1024) + 2)
                block = body[2:-2]
                good = body[0] == 0xff - body[1] and \
                    binascii.crc_hqx(block, 0) == int.from_bytes(body[-2:], 'big')
                if good and body[0] == seq & 0xff:
                    self.data += block
                    seq += 1
                os.write(self.fd, (b'\x06\x06' if self.double_ack else b'\x06') if good
                         else b'\x15')
        except TimeoutError:
            pass
        except Exception as exc:  # pylint: disable=broad-except  # shown by the test
            self.error = exc

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        os.write(self.stop_w, b'x')
        self.thread.join(self.idle + 2)
        for fd in (self.fd, self.stop_r, self.stop_w):
            os.close(fd)
