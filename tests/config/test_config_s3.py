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


FLEET = ('site = "s"\n[targets.lake]\ntype = "s3"\nendpoint = "%s"\nbucket = "%s"\n')


@pytest.mark.parametrize('endpoint,bucket,extra,key,problem', [
    ('https://s3.eu-west-3.amazonaws.com', 'my.fleet', 'addressing = "virtual"', 'addressing',
     "bucket 'my.fleet' holds dots: virtual-hosted addressing over https"),
    ('http://10.0.0.5:9000', 'fleet', 'addressing = "virtual"', 'addressing',
     'virtual-hosted addressing puts the bucket in the host name'),
    ('https://gw.example/s3', 'fleet', 'addressing = "virtual"', 'addressing',
     "virtual-hosted addressing needs an endpoint without a path (not '/s3')"),
    ('https://s3.example.org', 'fleet', 'addressing = "host"', 'addressing',
     'must be "virtual"'),
    ('https://s3.example.org', 'fleet', 'sse = "aes256"', 'sse', 'must be "AES256"'),
    ('https://s3.example.org', 'fleet', 'sse = "AES256"\nsse_kms_key_id = "k"',
     'sse_kms_key_id', 'goes with sse = "aws:kms" only'),
    ('https://s3.example.org', 'fleet', 'storage_class = "standard ia"', 'storage_class',
     'must be an S3 storage class'),
    ('https://s3.example.org', 'fleet', 'access_key_id = "AK"\nsecret_access_key = "s"\n'
     'profile = "p"', 'profile', 'set profile (AWS shared files) or access_key_id, not both'),
    ('https://s3.example.org', 'fleet', 'secret_access_key = "s"', 'access_key_id',
     'set access_key_id with the secret access key'),
    ('https://s3.example.org', 'fleet', 'profile = "a b"', 'profile', 'must be a profile'),
    ('https://s3.example.org', 'fleet', 'sse_algorithm = "AES256"', 'sse_algorithm', ''),
])
def test_fleet_keys_bad_values(tmp_path, endpoint, bucket, extra, key, problem):
    """addressing, sse, storage_class and credential keys: one line naming file and key;
    an unknown key is still refused."""
    path, msg = error_of(tmp_path, FLEET % (endpoint, bucket) + extra + '\n')
    assert msg.startswith('%s: targets.lake.%s: %s' % (path, key, problem)), msg


@pytest.mark.parametrize('endpoint,bucket,extra', [
    ('https://s3.eu-west-3.amazonaws.com', 'my.fleet', ''),                # default: path
    ('https://s3.eu-west-3.amazonaws.com', 'fleet', 'addressing = "virtual"'),
    ('http://minio.lan:9000', 'my.fleet', 'addressing = "virtual"'),       # http: no cert
    ('https://s3.example.org', 'fleet', 'profile = "lake"\nsse = "aws:kms"\n'
     'sse_kms_key_id = "arn:aws:kms:eu-west-3:1:key/x"\nstorage_class = "STANDARD_IA"'),
])
def test_fleet_keys_accepted(tmp_path, endpoint, bucket, extra):
    """Keys from the environment or the shared files (no access_key_id), virtual-hosted
    addressing where it works, SSE and storage class load."""
    o = load(write(tmp_path, FLEET % (endpoint, bucket) + extra + '\n'),
             environ={}).targets['lake'].options
    assert o['access_key_id'] == '' and o['secret_access_key'] == ''
