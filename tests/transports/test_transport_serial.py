"""Serial transport over a socat pty pair with lrzsz receivers (tests/peers/serial.py)."""

import os
import threading
import time

import pytest

from pycstbox.export.errors import TemporaryError
from tests.peers.serial import ScriptedReceiver
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


@pytest.mark.parametrize('size,runs', [(700, 2), (1024 * 1000, 2), (1024 * 1000 - 524, 1)],
                         ids=['1-block', '1000-blocks-exact', '1000-blocks'])
def test_xmodem_through_rx_is_delivered_at_every_size(serial_link, tmp_path, size, runs):
    """Each XMODEM send that rx completes is reported delivered, whatever the size (issue 16)."""
    data = os.urandom(size)
    src = write(tmp_path / 'f', data)
    for run in range(runs):
        out = tmp_path / ('out%d' % run)
        with serial_link.receiver(out, 'xmodem') as rx:
            make('serial', port=serial_link.sender, protocol='xmodem', timeout=8).send(
                src, 'x.csv')
        assert rx.returncode == 0, rx.stderr
        assert (out / 'xmodem.bin').read_bytes() == data + b'\x1a' * (-size % 1024)


def test_xmodem_rx_on_a_pty_is_delivered_or_says_why(serial_link, tmp_path):
    """rx right on a pty (its exit may discard its last ACK): delivered, or the EOT message."""
    data = os.urandom(700)
    out = tmp_path / 'out'
    with serial_link.receiver(out, 'xmodem', relay=False) as rx:
        try:
            make('serial', port=serial_link.sender, protocol='xmodem', timeout=2).send(
                write(tmp_path / 'f', data), 'x.csv')
        except TemporaryError as exc:
            assert 'every block (1) was acknowledged, the end of the file (EOT) was not' \
                in str(exc)
    assert rx.returncode == 0, rx.stderr
    assert (out / 'xmodem.bin').read_bytes()[:700] == data


def test_xmodem_lost_last_ack_says_what_xmodem_cannot_tell(serial_link, tmp_path):
    """Every block ACKed, EOT never: temporary, saying the receiver may hold the whole file."""
    data = os.urandom(3000)
    started = time.monotonic()
    with ScriptedReceiver(serial_link, eot_answers=()) as peer:
        with pytest.raises(TemporaryError, match=r'x\.csv.*every block \(3\) was acknowledged, '
                           r'the end of the file \(EOT\) was not.*XMODEM cannot tell'):
            make('serial', port=serial_link.sender, protocol='xmodem', timeout=2).send(
                write(tmp_path / 'f', data), 'x.csv')
    assert time.monotonic() - started < 6
    assert bytes(peer.data[:3000]) == data and peer.eots >= 1 and peer.error is None


def test_xmodem_stale_ack_is_not_the_answer_to_eot(serial_link, tmp_path):
    """A duplicate ACK of a block never passes for the ACK of EOT (no false delivery)."""
    with ScriptedReceiver(serial_link, double_ack=True, eot_answers=()) as peer:
        with pytest.raises(TemporaryError, match='the end of the file \\(EOT\\) was not'):
            make('serial', port=serial_link.sender, protocol='xmodem', timeout=2).send(
                write(tmp_path / 'f', os.urandom(3000)), 'x.csv')
    assert peer.error is None


@pytest.mark.parametrize('answers', [(b'\x06',), (b'\x15', b'\x06')], ids=['ack', 'nak-then-ack'])
def test_xmodem_eot_acked_is_delivered(serial_link, tmp_path, answers):
    """EOT ACKed (at once, or after a NAK) is delivered, duplicate block ACKs ignored."""
    data = os.urandom(5000)
    with ScriptedReceiver(serial_link, double_ack=True, eot_answers=answers) as peer:
        make('serial', port=serial_link.sender, protocol='xmodem', timeout=3).send(
            write(tmp_path / 'f', data), 'x.csv')
    assert bytes(peer.data[:5000]) == data and peer.eots == len(answers)


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
