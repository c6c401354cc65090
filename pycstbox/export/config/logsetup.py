"""Logging of the commands: stderr (default), syslog, or a file.

``configure(level='INFO', logcfg=None, debug=False)``: ``level`` comes from
``-L`` (it overrides ``[log] level``), ``--debug`` means DEBUG.  Format is CSTBox's
``%(asctime)s [%(levelname).1s] %(name)s > %(message)s`` (date ``%d/%m %H:%M:%S``);
syslog lines carry ``cbx-export[pid]:`` instead of the time.  A file is opened
with ``WatchedFileHandler`` so logrotate can move it.  The handler redacts every
record (:class:`pycstbox.export.redact.RedactFilter`): URL credentials and secret
query values never reach a log, whoever logs them (urllib3 at DEBUG included).
"""

import logging
import sys

from pycstbox.export.redact import RedactFilter

FORMAT = '%(asctime)s [%(levelname).1s] %(name)s > %(message)s'
DATEFMT = '%d/%m %H:%M:%S'
LEVELS = ('DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL')


def level_value(name):
    """``'warn'`` -> ``logging.WARNING``; ValueError for an unknown name."""
    name = name.upper()
    if name not in LEVELS:
        raise ValueError('unknown log level %r (use one of: %s)' % (name, ', '.join(LEVELS)))
    return logging.WARNING if name == 'WARN' else getattr(logging, name)


def configure(level=None, logcfg=None, debug=False, ident='cbx-export'):
    """(Re)configure the root logger. :raises OSError: the log file cannot be opened"""
    if debug:
        level = 'DEBUG'
    elif level is None:
        level = logcfg.level if logcfg is not None else 'INFO'
    root = logging.getLogger()
    handler = None
    if logcfg is not None and logcfg.file:
        from logging.handlers import WatchedFileHandler
        handler = WatchedFileHandler(logcfg.file, encoding='utf-8')
        handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    elif logcfg is not None and logcfg.syslog:
        from logging.handlers import SysLogHandler
        handler = SysLogHandler('/dev/log', SysLogHandler.LOG_DAEMON)
        handler.setFormatter(logging.Formatter(
            '%s[%%(process)d]: [%%(levelname).1s] %%(name)s > %%(message)s' % ident))
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    for old in list(root.handlers):
        if getattr(old, 'cbx_export', False):      # only ours: leave others' handlers
            root.removeHandler(old)
            old.close()
    handler.cbx_export = True
    handler.addFilter(RedactFilter())
    root.addHandler(handler)
    root.setLevel(level_value(level))
    return root
