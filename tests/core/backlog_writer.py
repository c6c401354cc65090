"""Child process for the crash test: writes, replaces and deletes backlog entries forever.

Protocol on stdout, one line per step, flushed: ``S <op> <id> <n>`` before an
operation, ``D <op> <id> <n>`` once it returned (the write is then promised).
"""

import os
import random
import sys

from pycstbox.export import Backlog


def value(jid, n):
    return {'id': jid, 'n': n, 'pad': ('%s-%d|' % (jid, n)) * (50 + n % 400)}


def main(root, seed):
    rnd = random.Random(int(seed))
    b = Backlog('crash', root=root)
    ids = ['2611%02d000000' % i for i in range(1, 13)]
    out = sys.stdout
    n = 0
    while True:
        n += 1
        jid = rnd.choice(ids)
        op = 'del' if rnd.random() < 0.25 else 'set'
        out.write('S %s %s %d\n' % (op, jid, n))
        out.flush()
        if op == 'set':
            b[jid] = value(jid, n)
        else:
            try:
                del b[jid]
            except KeyError:
                pass
        out.write('D %s %s %d\n' % (op, jid, n))
        out.flush()


if __name__ == '__main__':
    sys.path.insert(0, os.environ.get('PYTHONPATH', '.'))
    main(sys.argv[1], sys.argv[2])
