"""Benchmark of ``compress = "zstd"`` (default level) against gzip 6: size and CPU per 1M events.

    /usr/bin/python3 bench/compression.py [--root DIR] [--pairs 5] [--level N]

One realistic day (``cbx-evtdb generate --sensors 180 --interval 10``: ~1.03M events, kept
in DIR when given) is written once as csv and as jsonl, uncompressed, by the package's
own formats.  Then, for each format, interleaved pairs (bench/pairs.py) compress that
text as the job does (``formats.compression``: 64 KiB writes, streamed):
A = gzip level 6 (the gzip default), B = zstd at its default level (8).  Printed per
1M events: the compressed size, its ratio to gzip's, and the CPU seconds of the
compression alone (formatting costs the same on both sides and is left out).
Goal (issue 24): zstd size <= 0.9x gzip 6 on csv and jsonl.
"""

import argparse
import os
import statistics
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pairs  # noqa: E402

DAY = date(2026, 11, 27)
CHUNK = 64 * 1024


class _Count:
    """A write-only output that only counts bytes."""

    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)
        return len(data)

    def flush(self):
        pass


def _text(root, fmt, dest):
    """Write the day's events as ``fmt`` (uncompressed) to ``dest``; returns the event count."""
    from pycstbox.evtdb import dayread, fsys
    from pycstbox.export.process.extract import extract
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc)
    scan = dayread.DayScan(fsys.day_path(root, 'sensor', DAY), DAY)
    with open(dest, 'wb') as f:
        return extract(dayread.read_day(scan, start, start + timedelta(days=1)), fmt, f)


def _compress(path, compress, level, sink):
    from pycstbox.export.formats.compression import open_stream
    stream = open_stream(compress, sink, level)
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            stream.write(chunk)
    stream.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', help='keep the generated day here')
    p.add_argument('--pairs', type=int, default=5)
    p.add_argument('--level', type=int, default=0, help='zstd level (0: the default)')
    args = p.parse_args()
    from pycstbox.export.formats.compression import level_of
    with tempfile.TemporaryDirectory(prefix='cbx-bench-zstd-') as tmp:
        root = args.root or os.path.join(tmp, 'root')
        events = pairs.realistic_day(root, DAY)
        for fmt in ('csv', 'jsonl'):
            path = os.path.join(tmp, 'day.' + fmt)
            events = _text(root, fmt, path)
            sizes = {}

            def side(compress, level):
                def run():
                    sink = _Count()
                    sample = pairs.timed(lambda: _compress(path, compress, level, sink))
                    sizes[compress] = sink.size
                    return sample
                return run

            samples = pairs.interleave(side('gzip', 6), side('zstd', args.level), args.pairs)
            per_m = 1e6 / events
            pairs.report('%s: A = gzip 6, B = zstd %d (%s bytes uncompressed)'
                         % (fmt, level_of('zstd', args.level), format(os.path.getsize(path),
                                                                      ',')),
                         'gzip 6', 'zstd', samples, events, pairs.GENERATOR,
                         'zstd size <= 0.9x gzip 6')
            cpu_g = statistics.median(a.cpu for a, _ in samples) * per_m
            cpu_z = statistics.median(b.cpu for _, b in samples) * per_m
            print('   per 1M events: gzip 6 %s bytes, %.2f CPU s; zstd %s bytes (%.3fx), '
                  '%.2f CPU s (%.2fx)' % (format(round(sizes['gzip'] * per_m), ','), cpu_g,
                                         format(round(sizes['zstd'] * per_m), ','),
                                         sizes['zstd'] / sizes['gzip'], cpu_z, cpu_z / cpu_g))
            os.unlink(path)


if __name__ == '__main__':
    main()
