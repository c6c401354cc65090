#!/usr/bin/python3
"""XMODEM through socat + lrzsz ``rx``: how often a send is reported delivered (issue 16).

Usage (from the repository root)::

    /usr/bin/python3 bench/serial_xmodem.py [--runs 50] [--sizes 700,1023476,1024000]
        [--setup pty|relay] [--base REV] [--timeout 8] [--keep DIR] [--protocol ymodem]

Each run makes a fresh socat pty pair, starts ``rx -c -b -q --delay-startup 1`` in its
own directory (tests/peers/serial.py) and sends one file with ``protocol = "xmodem"``.
``--setup pty`` runs rx directly on the pty (the setup of issue 16); ``relay`` puts a
second socat between the pty and rx (the test peer's default for xmodem).  Data: the
bytes of a day file of ``cbx-evtdb generate`` (12 sensors, 60 s: 17,280 events), cut to
each size.  ``--base REV`` also runs the serial transport of git revision REV, each run
of the working tree paired with one of REV, in alternating order.  ``--protocol ymodem``
sends with YMODEM to ``rb`` instead (the file must arrive byte-identical).

Per size and code: delivered / failed out of N, and how the receiver ended (complete =
rx exit 0 and the file is the data padded with 0x1A); "false failure" = reported failed
although the receiver has the complete file, "false delivery" = reported delivered
although it does not.  Wall and CPU seconds of the sends: median and min-max (and the
wall ratio new/base of each pair with ``--base``).
"""

import argparse
import collections
import datetime
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pycstbox.evtdb.generate import generate  # noqa: E402
from tests.peers.serial import SerialLink, serial_usable  # noqa: E402
from tests.transports.harness import Target  # noqa: E402

MODULE = 'pycstbox/export/transports/serial.py'


def sample(tmp, size):
    """``size`` bytes of a generated day file (repeated if the day is shorter)."""
    generate(os.path.join(tmp, 'db'), datetime.date(2026, 11, 27), 1)
    day = next(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(tmp, 'db')) for f in fs)
    with open(day, 'rb') as f:
        data = f.read()
    return (data * (size // len(data) + 1))[:size]


def load_code(rev, tmp):
    """The TRANSPORT class of serial.py: the working tree ('') or git revision ``rev``."""
    if not rev:
        from pycstbox.export.transports import serial
        return serial.TRANSPORT
    path = os.path.join(tmp, 'serial_%s.py' % re.sub(r'\W', '_', rev))
    source = subprocess.run(['git', '-C', ROOT, 'show', rev + ':' + MODULE], check=True,
                            capture_output=True).stdout
    with open(path, 'wb') as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location('serial_base', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TRANSPORT


def one_run(cls, data, src, root, setup, timeout, protocol):
    """One send; returns (delivered, complete, message, wall, cpu)."""
    with SerialLink(os.path.join(root, 'tty')) as link:
        out = os.path.join(root, 'out')
        with link.receiver(out, protocol, idle=timeout, relay=setup == 'relay') as rx:
            transport = cls(Target('bench', 'serial', dict(
                port=link.sender, protocol=protocol, timeout=timeout)))
            wall, cpu = time.monotonic(), time.process_time()
            try:
                transport.send(src, 'bench.csv')
                delivered, message = True, ''
            except Exception as exc:  # pylint: disable=broad-except  # counted, shown
                delivered, message = False, str(exc)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    if protocol == 'xmodem':
        padded, name = data + b'\x1a' * (-len(data) % 1024), 'xmodem.bin'
    else:
        padded, name = data, 'bench.csv'
    try:
        with open(os.path.join(out, name), 'rb') as f:
            complete = rx.returncode == 0 and f.read() == padded
    except FileNotFoundError:
        complete = False
    return delivered, complete, message, wall, cpu


def span(values):
    return '%.2f (%.2f-%.2f)' % (statistics.median(values), min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--sizes', default='700,1023476,1024000',
                        help='bytes, comma separated (default: 1 block, 1,000 blocks, '
                             '1,000 blocks exactly)')
    parser.add_argument('--setup', choices=('pty', 'relay'), default='pty')
    parser.add_argument('--base', default='', help='git revision to compare with')
    parser.add_argument('--timeout', type=float, default=8.0)
    parser.add_argument('--protocol', choices=('xmodem', 'ymodem'), default='xmodem')
    parser.add_argument('--keep', default='', help='keep the run directories of failures here')
    args = parser.parse_args()
    why = serial_usable()
    if why:
        sys.exit(why)
    with tempfile.TemporaryDirectory(prefix='xmodem-bench-') as tmp:
        codes = [('new', load_code('', tmp))]
        if args.base:
            codes.append(('base %s' % args.base, load_code(args.base, tmp)))
        for size in (int(s) for s in args.sizes.split(',')):
            data = sample(tmp, size)
            src = os.path.join(tmp, 'src')
            with open(src, 'wb') as f:
                f.write(data)
            stats = {name: collections.defaultdict(list) for name, _ in codes}
            for run in range(args.runs):
                order = codes if run % 2 == 0 else codes[::-1]
                for name, cls in order:
                    root = tempfile.mkdtemp(dir=tmp)
                    delivered, complete, message, wall, cpu = one_run(
                        cls, data, src, root, args.setup, args.timeout, args.protocol)
                    s = stats[name]
                    s['delivered'].append(delivered)
                    s['complete'].append(complete)
                    s['wall'].append(wall)
                    s['cpu'].append(cpu)
                    if not delivered:
                        s['messages'].append(re.sub(r'/[^\s:]+', 'PORT', message))
                    if delivered != complete and args.keep:
                        subprocess.run(['cp', '-a', root, os.path.join(
                            args.keep, '%s-%d-%s' % (name.split()[0], size, run))])
                    subprocess.run(['rm', '-rf', root])
            for name, _ in codes:
                s = stats[name]
                pairs = list(zip(s['delivered'], s['complete']))
                print('%s %-5s %s size %d (%d blocks): delivered %d/%d, failed %d; receiver '
                      'complete %d; false failure %d, false delivery %d; wall %s s, cpu %s s'
                      % (args.protocol, args.setup, name, size, -(-size // 1024),
                         sum(s['delivered']), args.runs, args.runs - sum(s['delivered']),
                         sum(s['complete']), pairs.count((False, True)),
                         pairs.count((True, False)), span(s['wall']), span(s['cpu'])), flush=True)
                for message, count in collections.Counter(s['messages']).most_common():
                    print('    %3d x %s' % (count, message), flush=True)
            if len(codes) == 2:
                new, base = (stats[name]['wall'] for name, _ in codes)
                print('    wall ratio new/base per pair: %s' % span(
                    [a / b for a, b in zip(new, base)]), flush=True)


if __name__ == '__main__':
    main()
