"""Logging setup: CSTBox line format, -L over [log] level, file output."""

import logging
import re

from pycstbox.export.config import logsetup
from pycstbox.export.config import LogConfig


def test_file_handler_format_and_level(tmp_path):
    """[log] file gets CSTBox-format lines; -L overrides the configured level; ours only replaced."""
    path = tmp_path / 'export.log'
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        logsetup.configure(None, LogConfig(level='WARNING', file=str(path)))
        logging.getLogger('pycstbox.export.test').info('hidden')
        logging.getLogger('pycstbox.export.test').warning('shown %d', 42)
        logsetup.configure('DEBUG', LogConfig(level='WARNING', file=str(path)))
        logging.getLogger('pycstbox.export.test').debug('debug now')
        lines = path.read_text().splitlines()
        assert len(lines) == 2
        assert re.fullmatch(r'\d\d/\d\d \d\d:\d\d:\d\d \[W\] pycstbox.export.test > shown 42',
                            lines[0])
        assert lines[1].endswith('[D] pycstbox.export.test > debug now')
        assert [h for h in root.handlers if not getattr(h, 'cbx_export', False)] == before
    finally:
        for h in list(root.handlers):
            if getattr(h, 'cbx_export', False):
                root.removeHandler(h)
                h.close()
        root.setLevel(logging.WARNING)


def test_handler_redacts_url_secrets_whoever_logs_them(tmp_path):
    """The configured handler hides URL credentials and secret query values (urllib3 DEBUG too)."""
    path = tmp_path / 'export.log'
    root = logging.getLogger()
    try:
        logsetup.configure('DEBUG', LogConfig(file=str(path)))
        logging.getLogger('urllib3.connectionpool').debug(
            '%s://%s:%s "%s %s %s" %s %s', 'https', 'dwh', 443, 'POST',
            '/up?api_key=K3y&site=b12', 'HTTP/1.1', 201, 0)
        logging.getLogger('pycstbox.export.test').error('check http://gw:UrlPassw0rd@dwh/x')
        text = path.read_text()
        assert 'K3y' not in text and 'UrlPassw0rd' not in text
        assert '"POST /up?api_key=***&site=b12 HTTP/1.1" 201 0' in text
        assert 'check http://***@dwh/x' in text
    finally:
        for h in list(root.handlers):
            if getattr(h, 'cbx_export', False):
                root.removeHandler(h)
                h.close()
        root.setLevel(logging.WARNING)
