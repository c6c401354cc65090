"""``python3 -m pycstbox.export.daemon`` = ``cbx-exportd``."""

import sys

from pycstbox.export.daemon import signals
signals.install_early()     # first: a HUP/USR1 during start-up must not end it

from pycstbox.export.daemon.daemon import main  # noqa: E402

sys.exit(main())
