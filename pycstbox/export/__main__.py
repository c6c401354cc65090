"""``python3 -m pycstbox.export`` = ``cbx-export``."""

import sys

from .cli import main

sys.exit(main())
