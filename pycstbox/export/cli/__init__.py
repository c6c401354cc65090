"""``cbx-export``: the command line.

Holds: ``main`` (argument parsing, dispatch, exit codes), ``helptext`` (the
ready-made ``--help`` text), ``commands`` (run, status, backlog, check),
``exportcmd`` (the one-off ``export``), ``status`` (the read-only state report)
and ``progress`` (the terminal progress line).

May import: every lower stage (seed, config, formats, transports, process), the
event store client lazily.  Never :mod:`..daemon` (it reads the daemon's status
file, not its code).  ``--help`` imports nothing but ``main`` and ``helptext``.
"""
