"""Every configuration key the manual pages name is one the loader accepts."""

import glob
import os
import re

from pycstbox.export.config import schema

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
#: bold words with an underscore that are not configuration keys (metrics, D-Bus methods,
#: Prometheus' own words, the formats' columns)
NOT_KEYS = re.compile(r'^(cstbox_export_\w+|get_\w+|exported_job|honor_labels|var_type|var_name)$')


def known_keys():
    keys = set()
    tables = [v for v in vars(schema).values() if isinstance(v, dict)]
    tables += [t for v in vars(schema).values() if isinstance(v, dict)
               for t in v.values() if isinstance(t, dict)]
    for table in tables:
        for key, spec in table.items():
            if isinstance(key, str) and isinstance(spec, tuple) and len(spec) == 2:
                keys.add(key)
    return keys


def documented_keys(text):
    """Bold snake_case words, and bold words followed by 'in the configuration'."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^\.BR? +"?([a-z][a-z0-9_]*)\b', line)
        if not m:
            continue
        word = m.group(1)
        after = ' '.join(lines[i + 1:i + 3])
        if ('_' in word and not NOT_KEYS.match(word)) or re.match(r'\s*in the configuration', after):
            yield word


def test_every_key_named_by_a_manual_page_loads():
    """A key a man page documents (bold, snake_case or 'in the configuration') is in the schema."""
    keys = known_keys()
    assert {'runtime_dir', 'cbx_nonsense'} & keys == set()
    unknown = []
    for page in sorted(glob.glob(os.path.join(ROOT, 'man', '*.[0-9]'))):
        for word in documented_keys(open(page, encoding='utf-8').read()):
            if word not in keys:
                unknown.append('%s: %s' % (os.path.basename(page), word))
    assert not unknown, 'documented but refused by the loader: %s' % unknown


def test_the_rule_finds_an_unknown_key():
    """The scan itself finds a bold unknown key (the test can fail)."""
    page = '.B runtime_dir\nin the configuration or\n.B timezone\nin the configuration\n'
    assert list(documented_keys(page)) == ['runtime_dir', 'timezone']
