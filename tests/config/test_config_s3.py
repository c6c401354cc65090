"""s3 target options: sizes, key template, secrets from files, one-line errors."""

import pytest

from pycstbox.export.config import load
from pycstbox.export.config.size import parse_size
from tests.config.test_config import error_of, write

BASE = ('site = "s"\n[targets.lake]\ntype = "s3"\nendpoint = "https://s3.example.org"\n'
        'bucket = "fleet"\naccess_key_id = "AKID"\n')
SECRET = 'secret_access_key = "sk-value"\n'


def test_defaults_and_sizes_in_bytes(tmp_path):
    """Defaults of section 11 are filled; sizes become bytes."""
    o = load(write(tmp_path, BASE + SECRET), environ={}).targets['lake'].options
    assert o['key'] == '{prefix}site={site}/job={job}/date={date}/{name}'
    assert (o['multipart_threshold'], o['part_size']) == (64 << 20, 8 << 20)
    assert o['overwrite'] is True and o['region'] == 'us-east-1'


@pytest.mark.parametrize('text,size', [('64MiB', 64 << 20), ('8 MiB', 8 << 20), ('5M', 5 << 20),
                                       ('10MB', 10 ** 7), ('1GiB', 1 << 30), (6291456, 6291456)])
def test_size_units(text, size):
    """Sizes take binary (KiB MiB GiB, k M G) and decimal (KB MB GB) units, or bytes."""
    assert parse_size(text) == size


@pytest.mark.parametrize('line,key,problem', [
    ('part_size = "4MiB"', 'part_size', "must be between 5MiB and 5GiB, not '4MiB'"),
    ('part_size = "6GiB"', 'part_size', "must be between 5MiB and 5GiB, not '6GiB'"),
    ('multipart_threshold = "lots"', 'multipart_threshold',
     'must be a size such as "64MiB", "8MiB" or "512KiB", not \'lots\''),
    ('multipart_threshold = true', 'multipart_threshold', 'must be a size such as "64MiB"'),
    ('key = "{site}/{date}.csv"', 'key', 'must contain {name} (one object per window)'),
    ('key = "{site}/{host}/{name}"', 'key', 'unknown placeholder {host}'),
    ('endpoint = "s3.example.org"', 'endpoint', 'must be an http:// or https:// URL'),
    ('bucket = "B"', 'bucket', 'must be 3 to 63 lower-case letters'),
])
def test_bad_values_one_line_error(tmp_path, line, key, problem):
    """Each bad value is one line naming the file and key (sizes range-checked)."""
    text = BASE.replace('endpoint = ', '#endpoint = ' if key == 'endpoint' else 'endpoint = ')
    text = text.replace('bucket = "fleet"', '' if key == 'bucket' else 'bucket = "fleet"')
    path, msg = error_of(tmp_path, text + SECRET + line + '\n')
    assert msg.startswith('%s: targets.lake.%s: %s' % (path, key, problem)), msg


def test_secret_required(tmp_path):
    """No secret key at all: the error says to set secret_access_key_file."""
    path, msg = error_of(tmp_path, BASE)
    assert msg.startswith('%s: targets.lake.secret_access_key_file: set' % path)


def test_secrets_from_files_hidden_in_repr(tmp_path):
    """secret_access_key_file and session_token_file are read beside the config;
    repr() of the target shows neither value."""
    (tmp_path / 'sk').write_text('the-secret\n')
    (tmp_path / 'tok').write_text('the-token\n')
    (tmp_path / 'sk').chmod(0o600)
    (tmp_path / 'tok').chmod(0o600)
    cfg = load(write(tmp_path, BASE + 'secret_access_key_file = "sk"\n'
                                      'session_token_file = "tok"\n'), environ={})
    t = cfg.targets['lake']
    assert (t.options['secret_access_key'], t.options['session_token']) == ('the-secret',
                                                                             'the-token')
    assert 'the-secret' not in repr(t) and 'the-token' not in repr(t)


def test_secret_and_file_not_both(tmp_path):
    """secret_access_key and secret_access_key_file together are refused."""
    (tmp_path / 'sk').write_text('x')
    path, msg = error_of(tmp_path, BASE + SECRET + 'secret_access_key_file = "sk"\n')
    assert msg == ('%s: targets.lake.secret_access_key_file: set secret_access_key or '
                   'secret_access_key_file, not both' % path)
