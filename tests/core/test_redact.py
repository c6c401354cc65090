"""Secrets outside ``password``: URL credentials and secret-looking query values redacted."""

import logging

import pytest

from pycstbox.export.redact import RedactFilter, redact, secret_name


@pytest.mark.parametrize('text,expect', [
    ('check http://gw:UrlPassw0rd@dwh/x', 'check http://***@dwh/x'),
    ('https://TOKEN123@host:8443/a@b', 'https://***@host:8443/a@b'),
    ('http://gw:p@ss@host/', 'http://***@host/'),
    ('https://h/x?api_key=abc&v=1&Token=zz#f', 'https://h/x?api_key=***&v=1&Token=***#f'),
    ('"POST /up/a.csv?access_token=abc HTTP/1.1" 201 0', '"POST /up/a.csv?access_token=*** HTTP/1.1" 201 0'),
    ('/x?X-Amz-Signature=ab&X-Amz-Credential=AK%2F1&sig=', '/x?X-Amz-Signature=***&X-Amz-Credential=***&sig='),
    ('/x?password=pw;auth=a', '/x?password=***;auth=***'),
    ('nothing secret: key=v a@b mailto:x@y https://h/p?site=b12', None),
])
def test_redact(text, expect):
    """User info of URLs and values of key/token/secret/pass/sig/auth parameters become ***."""
    assert redact(text) == (text if expect is None else expect)


def test_secret_names():
    """Header and option names that hold secrets are recognised, others are not."""
    assert all(map(secret_name, ('Authorization', 'X-Api-Key', 'password_file', 'sig')))
    assert not any(map(secret_name, ('X-Gateway', 'url', 'site', 'Content-Type')))


def test_filter_redacts_message_arguments_and_traceback(tmp_path):
    """The log filter redacts the formatted message and the traceback text of a record."""
    path = tmp_path / 'log'
    handler = logging.FileHandler(path)
    handler.addFilter(RedactFilter())
    logger = logging.getLogger('tests.redact')
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning('GET %s failed', 'https://gw:S3cret@h/x?api_key=K3y')
        try:
            raise ValueError('bad url http://gw:S3cret@h/?token=T0k')
        except ValueError:
            logger.exception('failure %d', 1)
        logger.warning('%d%% plain', 100)
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert 'S3cret' not in text and 'K3y' not in text and 'T0k' not in text
    assert 'GET https://***@h/x?api_key=*** failed' in text
    assert 'ValueError: bad url http://***@h/?token=***' in text and '100% plain' in text
