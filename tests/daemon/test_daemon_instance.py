"""cbx-exportd: one daemon per state directory, a pid file of its own, a read-only state
file system, private modes (issue 10, defects 12, 13, 14, 19)."""

import contextlib
import os
import subprocess
import sys

import pytest

from .conftest import REPO, wait_for, write_config


def _run(args, env, timeout=30):
    return subprocess.run([sys.executable, '-m'] + args, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_two_daemons_with_different_runtime_dirs_do_not_both_serve(outbox_setup,
                                                                    daemon_factory, tmp_path):
    """A second cbx-exportd on the same state_dir exits 3 even with another runtime dir."""
    cfg, _ = outbox_setup
    d = daemon_factory(cfg)
    env = dict(d.env, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run2'))
    out = _run(['pycstbox.export.daemon', '-c', cfg], env)
    assert out.returncode == 3, out.stderr
    assert 'another cbx-exportd already serves' in out.stderr
    assert 'pid %d' % d.pid in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert d.proc.poll() is None


def test_pid_file_written_by_the_daemon_and_removed(outbox_setup, tmp_path):
    """--pidfile names the daemon once it holds its locks; a loser never writes it."""
    cfg, _ = outbox_setup
    pidfile = str(tmp_path / 'cbx-exportd.pid')
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    proc = subprocess.Popen([sys.executable, '-m', 'pycstbox.export.daemon', '-c', cfg,
                             '--pidfile', pidfile], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(pidfile), 10, what='the pid file')
        with open(pidfile) as f:
            assert f.read() == '%d\n' % proc.pid
        loser = _run(['pycstbox.export.daemon', '-c', cfg, '--pidfile', pidfile],
                     dict(env, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run2')))
        assert loser.returncode == 3, loser.stderr
        with open(pidfile) as f:
            assert f.read() == '%d\n' % proc.pid
        proc.terminate()
        proc.wait(15)
        assert not os.path.exists(pidfile)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_state_dir_created_private(outbox_setup, daemon_factory, tmp_path):
    """A state_dir the daemon creates is 0700 (readable by its owner only)."""
    cfg, _ = outbox_setup
    daemon_factory(cfg)
    assert os.stat(tmp_path / 'state').st_mode & 0o777 == 0o700


@contextlib.contextmanager
def _read_only_fs(path):
    os.makedirs(path)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(['umount', '-l', str(path)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting a read-only tmpfs needs root')
def test_read_only_state_dir_one_line_exit_1(tmp_path, http_peer):
    """State on a read-only file system: run and the daemon say so in one line and exit 1;
    status says the state dir is read-only."""
    ro = tmp_path / 'ro'
    cfg = write_config(tmp_path / 'export.toml', ro / 'state', http_peer.url,
                       job='2026-01-01')
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    env.pop('CBX_EXPORT_CONFIG', None)
    with _read_only_fs(ro):
        os.makedirs(ro / 'state' / 'backlog')
        (ro / 'state' / 'lock').write_bytes(b'')
        subprocess.run(['mount', '-o', 'remount,ro', str(ro)], check=True)
        for args in (['pycstbox.export', '-c', cfg, 'run'], ['pycstbox.export.daemon', '-c', cfg]):
            out = _run(args, env)
            assert out.returncode == 1, (args, out.stdout, out.stderr)
            assert 'read-only file system' in out.stderr, out.stderr
            assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        out = _run(['pycstbox.export', '-c', cfg, 'status'], env)
        assert 'read-only' in out.stdout + out.stderr, out.stdout + out.stderr
