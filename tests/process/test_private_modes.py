"""State, spool, staging and dead letters are readable by their owner only (issue 10,
defect 14): directories the export creates are 0700, its files 0600, whatever the umask."""

import datetime
import os

import pytest

from pycstbox.export.process.artifact import Artifact
from pycstbox.export.process.deadletter import DeadLetters
from pycstbox.export.process.lock import RunLock

NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)


def mode(path):
    return oct(os.stat(path).st_mode & 0o777)


@pytest.fixture(autouse=True)
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_staged_file_and_staging_dir_private(tmp_path):
    """A staged file is 0600 in a 0700 staging directory (the runtime dir is world-readable)."""
    a = Artifact(str(tmp_path / 'run' / 'staging' / 'daily'), str(tmp_path / 'spool' / 'daily'),
                 'f.csv', limit=1 << 20)
    f = a.open()
    f.write(b'x')
    assert mode(a.fast) == oct(0o600)
    assert mode(tmp_path / 'run' / 'staging') == oct(0o700)
    assert mode(tmp_path / 'run' / 'staging' / 'daily') == oct(0o700)
    a.finish()
    assert mode(a.persist()) == oct(0o600)
    assert mode(tmp_path / 'spool') == oct(0o700) and mode(tmp_path / 'spool' / 'daily') == oct(0o700)


def test_spilled_file_private(tmp_path):
    """A file moved to the flash spool past the limit is 0600 in a 0700 spool."""
    a = Artifact(str(tmp_path / 'run'), str(tmp_path / 'spool' / 'daily'), 'f.csv', limit=1024)
    f = a.open()
    f.write(b'x' * 4096)
    a.finish()
    assert a.path == a.slow and mode(a.slow) == oct(0o600)
    assert mode(tmp_path / 'spool') == oct(0o700)


def test_dead_letters_private(tmp_path):
    """Dead letters (moved files and written entries) are 0600 with 0600 .error in 0700 dirs."""
    src = tmp_path / 'outbox.csv'
    src.write_bytes(b'data')
    os.chmod(src, 0o644)
    dead = DeadLetters(str(tmp_path / 'state'))
    moved = dead.add_file('web', str(src), 'outbox.csv', 'refused', NOW)
    written = dead.add_data('daily', '261127000000.json', b'{}', 'refused', NOW)
    for path in (moved, moved + '.error', written, written + '.error'):
        assert mode(path) == oct(0o600), path
    for d in ('failed', 'failed/web', 'failed/daily'):
        assert mode(tmp_path / 'state' / d) == oct(0o700), d


def test_state_dir_and_lock_private(tmp_path):
    """A state directory created by a run is 0700 (parents too); its lock file 0600."""
    with RunLock(str(tmp_path / 'var' / 'state')):
        pass
    assert mode(tmp_path / 'var') == oct(0o700)
    assert mode(tmp_path / 'var' / 'state') == oct(0o700)
    assert mode(tmp_path / 'var' / 'state' / 'lock') == oct(0o600)
