"""cbx-export with [eventstore] read = "files" (issue 15): the same file as over D-Bus,
and check says which way events are read."""

import os
import subprocess
import sys
from datetime import date

from tests.peers.evtdb import _env, evtdb_bus, generate_days

DAY = date(2026, 10, 25)     # Europe/Paris: 25 hours


def cbx(tmp_path, cfg, *args):
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', str(cfg)] + list(args),
                          env=_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path)


def config(tmp_path, name, address, read, root):
    path = tmp_path / name
    path.write_text('site = "s"\nstate_dir = "%s"\ntimezone = "Europe/Paris"\n[eventstore]\n'
                    'address = "%s"\nread = "%s"\nroot = "%s"\n'
                    % (tmp_path / 'st', address, read, root))
    return path


def test_export_files_same_bytes_and_check(tmp_path):
    """export of a local DST day with read = "files" writes the bytes read = "dbus" writes;
    check names the way events are read."""
    root = tmp_path / 'db'
    generate_days(root, date(2026, 10, 24), days=3, sensors=9, interval=600)
    with evtdb_bus(tmp_path, root) as address:
        outputs = []
        for read in ('dbus', 'files'):
            cfg = config(tmp_path, read + '.toml', address, read, root)
            out = tmp_path / ('%s.jsonl.gz' % read)
            r = cbx(tmp_path, cfg, 'export', '--from', '2026-10-25', '--to', '2026-10-26',
                    '--format', 'jsonl', '-o', str(out))
            assert r.returncode == 0, r.stderr
            outputs.append(out.read_bytes())
        assert outputs[0] == outputs[1] and len(outputs[0]) > 1000
        r = cbx(tmp_path, config(tmp_path, 'auto.toml', address, 'auto', root), 'check')
        assert 'events read from the day files in %s/sensor' % root in r.stdout, r.stdout
        r = cbx(tmp_path, config(tmp_path, 'auto2.toml', address, 'auto', tmp_path / 'none'),
                'check')
        assert 'events read over D-Bus' in r.stdout, r.stdout
    assert not os.path.exists(tmp_path / 'none')
