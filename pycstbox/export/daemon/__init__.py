"""``cbx-exportd``: the daemon.

Holds: ``daemon`` (the main loop: signals, inotify, status file), ``scheduler``
(the process lane: ``ExportProcess`` at each job's slot), ``outbox`` (the inotify
watch of the drop folders; the only module importing ``pyinotify``) and
``outboxlane`` (one upload lane per target), ``outboxfile`` (which files of an
outbox may be sent, and when).

May import: every lower stage (seed, config, formats, transports, process).
Never :mod:`..cli`.  ``python3 -m pycstbox.export.daemon`` runs it.
"""
