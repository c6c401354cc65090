"""Helpers shared by the transport tests (imported as ``tests.transports.harness``)."""

import contextlib
import dataclasses
import os
import subprocess

import pytest

from pycstbox.export import transports

SECRET = 'Sup3r-S3cret-%s' % os.urandom(4).hex()
USER_PASSWORD = 'gw-password-%s' % os.urandom(4).hex()


@dataclasses.dataclass(frozen=True)
class Target:
    """Same attributes as config.TargetConfig (name, type, options)."""
    name: str
    type: str
    options: dict


def make(type_, name='t1', site='lyon-b12', **options):
    """A transport of ``type_`` for a target named ``name`` with ``options``."""
    return transports.create(Target(name, type_, options), site=site)


def is_root():
    return os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(path, size='64k', readonly=False):
    """Mount a tiny tmpfs on ``path`` (root only), unmounted on exit."""
    os.makedirs(path, exist_ok=True)
    opts = 'size=%s%s' % (size, ',ro' if readonly else '')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', opts, 'cbx-test', path], check=True,
                   timeout=10)
    try:
        yield path
    finally:
        subprocess.run(['umount', '-l', path], check=False, timeout=10)


def need_root_mount():
    if not is_root():
        pytest.skip('mounting a tmpfs needs root')


def write(path, data):
    """Write ``data`` to ``path``; return the path as a string."""
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)
