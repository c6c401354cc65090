"""``cbx-export export``: one window of events to a local file (no upload, no backlog).

The file is written under a temporary name beside the output (``.NAME.PID.tmp``),
fsynced, then renamed: an interrupted export never leaves a file that looks
complete.  ``-o -`` writes to stdout.  Without ``-o`` the file is
``{site}_export_{from}_{to}.{ext}`` (UTC, as upload names) in the current directory.
An empty window still gives a file (the header only, for the formats that have
one) and exit 0, and says so on stderr.  An unreachable store: exit 1, no file.
"""

import logging
import os
import sys

from pycstbox.export.atomic import TMP_PREFIX, TMP_SUFFIX
from pycstbox.export.errors import ConfigError, ExportError

log = logging.getLogger(__name__)


def _times(args, cfg):
    from pycstbox.export.config.duration import parse_instant
    out = []
    for opt, text in (('--from', args.start), ('--to', args.end)):
        try:
            out.append(parse_instant(text, cfg.tz))
        except ValueError as exc:
            raise ConfigError(str(exc), None, opt) from exc
    if out[1] <= out[0]:
        raise ConfigError('must be after --from (%s UTC is not after %s UTC)'
                          % (out[1].strftime('%Y-%m-%d %H:%M:%S'),
                             out[0].strftime('%Y-%m-%d %H:%M:%S')), None, '--to')
    return out


def export(args, cfg):
    """Run the command; returns the exit code. :raises ConfigError, EventStoreError:"""
    from pycstbox.export import formats
    start, end = _times(args, cfg)
    output = args.output
    compress = args.compress or ('gzip' if output and output.endswith('.gz') else
                                 'zstd' if output and output.endswith('.zst') else 'none')
    if compress != 'none' and not formats.get(args.format).compressible:
        raise ConfigError('format %s is already %s: do not compress it'
                          % (args.format, formats.get(args.format).compressed_as),
                          None, '--compress')
    if compress == 'zstd':
        from pycstbox.export.formats.compression import zstd_missing
        if zstd_missing():
            raise ConfigError(zstd_missing(), None, '--compress')
    if not output:
        output = '%s_export_%s_%s.%s' % (cfg.site, start.strftime('%Y%m%dT%H%M%SZ'),
                                         end.strftime('%Y%m%dT%H%M%SZ'),
                                         formats.extension(args.format, compress))
    from pycstbox.export.cli.progress import Progress
    from pycstbox.evtdb.source import DEFAULT_ROOT, open_source
    store = cfg.eventstore
    log.debug('export %s - %s UTC, format %s, compress %s, to %s',
              start, end, args.format, compress, output)
    # (as process.default_source_factory, without importing the whole process stage:
    # its backlog, hashlib and shutil cost a one-shot export CPU and memory)
    client = open_source(store.address, store.channel, store.timeout,
                         getattr(store, 'read', 'auto'), getattr(store, 'root', DEFAULT_ROOT))
    try:
        if store.flush:
            client.flush()
        events = client.events(start, end, args.var_types, args.var_names)
        progress = Progress(start, end)
        try:
            if output == '-':
                count = _to_stdout(events, args.format, compress, progress)
            else:
                count = _to_file(events, args.format, compress, output, progress)
        finally:
            progress.finish()
        skipped = client.stats.get('skipped', 0)
    finally:
        client.close()
    window = '%s - %s UTC' % (start.strftime('%Y-%m-%d %H:%M:%S'),
                              end.strftime('%Y-%m-%d %H:%M:%S'))
    where = 'stdout' if output == '-' else output
    if count == 0:
        print('no events in %s%s: %s holds no event' % (window, _filters(args), where),
              file=sys.stderr)
    else:
        print('%s events of %s%s written to %s' % (format(count, ','), window,
                                                    _filters(args), where), file=sys.stderr)
    if skipped:
        print('warning: %d malformed event(s) of the store were skipped' % skipped,
              file=sys.stderr)
    return 0


def _filters(args):
    parts = ['var_type %s' % '|'.join(args.var_types)] if args.var_types else []
    parts += ['var_name %s' % '|'.join(args.var_names)] if args.var_names else []
    return ' (%s)' % ', '.join(parts) if parts else ''


def _to_stdout(events, fmt, compress, progress):
    from pycstbox.export.process.extract import extract
    out = sys.stdout.buffer
    sys.stdout.flush()
    count = extract(events, fmt, out, compress, None, progress)
    out.flush()
    return count


def _to_file(events, fmt, compress, output, progress):
    from pycstbox.export.process.extract import extract
    directory, base = os.path.split(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise ConfigError('directory %s does not exist' % directory, None, '--output')
    tmp = os.path.join(directory, '%s%s.%d%s' % (TMP_PREFIX, base, os.getpid(), TMP_SUFFIX))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ConfigError('cannot write in %s: %s' % (directory, exc.strerror),
                          None, '--output') from exc
    try:
        with os.fdopen(fd, 'wb', buffering=1024 * 1024) as f:
            count = extract(events, fmt, f, compress, directory, progress)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, output)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ExportError('cannot write %s: %s (nothing was written)'
                              % (output, exc.strerror or exc)) from exc
        raise
    return count
