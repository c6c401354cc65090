"""``python3 -m pycstbox.export`` = ``cbx-export``."""

import sys

from pycstbox.export.cli.main import main

sys.exit(main())
