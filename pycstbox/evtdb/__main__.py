"""``python3 -m pycstbox.evtdb`` = ``cbx-evtdb``."""

import sys

from pycstbox.evtdb.cli import main

sys.exit(main())
