"""Secrets outside ``password``: credentials in URLs and secret-looking query parameters.

``redact(text)`` returns ``text`` with

- the user info of every URL (``https://gw:pw@host/`` -> ``https://***@host/``), and
- the value of every query (or form) parameter whose name contains ``key``, ``token``,
  ``secret``, ``pass``, ``sig``, ``auth`` or ``credential`` (``?api_key=abc&x=1`` ->
  ``?api_key=***&x=1``), whether in a whole URL or in a bare request line such as
  urllib3's ``"POST /up?token=abc HTTP/1.1"``,

replaced by ``***``.  ``secret_name(name)`` says whether a key, parameter or header
name looks like it holds a secret (``Authorization``, ``X-Api-Key``...).

Used by every message that may hold a URL (transports, ``check``), by the logging
filter that :mod:`pycstbox.export.config.logsetup` installs on the handlers it creates
(so a DEBUG line of urllib3 cannot show a token), and by ``repr()`` of target options.
Standard library only (a seed module): importable from every stage.
"""

import logging
import re

MASK = '***'
_SECRET_WORDS = ('key', 'token', 'secret', 'pass', 'sig', 'auth', 'credential')
_SECRET_NAME = re.compile('|'.join(_SECRET_WORDS), re.IGNORECASE)
# scheme://userinfo@ : the user info ends at the last "@" before the path
_USERINFO = re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s"\'<>]*)@')
# ?name=value or &name=value (or ;name=value) whose name looks secret
_PARAM = re.compile(r'([?&;])([^=&?;#\s"\'<>]*(?:%s)[^=&?;#\s"\'<>]*)=([^&;#\s"\'<>]*)'
                    % '|'.join(_SECRET_WORDS), re.IGNORECASE)


def secret_name(name):
    """True when ``name`` (an option, parameter or header name) looks like a secret's."""
    return bool(_SECRET_NAME.search(str(name)))


def redact(text):
    """``text`` with URL credentials and secret-looking query values replaced by ``***``."""
    text = str(text)
    if '@' in text:
        text = _USERINFO.sub(lambda m: m.group(1) + (MASK + '@' if m.group(2) else '@'), text)
    if '=' in text:
        text = _PARAM.sub(lambda m: '%s%s=%s' % (m.group(1), m.group(2),
                                                 MASK if m.group(3) else ''), text)
    return text


class RedactFilter(logging.Filter):
    """A handler filter that redacts the message, its arguments and its traceback.

    The record is rewritten in place (message formatted once, ``args`` cleared,
    traceback text redacted): every handler after this one sees the redacted text.
    """

    _formatter = logging.Formatter()

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a bad format string: let logging report it
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
