"""Real Parquet readers for tests: DuckDB and pyarrow from PyPI, in a venv outside the checkout.

Usage::

    why = readers_usable()                     # '' when the venv is there
    [doc] = read('duckdb', [path])             # or 'pyarrow'
    doc['schema'], doc['rows'], doc['row_groups']
    duckdb_python(script, env)                 # run a Python script with duckdb importable

The venv ``/opt/cstbox-test/duckdb`` (``$CBX_DUCKDB_VENV`` names another) is made by
``.ci/install-deps`` (``pip install duckdb duckdb-extension-httpfs pyarrow``); the readers
run in a subprocess (``tests/peers/parquet_read.py``), never in the test's own Python.
``extension_dir(tmp)`` installs the wheel's httpfs extension into a DuckDB extension
directory, offline, so that ``INSTALL httpfs`` finds it already there.
"""

import glob
import json
import os
import subprocess

VENV = os.environ.get('CBX_DUCKDB_VENV', '/opt/cstbox-test/duckdb')
PYTHON = os.path.join(VENV, 'bin', 'python')
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'parquet_read.py')


def readers_usable():
    """Why DuckDB/pyarrow cannot run here ('' when they can)."""
    if not os.access(PYTHON, os.X_OK):
        return ('DuckDB/pyarrow venv missing (%s): run .ci/install-deps (needs PyPI)' % VENV)
    return ''


def versions():
    """``{'duckdb': '1.5.5', 'pyarrow': '...'}`` of the venv."""
    out = subprocess.run([PYTHON, '-c', 'import duckdb, pyarrow, json; print(json.dumps('
                          '{"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}))'],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def read(engine, paths, timeout=300):
    """The documents of ``parquet_read.py`` for ``paths`` read by ``engine``."""
    proc = subprocess.run([PYTHON, SCRIPT, engine] + [os.fspath(p) for p in paths],
                          capture_output=True, timeout=timeout)
    if proc.returncode:
        raise AssertionError('%s could not read %s: %s'
                             % (engine, paths, proc.stderr.decode(errors='replace')[-2000:]))
    return json.loads(proc.stdout)


def run_python(code, env=None, timeout=300):
    """Run ``code`` with the venv's Python; returns the CompletedProcess (text)."""
    return subprocess.run([PYTHON, '-c', code], capture_output=True, text=True,
                          timeout=timeout, env=env)


def extension_dir(root):
    """A DuckDB extension directory under ``root`` holding the wheel's httpfs (offline)."""
    root = os.fspath(root)
    found = glob.glob(os.path.join(VENV, 'lib', 'python3*', 'site-packages',
                                   'duckdb_extension_httpfs', 'extensions', '*',
                                   'httpfs.duckdb_extension'))
    if not found:
        raise RuntimeError('duckdb-extension-httpfs missing in %s: run .ci/install-deps' % VENV)
    code = ('import duckdb, sys\n'
            'con = duckdb.connect(config={"extension_directory": sys.argv[1]})\n'
            'con.execute("INSTALL \'%s\'")\n' % found[0].replace("'", "''"))
    proc = subprocess.run([PYTHON, '-c', code, root], capture_output=True, text=True,
                          timeout=120)
    if proc.returncode:
        raise RuntimeError('cannot install httpfs from %s: %s' % (found[0], proc.stderr[-2000:]))
    return root
