"""Serial transport over a socat pty pair with lrzsz receivers (tests/peers/serial.py)."""

import os
import threading
import time

import pytest

from pycstbox.export.errors import TemporaryError
from tests.transports.harness import make, write


def test_ymodem_is_byte_identical_under_its_name(serial_link, tmp_path):
    """YMODEM (default) delivers the exact bytes under the given name (rb truncates)."""
    data = os.urandom(5000)
    out = tmp_path / 'out'
    with serial_link.receiver(out, 'ymodem') as rx:
        make('serial', port=serial_link.sender, timeout=5).send(
            write(tmp_path / 'f', data), 'site_job_x.csv')
    assert rx.returncode == 0, rx.stderr
    assert (out / 'site_job_x.csv').read_bytes() == data


def test_xmodem_pads_the_last_block(serial_link, tmp_path):
    """protocol = xmodem delivers the data padded with 0x1A to a 1024 multiple (documented)."""
    data = os.urandom(3000)
    out = tmp_path / 'out'
    with serial_link.receiver(out, 'xmodem'):
        make('serial', port=serial_link.sender, protocol='xmodem', timeout=5).send(
            write(tmp_path / 'f', data), 'x.csv')
    got = (out / 'xmodem.bin').read_bytes()
    assert len(got) == 3072 and got[:3000] == data and set(got[3000:]) == {0x1a}


def test_receiver_killed_mid_transfer_is_temporary(serial_link, tmp_path):
    """The receiver dying in the middle of a transfer gives a TemporaryError, in bounded time."""
    data = os.urandom(400000)
    out = tmp_path / 'out'
    with serial_link.receiver(out, 'ymodem') as rx:
        def kill_when_started():
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                part = out / 'big.csv'
                if part.exists() and part.stat().st_size > 20000:
                    break
                time.sleep(0.01)
            rx.kill()
        killer = threading.Thread(target=kill_when_started, daemon=True)
        killer.start()
        started = time.monotonic()
        with pytest.raises(TemporaryError, match='big.csv'):
            make('serial', port=serial_link.sender, timeout=2).send(
                write(tmp_path / 'f', data), 'big.csv')
        killer.join(5)
    assert time.monotonic() - started < 10
    assert (out / 'big.csv').stat().st_size < len(data)


def test_receiver_cancel_is_temporary(serial_link, tmp_path):
    """A receiver sending CAN CAN cancels the transfer: temporary."""
    data = os.urandom(2000)
    with open(serial_link.receiving, 'r+b', buffering=0) as peer:
        def cancel():
            peer.write(b'C')
            time.sleep(0.3)
            peer.write(b'\x18\x18\x18')
        threading.Thread(target=cancel, daemon=True).start()
        with pytest.raises(TemporaryError, match='cancelled'):
            make('serial', port=serial_link.sender, timeout=3).send(
                write(tmp_path / 'f', data), 'x.csv')


def test_silent_receiver_is_temporary_within_timeout(serial_link, tmp_path):
    """Nobody receiving on the line: temporary after the configured timeout."""
    started = time.monotonic()
    with pytest.raises(TemporaryError, match='silent for 1 s'):
        make('serial', port=serial_link.sender, timeout=1).send(
            write(tmp_path / 'f', b'x' * 100), 'x.csv')
    assert time.monotonic() - started < 4
