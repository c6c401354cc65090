"""[eventstore] read and root (issue 15): checked at load, with their defaults."""

import pytest

from pycstbox.export.config import load
from pycstbox.export.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / 'export.toml'
    path.write_text('state_dir = "%s"\n[eventstore]\n%s' % (tmp_path / 'state', text))
    return str(path)


def test_defaults(tmp_path):
    """read defaults to "auto" and root to CSTBox's /var/db/cstbox/events."""
    store = load(write(tmp_path, ''), environ={}).eventstore
    assert (store.read, store.root) == ('auto', '/var/db/cstbox/events')


@pytest.mark.parametrize('read', ['auto', 'dbus', 'files'])
def test_read_modes(tmp_path, read):
    """Each of auto, dbus and files is accepted, with any absolute root."""
    store = load(write(tmp_path, 'read = "%s"\nroot = "/srv/events"\n' % read), environ={}).eventstore
    assert (store.read, store.root) == (read, '/srv/events')


@pytest.mark.parametrize('text, key, words', [
    ('read = "file"\n', 'eventstore.read', 'must be "auto"'),
    ('read = true\n', 'eventstore.read', 'must be a string'),
    ('root = "events"\n', 'eventstore.root', 'must be an absolute path'),
])
def test_bad_values(tmp_path, text, key, words):
    """A bad read or root is one line naming the file and the key."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert str(info.value).startswith('%s: %s: %s' % (path, key, words))
