"""CSTBox event store access: the EventDatabase D-Bus client, the day-file store and
the ``cbx-evtdb`` reference service.

Modules: :mod:`event` (the Event type), :mod:`fsys` (day files), :mod:`client`
(paged D-Bus reads), :mod:`service` (the service), :mod:`generate` (sample data),
:mod:`cli` (the ``cbx-evtdb`` command).  Only ``client`` and ``service`` import dbus.
"""
