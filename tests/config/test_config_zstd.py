"""compress = "zstd" and compress_level: accepted values, one clear line per mistake."""

import subprocess
import sys

import pytest

from pycstbox.export.config import ConfigError, load

from .test_config import GOOD, write


def job(tmp_path, extra):
    return load(write(tmp_path, GOOD + extra), environ={}).jobs['daily']


def test_zstd_and_levels(tmp_path):
    """compress = zstd is a compression; compress_level 0 means the default of each."""
    j = load(write(tmp_path, GOOD.replace('"gzip"', '"zstd"')), environ={}).jobs['daily']
    assert (j.compress, j.compress_level) == ('zstd', 0)
    assert job(tmp_path, 'compress_level = 9\n').compress_level == 9
    j = load(write(tmp_path, GOOD.replace('"gzip"', '"zstd"') + 'compress_level = 19\n'),
             environ={}).jobs['daily']
    assert j.compress_level == 19


@pytest.mark.parametrize('compress, level, expect', [
    ('gzip', 10, 'gzip levels are 1 to 9 (0 = the default, 6), not 10'),
    ('zstd', 20, 'zstd levels are 1 to 19 (0 = the default, 8), not 20'),
    ('zstd', -1, 'zstd levels are 1 to 19 (0 = the default, 8), not -1'),
    ('none', 3, 'compress = "none" has no level: remove compress_level, or set compress = '
                '"gzip" or "zstd"'),
])
def test_bad_level(tmp_path, compress, level, expect):
    """A level out of the compression's range, or a level without compression, is named."""
    path = write(tmp_path, GOOD.replace('"gzip"', '"%s"' % compress)
                 + 'compress_level = %d\n' % level)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert str(info.value) == '%s: jobs.daily.compress_level: %s' % (path, expect)


HIDE_ZSTD = '''
import sys, io
sys.modules['zstandard'] = None          # as on a box without python3-zstandard
from pycstbox.export import formats
try:
    formats.open_writer('csv', io.BytesIO(), 'zstd')
except ImportError as exc:
    print(exc)
'''


def test_missing_zstandard_says_to_install_it():
    """Without python3-zstandard, a zstd writer fails with a message naming the package."""
    out = subprocess.run([sys.executable, '-c', HIDE_ZSTD], capture_output=True, text=True,
                         check=True).stdout
    assert 'apt-get install python3-zstandard' in out
