"""Crash safety of the backlog, proven by SIGKILLs at random moments."""

import os
import random
import signal
import subprocess
import sys
import time

from pycstbox.export import Backlog
from tests.core.backlog_writer import value

KILLS = 200
WRITER = os.path.join(os.path.dirname(__file__), 'backlog_writer.py')


def _expected(lines, state):
    """Update {id: set of acceptable values} from the child's protocol lines."""
    inflight = None
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            continue            # a line cut by the kill
        kind, op, jid, n = parts[0], parts[1], parts[2], int(parts[3])
        new = value(jid, n) if op == 'set' else None
        if kind == 'S':
            inflight = (jid, new)
        else:
            state[jid] = new
            inflight = None
    acceptable = {jid: [v] for jid, v in state.items()}
    if inflight:
        acceptable.setdefault(inflight[0], [None]).append(inflight[1])
    return acceptable


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    """After any of 200 SIGKILLs every promised entry is present and intact, no temp or corrupt entry."""
    rnd = random.Random(1234)
    root = str(tmp_path)
    state = {}
    complete_writes = 0
    for i in range(KILLS):
        child = subprocess.Popen([sys.executable, WRITER, root, str(i)],
                                 stdout=subprocess.PIPE, env=os.environ.copy())
        # wait until it started writing, then let it run a random while
        first = child.stdout.readline()
        time.sleep(rnd.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read().decode(errors='replace')
        child.wait(timeout=10)
        lines = [first.decode(errors='replace')] + rest.splitlines()
        complete_writes += sum(1 for x in lines if x.startswith('D set'))
        acceptable = _expected(lines, state)

        b = Backlog('crash', root=root)
        ids = list(b)
        assert all(not j.startswith('.') for j in ids)
        found = dict(b.items())
        assert b.corrupt_entries() == [], 'kill %d: a fully written entry ended in corrupt/' % i
        for jid, options in acceptable.items():
            got = found.get(jid)
            assert got in options, 'kill %d: entry %s is %r' % (i, jid, (got or {}).get('n'))
        # the state on disk is now the truth for the next round
        state = dict(found)
        for jid in set(state) | set(acceptable):
            state.setdefault(jid, None)
        temps = [n for n in os.listdir(b.location) if n.endswith('.tmp')]
        assert not temps or all(n.startswith('.') for n in temps)
    assert complete_writes > KILLS      # the child really did work between kills
