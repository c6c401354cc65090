"""[metrics] textfile: the default, off, and bad values (DESIGN section 13)."""

import os
import re

import pytest

from pycstbox.export.config import loader
from pycstbox.export.config.loader import load
from pycstbox.export.errors import ConfigError


def write(tmp_path, text, name='export.toml'):
    path = tmp_path / name
    path.write_text('site = "s"\nstate_dir = "/var/lib/x"\n' + text)
    return str(path)


def test_default_is_node_exporter_file_when_its_directory_exists(tmp_path, monkeypatch):
    """Unset, textfile is node_exporter's file when its directory exists, else off."""
    path = write(tmp_path, '')
    monkeypatch.setattr(loader, 'DEFAULT_TEXTFILE', str(tmp_path / 'ne' / 'cstbox_export.prom'))
    assert load(path, environ={}).metrics.textfile == ''
    (tmp_path / 'ne').mkdir()
    assert load(path, environ={}).metrics.textfile == str(tmp_path / 'ne' / 'cstbox_export.prom')


def test_environment_overrides_the_default_only(tmp_path, monkeypatch):
    """$CBX_EXPORT_METRICS_TEXTFILE replaces the default ("" = off) but not a configured path."""
    monkeypatch.setattr(loader, 'DEFAULT_TEXTFILE', str(tmp_path / 'cstbox_export.prom'))
    env = {'CBX_EXPORT_METRICS_TEXTFILE': ''}
    assert load(write(tmp_path, ''), environ=env).metrics.textfile == ''
    path = write(tmp_path, '[metrics]\ntextfile = "/srv/m/x.prom"\n')
    assert load(path, environ=env).metrics.textfile == '/srv/m/x.prom'


def test_empty_string_is_off(tmp_path):
    """textfile = "" turns metrics off even when node_exporter's directory exists."""
    assert load(write(tmp_path, '[metrics]\ntextfile = ""\n'), environ={}).metrics.textfile == ''


def test_drop_in_overrides_textfile(tmp_path):
    """A drop-in's [metrics] textfile overrides the main file's, like [log] keys."""
    main = write(tmp_path, '[metrics]\ntextfile = "/a/x.prom"\n')
    (tmp_path / 'export.d').mkdir()
    (tmp_path / 'export.d' / 'm.toml').write_text('[metrics]\ntextfile = "/b/y.prom"\n')
    assert load(main, environ={}).metrics.textfile == '/b/y.prom'


@pytest.mark.parametrize('text, problem', [
    ('textfile = "metrics.prom"', 'must be an absolute path ending in .prom'),
    ('textfile = "/var/lib/prometheus/node-exporter/cstbox.txt"', 'reads only *.prom files'),
    ('textfile = 3', 'must be a string'),
    ('text_file = "/a.prom"', "unknown key (did you mean 'textfile'?)"),
])
def test_bad_values_are_one_line_errors(tmp_path, text, problem):
    """A bad [metrics] value is one error line naming the file and the key."""
    path = write(tmp_path, '[metrics]\n%s\n' % text)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    msg = str(info.value)
    assert msg.startswith('%s: metrics.text' % path) and problem in msg and '\n' not in msg, msg


def test_sample_documents_metrics(tmp_path):
    """The sample's [metrics] example, uncommented, is the documented default path."""
    sample = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'export.toml')
    text = open(sample, encoding='utf-8').read()
    on = re.search(r'(?m)^\[metrics\]\n(?:##.*\n)*# (textfile = .*)\n', text)
    assert on, 'no [metrics] textfile example in etc/export.toml'
    cfg = load(write(tmp_path, '[metrics]\n%s\n' % on.group(1)), environ={})
    assert cfg.metrics.textfile == loader.DEFAULT_TEXTFILE
