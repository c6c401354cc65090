"""The tree is the architecture: which stage may import what (HACKING.md, "Import rules")."""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'pycstbox')
EXPORT = os.path.join(ROOT, 'export')

SEED = {'errors', 'job', 'backlog', 'atomic', 'legacy', 'redact', '__init__'}
#: stage -> the stages of pycstbox.export it may import (besides itself)
ALLOWED = {
    'seed': {'seed'},
    'config': {'seed', 'formats'},
    'formats': {'seed'},
    'transports': {'seed'},
    'process': {'seed', 'config', 'formats', 'transports'},
    'daemon': {'seed', 'config', 'formats', 'transports', 'process'},
    'cli': {'seed', 'config', 'formats', 'transports', 'process'},
}
#: third-party modules -> the only places that may import them
GUARDED = {
    'dbus': ('evtdb/',),
    'gi': ('evtdb/service.py',),
    'pyinotify': ('export/daemon/outbox.py',),
    'requests': ('export/transports/',),
    'urllib3': ('export/transports/', 'export/config/logsetup.py'),
    'paramiko': ('export/transports/',),
    'serial': ('export/transports/serial.py',),
    'xmodem': ('export/transports/serial.py',),
    'prometheus_client': ('export/process/metrics.py', 'export/daemon/metrics.py'),
    'zstandard': ('export/formats/compression.py',),
}


def modules():
    for base, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for f in files:
            if f.endswith('.py'):
                yield os.path.join(base, f)


def stage_of(path):
    rel = os.path.relpath(path, EXPORT)
    if rel.startswith('..'):
        return None
    first = rel.split(os.sep)[0]
    if first == '__main__.py':          # python3 -m pycstbox.export = cbx-export
        return 'cli'
    return 'seed' if first[:-3] in SEED else first


def imports(path):
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = os.path.relpath(os.path.dirname(path), os.path.dirname(ROOT))
                parts = pkg.split(os.sep)[:len(pkg.split(os.sep)) - node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            yield base
            for a in node.names:
                yield '%s.%s' % (base, a.name)


def target_stage(name):
    parts = name.split('.')
    if parts[:2] != ['pycstbox', 'export'] or len(parts) < 3:
        return None
    return 'seed' if parts[2] in SEED else parts[2]


@pytest.mark.parametrize('path', sorted(modules()), ids=lambda p: os.path.relpath(p, ROOT))
def test_module_imports_follow_the_rules(path):
    """No module imports an upper stage, and third-party edges stay in their modules."""
    stage = stage_of(path)
    rel = os.path.relpath(path, ROOT)
    bad = []
    for name in imports(path):
        t = target_stage(name)
        if stage and t and t != stage and t not in ALLOWED[stage] and t in ALLOWED:
            bad.append('%s imports %s (stage %s may import %s)'
                       % (rel, name, stage, ', '.join(sorted(ALLOWED[stage]))))
        top = name.split('.')[0]
        if top in GUARDED and not rel.startswith(GUARDED[top]):
            bad.append('%s imports %s (only %s may)' % (rel, name, ', '.join(GUARDED[top])))
    assert not bad, '\n'.join(bad)


def test_every_package_says_what_it_holds_and_may_import():
    """Each package of the tree has a docstring naming what it holds and what it may import."""
    for base, dirs, files in os.walk(EXPORT):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        if '__init__.py' in files:
            doc = ast.get_docstring(ast.parse(open(os.path.join(base, '__init__.py')).read()))
            assert doc, base
            if base != EXPORT:
                assert 'import' in doc, '%s: docstring does not say what it may import' % base


def test_the_checker_sees_a_violation(tmp_path):
    """The rule check itself can fail: an upward import is found."""
    p = tmp_path / 'x.py'
    p.write_text('from pycstbox.export.cli.progress import Progress\nimport dbus\n')
    names = list(imports(str(p)))
    assert 'pycstbox.export.cli.progress' in names and 'dbus' in names
    assert target_stage('pycstbox.export.cli.progress') == 'cli'
