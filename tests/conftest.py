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


def _devnull_ok():
    import stat
    try:
        return stat.S_ISCHR(os.stat('/dev/null').st_mode)
    except OSError:
        return False


def pytest_runtest_teardown(item, nextitem):
    """No test may leave /dev/null a regular file (seen once on this machine: every later
    '> /dev/null' then writes a file, and apt-key fails inside mmdebstrap)."""
    if not _devnull_ok():
        raise AssertionError('/dev/null is no longer a character device after %s' % item.nodeid)
