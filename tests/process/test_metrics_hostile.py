"""The metrics textfile in a folder another user can write (issue 19): nothing there is trusted."""

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from pycstbox.export.process import metrics

pytest.importorskip('prometheus_client')

DOC = {'site': 's', 'jobs': {}, 'outbox': {}, 'daemon': {}}

# a writer in a child process: a hang or a memory blow-up cannot take the test run down
CHILD = textwrap.dedent('''
    import logging, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (600 << 20, 600 << 20))
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s')
    from pycstbox.export.process import metrics
    tf = metrics.Textfile(sys.argv[1])
    doc = {'site': 's', 'jobs': {}, 'outbox': {}, 'daemon': {}}
    print([tf.update(doc) for _ in range(3)])
''')


def child(path):
    return subprocess.run([sys.executable, '-c', CHILD, str(path)], capture_output=True,
                          text=True, timeout=30)


def test_fifo_at_the_path_is_refused_without_hanging(tmp_path):
    """A FIFO at the textfile path is refused with one warning: the writer never hangs."""
    path = tmp_path / 'cstbox_export.prom'
    os.mkfifo(path)
    try:
        out = child(path)
    except subprocess.TimeoutExpired:
        pytest.fail('the metrics writer hung on a FIFO')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[False, False, False]'
    warnings = [line for line in out.stderr.splitlines() if line.startswith('WARNING')]
    assert len(warnings) == 1 and 'not a regular file' in warnings[0], out.stderr
    assert os.path.exists(path) and not os.path.isfile(path)
    assert os.listdir(tmp_path) == ['cstbox_export.prom']


def test_symlink_to_dev_zero_is_refused_without_reading_it(tmp_path):
    """A symlink to /dev/zero at the path is refused: nothing is read through it (memory)."""
    path = tmp_path / 'cstbox_export.prom'
    os.symlink('/dev/zero', path)
    out = child(path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[False, False, False]'
    warnings = [line for line in out.stderr.splitlines() if line.startswith('WARNING')]
    assert len(warnings) == 1 and 'symbolic link' in warnings[0], out.stderr
    assert os.readlink(path) == '/dev/zero'


def test_symlink_to_a_file_outside_is_never_written_or_chmodded(tmp_path, caplog):
    """A symlink at the path to a file outside: refused, its target keeps content and mode."""
    secret = tmp_path / 'shadow'
    secret.write_text('root:x:secret\n')
    os.chmod(secret, 0o600)
    folder = tmp_path / 'ne'
    folder.mkdir()
    path = folder / 'cstbox_export.prom'
    os.symlink(secret, path)
    tf = metrics.Textfile(str(path))
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.process.metrics'):
        assert [tf.update(DOC) for _ in range(3)] == [False] * 3
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert secret.read_text() == 'root:x:secret\n' and os.stat(secret).st_mode & 0o777 == 0o600
    assert os.path.islink(path) and os.listdir(folder) == ['cstbox_export.prom']
    os.unlink(path)                                    # the technician removes it: written again
    assert tf.update(DOC) is True and os.path.isfile(path) and not os.path.islink(path)


def test_symlink_swapped_in_after_the_rename_is_never_chmodded(tmp_path, monkeypatch):
    """A symlink put at the path right after the rename (a race won) is not followed: the mode
    is set on the descriptor before the rename, nothing is done by path afterwards."""
    secret = tmp_path / 'shadow'
    secret.write_text('root:x:secret\n')
    os.chmod(secret, 0o600)
    path = tmp_path / 'ne' / 'cstbox_export.prom'
    path.parent.mkdir()
    real_rename, real_replace = os.rename, os.replace

    def swap(do):
        def renamed(src, dst, *a, **k):
            do(src, dst, *a, **k)
            if os.fspath(dst) == str(path):          # the attacker wins the race
                os.unlink(dst)
                os.symlink(secret, dst)
        return renamed
    monkeypatch.setattr(os, 'rename', swap(real_rename))
    monkeypatch.setattr(os, 'replace', swap(real_replace))
    old = os.umask(0o077)
    try:
        metrics.Textfile(str(path)).update(DOC)
    finally:
        os.umask(old)
    assert os.stat(secret).st_mode & 0o777 == 0o600 and secret.read_text() == 'root:x:secret\n'


def test_written_file_is_0644_and_leaves_no_temporary_file(tmp_path):
    """The file is 0644 (set on the descriptor) and no temporary file stays; a stale one of a
    writer that is gone is swept."""
    path = tmp_path / 'cstbox_export.prom'
    stale = tmp_path / '.cstbox_export.prom.999999999.tmp'
    stale.write_text('half')
    old = os.umask(0o077)
    try:
        assert metrics.Textfile(str(path)).update(DOC) is True
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ['cstbox_export.prom']


def test_stale_temporary_file_swept_even_when_nothing_changed(tmp_path):
    """A temporary file left by a writer cut short goes at the first look, even when the
    file already holds the metrics (nothing to write)."""
    path = tmp_path / 'cstbox_export.prom'
    assert metrics.Textfile(str(path)).update(DOC) is True
    stale = tmp_path / '.cstbox_export.prom.999999999.tmp'
    stale.write_text('half')
    assert metrics.Textfile(str(path)).update(DOC) is False
    assert os.listdir(tmp_path) == ['cstbox_export.prom']
