"""`cbx-export --help`: fast, and the same text as argparse would print."""

import os
import subprocess
import sys

from pycstbox.export.cli import main as cli
from pycstbox.export.cli.helptext import MAIN_HELP


def test_static_help_is_argparse_help(monkeypatch):
    """The ready-made --help text is exactly what the parser formats (at 80 columns)."""
    monkeypatch.setenv('COLUMNS', '80')
    assert cli.build_parser().format_help() == MAIN_HELP


def test_help_imports_nothing_heavy():
    """--help imports neither argparse nor any network, D-Bus or config module."""
    code = ('import sys; from pycstbox.export.cli.main import main; sys.argv = ["cbx-export", "--help"];'
            'main(); heavy = [m for m in ("argparse", "dbus", "requests", "paramiko", "tomllib",'
            ' "pycstbox.export.config", "pycstbox.export.config.loader") if m in sys.modules]; sys.stderr.write(repr(heavy))')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       env=dict(os.environ), timeout=30)
    assert r.returncode == 0 and 'commands:' in r.stdout
    assert r.stderr == '[]'
