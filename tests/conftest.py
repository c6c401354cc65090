"""Suite-wide settings: the repository root is importable, subprocesses get it too."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ['PYTHONPATH'] = ROOT + (os.pathsep + os.environ['PYTHONPATH']
                                   if os.environ.get('PYTHONPATH') else '')
# no test writes node_exporter's real textfile (/var/lib/prometheus/node-exporter exists on
# test machines): metrics are off unless a test's config names a textfile
os.environ['CBX_EXPORT_METRICS_TEXTFILE'] = ''
