"""The daemon's signals, set first thing at start (before imports, config, locks, pid file).

``cbx-exportd`` (``bin/cbx-exportd``, ``python3 -m pycstbox.export.daemon``) calls
:func:`install_early` before it imports anything heavy, so that a signal sent
while it starts cannot end it by the default action:

- SIGHUP (reload), SIGTERM, SIGINT (stop): recorded; the main loop takes them
  over with :func:`take_pending` once it is set up (a HUP during start-up is a
  reload once ready; a TERM is a stop once ready);
- the signals the daemon does not use, whose default action would end or stop
  it (USR1, USR2, ALRM, VTALRM, PROF, IO, PWR, STKFLT, TTIN, TTOU, TSTP, XCPU,
  XFSZ; PIPE Python ignores already): ignored.

Left as they are: KILL and STOP (cannot be caught), QUIT (a core dump asked
for on purpose), and the faults (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS), which
must never be ignored.  Only CPython's built-in ``_signal`` is used here (already
loaded at interpreter start; ``signal`` itself costs ~6 ms of ``enum`` imports, and
a HUP in those milliseconds would still end the process).
"""

try:
    import _signal as signal      # the C module behind ``signal``: same functions
except ImportError:               # pragma: no cover - another interpreter
    import signal

#: handled by the daemon (recorded until the main loop takes them over)
HANDLED = ('SIGHUP', 'SIGTERM', 'SIGINT')
#: not used by the daemon: ignored
IGNORED = ('SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR',
           'SIGSTKFLT', 'SIGTTIN', 'SIGTTOU', 'SIGTSTP', 'SIGXCPU', 'SIGXFSZ', 'SIGPIPE')

_pending = []


def _record(signum, frame):
    _pending.append(signum)


def install_early():
    """Record HUP/TERM/INT, ignore the unused signals (idempotent; main thread only)."""
    for name in HANDLED:
        if signal.getsignal(getattr(signal, name)) is not _record:
            signal.signal(getattr(signal, name), _record)
    for name in IGNORED:
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)


def take_pending():
    """The signal numbers received since :func:`install_early`, oldest first (emptied)."""
    taken = list(_pending)
    del _pending[:len(taken)]
    return taken
