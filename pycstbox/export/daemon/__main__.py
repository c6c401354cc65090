"""``python3 -m pycstbox.export.daemon`` = ``cbx-exportd``."""

import sys

from pycstbox.export.daemon.daemon import main

sys.exit(main())
