"""Configuration: TOML files -> frozen dataclasses; every validation happens here.

Holds: ``loader`` (files, drop-ins, top-level sections), ``model`` (the frozen
``Config``/``TargetConfig``/``JobConfig`` objects), ``section`` (one target or job
table, secret files read in), ``schema`` (the keys, types and ranges of each section
and target type), ``duration`` and ``size`` (``15m``, ``64MiB``, dates, instants),
``s3check`` (s3 options) and ``logsetup`` (applies ``[log]``).

May import: the standard library, :mod:`pycstbox.export.errors` and, lazily,
:mod:`pycstbox.export.formats` (to validate a format name).  Never D-Bus, the
network or inotify.  The public names of ``loader`` are re-exported here, so
``from pycstbox.export import config; config.load()`` is the way in.
"""

from pycstbox.export.config.loader import *          # noqa: F401,F403  (the public API)
from pycstbox.export.config.loader import __all__     # noqa: F401
