"""The transport registry, lazy imports and the base class contract."""

import subprocess
import sys

import pytest

from pycstbox.export import transports
from pycstbox.export.errors import PermanentError
from tests.transports.conftest import ROOT
from tests.transports.harness import SECRET, Target, make


def test_names_are_the_config_types():
    """The registry holds exactly the config type names of DESIGN section 6."""
    assert transports.names() == ['dir', 'ftp', 'http', 's3', 'serial', 'sftp']


def test_get_unknown_type_is_key_error():
    """get() of an unknown type raises KeyError."""
    with pytest.raises(KeyError):
        transports.get('gopher')


@pytest.mark.parametrize('type_', ['dir', 'ftp', 'http', 'serial', 'sftp'])
def test_create_builds_the_registered_class(type_):
    """create() returns an instance of the class registered for target.type."""
    t = transports.create(Target('t', type_, {'password': SECRET}), site='s')
    assert isinstance(t, transports.get(type_)) and t.type == type_
    assert SECRET not in repr(t) and 't' in repr(t)
    t.close()


def _run(code):
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={'PYTHONPATH': ROOT})


def test_import_is_lazy():
    """Importing the package and every transport module imports no network library."""
    res = _run('import sys\n'
               'from pycstbox.export import transports\n'
               'for n in transports.names(): transports.get(n)\n'
               'print(sorted(m for m in ("requests", "paramiko", "serial", "xmodem")'
               ' if m in sys.modules))')
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == '[]'


def test_missing_library_is_permanent_naming_the_package():
    """A missing library disables only its transport, with the Debian package to install."""
    res = _run('import sys\n'
               'sys.modules["requests"] = None\n'
               'from types import SimpleNamespace as T\n'
               'from pycstbox.export import transports\n'
               'from pycstbox.export.errors import PermanentError\n'
               't = transports.create(T(name="w", type="http", options={"url": "http://x/"}))\n'
               'try:\n'
               '    t.check()\n'
               'except PermanentError as e:\n'
               '    print(e)\n')
    assert 'apt install python3-requests' in res.stdout, res.stderr


def test_base_class_contract_is_abstract():
    """The base class refuses send/check (subclasses implement them)."""
    t = transports.Transport(Target('t', 'x', {}))
    with pytest.raises(NotImplementedError):
        t.send('/etc/hostname', 'a')
    with pytest.raises(NotImplementedError):
        t.check()


def test_errors_are_scrubbed_of_secrets():
    """Messages built by the base class never contain the password."""
    t = make('ftp', password=SECRET)
    assert SECRET not in str(t.permanent('login %s refused' % SECRET))
    assert isinstance(t.permanent('x'), PermanentError)
