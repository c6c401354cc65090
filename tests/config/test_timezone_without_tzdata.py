"""timezone = "UTC" works on a box without zone files (tzdata removed or not installed):
the package must start on a minimal Debian (issue 10, defect 18)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = '''
import sys, zoneinfo
from pycstbox.export import config
try:
    zoneinfo.ZoneInfo("Europe/Paris")
    sys.exit("zone files are still visible: the test proves nothing")
except zoneinfo.ZoneInfoNotFoundError:
    pass
c = config.load(sys.argv[1])
print(c.tz.utcoffset(None))
'''


def test_utc_needs_no_zone_files(tmp_path):
    """With no zone files at all, timezone = "UTC" loads; another zone is a one-line error."""
    cfg = tmp_path / 'export.toml'
    cfg.write_text('site = "s"\nstate_dir = "%s"\ntimezone = "UTC"\n' % (tmp_path / 'state'))
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONTZPATH=str(tmp_path / 'no-zones'))
    out = subprocess.run([sys.executable, '-c', PROBE, str(cfg)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == '0:00:00', out.stdout + out.stderr
    cfg.write_text('site = "s"\nstate_dir = "%s"\ntimezone = "Europe/Paris"\n'
                   % (tmp_path / 'state'))
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg), 'check'],
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stdout + out.stderr
    assert 'tzdata' in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
