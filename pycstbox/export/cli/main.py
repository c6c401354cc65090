"""``cbx-export``: the command line of cstbox-export (DESIGN section 5).

Each command is a function ``f(args) -> exit code`` in :data:`COMMANDS`, keyed by
its name (``'backlog list'`` for sub-commands): adding one is writing the
function, a line in :data:`COMMAND_HELP` and its arguments in :data:`COMMAND_ARGS`.
Only the parser of the command given is built (keeps ``--help`` fast).  Exit codes: 0 done, 1 a job/the export failed,
2 usage or configuration error (one line, no traceback), 3 lock held.
Heavy modules (config, formats, D-Bus client) are imported inside the commands,
so ``cbx-export --help`` starts fast.
"""

import os
import sys

PROG = 'cbx-export'
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
LOG_LEVELS = ('DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL')
FORMATS = ('csv', 'tsv', 'excel-csv', 'jsonl', 'dwh-zip', 'parquet')   # = formats.names(), kept here: fast --help


COMMAND_HELP = {
    'run': 'enqueue every window that is due, then run the backlog, oldest first',
    'export': 'one-off extraction of a time window to a local file (no upload, no backlog)',
    'status': 'per job: watermark, backlog, last success and error; dead letters; daemon',
    'backlog': 'list, retry, drop, requeue pending jobs; import legacy CSTBox backlogs',
    'check': 'validate the config, reach the event store, log in to each target (no data sent)',
    'audit': 'prove, window by window, that the receiver holds what was delivered',
}


def _common(parser, suppress):
    """-c/-L/--debug, accepted before and after the command."""
    import argparse
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser.add_argument('-c', '--config', metavar='CONFIG', default=default(None),
                        help='configuration file (default: $CBX_EXPORT_CONFIG or '
                             '/etc/cstbox/export.toml; a relative name is also looked '
                             'for in /etc/cstbox)')
    parser.add_argument('-L', '--loglevel', metavar='LEVEL', default=default(None),
                        type=str.upper, choices=LOG_LEVELS,
                        help='log level: DEBUG, INFO, WARN, ERROR, CRITICAL (default: the '
                             "config's [log] level, INFO)")
    parser.add_argument('--debug', action='store_true', default=default(False),
                        help='same as -L DEBUG')


def _args_run(p):
    p.add_argument('jobs', nargs='*', metavar='JOB')
    p.add_argument('--dry-run', action='store_true', help='say what would be done, do nothing')


def _args_export(p):
    p.add_argument('--from', dest='start', required=True, metavar='T',
                   help='start (included): 2026-11-27, 2026-11-27T13:00, "2026-11-27 13:00:00", '
                        'optionally with Z or +01:00 (default zone: the config timezone)')
    p.add_argument('--to', dest='end', required=True, metavar='T', help='end (excluded)')
    p.add_argument('--format', choices=FORMATS, default='csv', help='default: csv')
    p.add_argument('--compress', choices=('none', 'gzip', 'zstd'), default=None,
                   help='default: gzip when the output name ends with .gz, zstd with .zst, '
                        'else none')
    p.add_argument('--var-type', dest='var_types', action='append', default=[], metavar='T',
                   help='only this event type (repeatable)')
    p.add_argument('--var-name', dest='var_names', action='append', default=[], metavar='N',
                   help='only this variable (repeatable)')
    p.add_argument('-o', '--output', metavar='FILE|-',
                   help='output file, "-" for stdout (default: '
                        '{site}_export_{from}_{to}.{ext} in the current directory)')


def _args_status(p):
    p.add_argument('--json', action='store_true')


def _args_backlog(p, common):
    bsub = p.add_subparsers(dest='backlog_command', metavar='ACTION', required=True)

    def badd(name, text):
        return bsub.add_parser(name, parents=[common], help=text, description=text)

    b = badd('list', 'list pending and dead-lettered jobs')
    b.add_argument('job', nargs='?', metavar='JOB')
    b.add_argument('--json', action='store_true')
    b = badd('retry', 'run pending jobs now')
    b.add_argument('job', nargs='?', metavar='JOB')
    b.add_argument('id', nargs='?', metavar='ID')
    b = badd('drop', 'discard a pending job')
    b.add_argument('job', metavar='JOB')
    b.add_argument('id', metavar='ID')
    b.add_argument('--yes', action='store_true', help='confirm')
    b = badd('requeue', 'move a dead-lettered job back to pending (--all: a whole job, or '
                        'a target: its outbox files and its jobs\' windows)')
    b.add_argument('job', metavar='JOB|TARGET')
    b.add_argument('id', nargs='?', metavar='ID')
    b.add_argument('--all', action='store_true',
                   help='every dead letter of JOB, or of TARGET (its outbox files and the '
                        'windows of the jobs that send to it)')
    b = badd('import-legacy', 'import CSTBox legacy .blog backlog files (restricted unpickler)')
    b.add_argument('dir', metavar='DIR')


def _args_check(p):
    p.add_argument('targets', nargs='*', metavar='TARGET')


def _args_audit(p):
    p.add_argument('jobs', nargs='*', metavar='JOB')
    p.add_argument('--since', metavar='DAY',
                   help='audit the windows from this day on (YYYY-MM-DD, config timezone; '
                        "default: the job's start)")
    p.add_argument('--deep', action='store_true',
                   help='also re-export each window from the event store and compare its '
                        'SHA-256 with what was delivered (finds late data: "stale")')
    p.add_argument('--repair', action='store_true',
                   help='queue missing, mismatch (and stale) windows again; the next run '
                        'sends them under the same names (exit 0 when all were queued)')
    p.add_argument('--force-overwrite', action='store_true',
                   help='with --repair, on an s3 target with overwrite = false: queue '
                        'mismatch and stale windows too, the next run replacing the stored '
                        'object once (else they are reported and left alone)')
    p.add_argument('--json', action='store_true', help='machine-readable report')
    p.add_argument('-v', '--verbose', action='store_true', help='list the ok windows too')


COMMAND_ARGS = {'run': _args_run, 'export': _args_export, 'status': _args_status,
                'backlog': _args_backlog, 'check': _args_check, 'audit': _args_audit}


def build_parser():
    """The top-level parser: options, and the command with its arguments left unparsed.

    Only the parser of the command given is built (:func:`command_parser`): building
    every sub-parser would cost more than the rest of ``cbx-export --help``.
    """
    import argparse
    width = max(len(n) for n in COMMAND_HELP) + 2
    epilog = 'commands:\n' + '\n'.join('  %-*s%s' % (width, n, h) for n, h in COMMAND_HELP.items())
    epilog += '\n\n"%s COMMAND --help" tells more about one command.' % PROG
    parser = argparse.ArgumentParser(
        prog=PROG, description='Export CSTBox events: windows, formats, uploads, backlog.',
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser, suppress=False)
    parser.add_argument('--version', action='store_true', help='show the version and exit')
    parser.add_argument('command', nargs='?', metavar='COMMAND', choices=list(COMMAND_HELP),
                        help='one of the commands below')
    parser.add_argument('rest', nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def command_parser(name):
    """The parser of one command (its own -c/-L/--debug override the top-level ones)."""
    import argparse
    common = argparse.ArgumentParser(add_help=False)
    _common(common, suppress=True)
    parser = argparse.ArgumentParser(prog='%s %s' % (PROG, name), parents=[common],
                                     description=COMMAND_HELP[name])
    if name == 'backlog':
        _args_backlog(parser, common)
    else:
        COMMAND_ARGS[name](parser)
    return parser


def parse_args(argv=None):
    """Parse the whole command line -> argparse Namespace (exit 2 on a usage error)."""
    args = build_parser().parse_args(argv)
    if args.command:
        command_parser(args.command).parse_args(args.rest, namespace=args)
    del args.rest
    return args


def load_config(args):
    """Load the configuration named by ``args`` and set up logging from it.

    :raises ConfigError:
    """
    from pycstbox.export import config
    from pycstbox.export.config import logsetup
    cfg = config.load(args.config)
    if cfg.log.file or cfg.log.syslog or not args.loglevel:
        try:
            logsetup.configure(args.loglevel, cfg.log, args.debug)
        except OSError as exc:
            from pycstbox.export.errors import ConfigError
            raise ConfigError('cannot open the log file: %s' % exc.strerror,
                              cfg.files[-1] if cfg.files else None, 'log.file') from exc
    return cfg


def cmd_export(args):
    from pycstbox.export.cli.exportcmd import export
    return export(args, load_config(args))


def cmd_audit(args):
    from pycstbox.export.cli.auditcmd import cmd_audit as audit
    return audit(args, load_config(args))


def _with_config(name):
    """A command of :mod:`.commands` (``f(args, config)``), called with the loaded config."""
    def command(args):
        from pycstbox.export.cli import commands
        return getattr(commands, name)(args, load_config(args))
    command.__name__ = name
    return command


COMMANDS = {
    'run': _with_config('cmd_run'),
    'export': cmd_export,
    'status': _with_config('cmd_status'),
    'backlog list': _with_config('cmd_backlog_list'),
    'backlog retry': _with_config('cmd_backlog_retry'),
    'backlog drop': _with_config('cmd_backlog_drop'),
    'backlog requeue': _with_config('cmd_backlog_requeue'),
    'backlog import-legacy': _with_config('cmd_backlog_import_legacy'),
    'check': _with_config('cmd_check'),
    'audit': cmd_audit,
}


def version():
    """The installed package version."""
    try:
        from importlib.metadata import version as dist_version
        return dist_version('cstbox-export')
    except Exception:    # noqa: BLE001 - running from a source checkout
        return '1.0.0 (source)'


def main(argv=None):
    """Entry point of ``cbx-export``; returns the exit code."""
    if (sys.argv[1:] if argv is None else list(argv)) in (['--help'], ['-h']):
        from pycstbox.export.cli.helptext import MAIN_HELP          # the same text, without argparse: fast
        sys.stdout.write(MAIN_HELP)
        return EXIT_OK
    args = parse_args(argv)
    if args.version:
        print('%s %s' % (PROG, version()))
        return EXIT_OK
    if not args.command:
        build_parser().print_usage(sys.stderr)
        print('%s: error: a command is required' % PROG, file=sys.stderr)
        return EXIT_USAGE
    from pycstbox.export.config import logsetup
    from pycstbox.export.errors import ConfigError, ExportError, LockError
    logsetup.configure(args.loglevel, None, args.debug)
    key = args.command + (' ' + args.backlog_command if args.command == 'backlog' else '')
    try:
        return COMMANDS[key](args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except LockError as exc:
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return EXIT_LOCKED
    except ExportError as exc:
        import logging
        logging.getLogger(__name__).debug('failure', exc_info=True)
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print('%s: interrupted' % PROG, file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (e.g. "| head"): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


