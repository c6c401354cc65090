"""The export process: windows due -> backlog -> run, oldest first.

Holds: ``window`` (alignment, due times), ``state`` (watermark and last results),
``deadletter``, ``lock`` (one run at a time), ``artifact`` (where a window's file
is built), ``extract`` (events -> format), ``windowjob`` (one window from the store
to the target), ``runner`` (runs the pending entries and records each outcome),
``process`` (``ExportProcess``: enqueue, then run), ``retry`` (the backoff value),
``runtime`` (the volatile runtime directory).

May import: the seed modules (errors, job, backlog, atomic), :mod:`..config`,
:mod:`..formats` and :mod:`..transports` (the latter lazily, as default
factories).  Never ``dbus``, ``requests``, ``pyinotify`` or anything of
:mod:`..daemon` / :mod:`..cli`: the store, the transports, the clock and the
progress report are handed in.
"""
