"""status shows odd outbox file names escaped: a dead-lettered name with a line break or
bytes that are not UTF-8 cannot forge a status line nor break the output (issue 10, defect 4)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_dead_lettered_odd_names_escaped(tmp_path):
    """Dead-lettered outbox files with odd names are listed escaped, one line each."""
    failed = tmp_path / 'state' / 'failed' / 'web'
    failed.mkdir(parents=True)
    for name in (b'a\nFORGED.csv', b'caf\xe9.csv'):
        with open(os.path.join(os.fsencode(str(failed)), name), 'wb') as f:
            f.write(b'x')
        with open(os.path.join(os.fsencode(str(failed)), name + b'.error'), 'wb') as f:
            f.write(b'2026-01-01T00:00:00Z\nrefused\n')
    cfg = tmp_path / 'export.toml'
    cfg.write_text('site = "s"\nstate_dir = "%s"\n[targets.web]\ntype = "dir"\npath = "%s"\n'
                   % (tmp_path / 'state', tmp_path / 'out'))
    env = dict(os.environ, PYTHONPATH=REPO, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'),
               PYTHONIOENCODING='utf-8:strict')
    out = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg), 'status'],
                         env=env, capture_output=True, timeout=30)
    text = out.stdout.decode('utf-8')
    assert out.returncode in (0, 1), out.stderr
    assert '    a\\x0aFORGED.csv' in text.splitlines()
    assert '    caf\\xe9.csv' in text.splitlines()
    assert not any(line.startswith('FORGED') for line in text.splitlines())
