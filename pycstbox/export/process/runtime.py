"""Where volatile state lives: the runtime directory (a tmpfs: no flash wear).

``/run/cstbox-export`` by default; the ``CBX_EXPORT_RUNTIME_DIR`` environment
variable (tests, unprivileged runs) overrides it (there is no configuration key).
It holds the daemon's ``status.json`` and the files being staged for upload.
"""

import os

DEFAULT_RUNTIME_DIR = '/run/cstbox-export'


def runtime_dir(config=None, environ=os.environ):
    return environ.get('CBX_EXPORT_RUNTIME_DIR') or DEFAULT_RUNTIME_DIR
