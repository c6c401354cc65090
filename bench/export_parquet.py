"""Benchmark of ``cbx-export export --format parquet`` against csv.gz, on a realistic day.

    /usr/bin/python3 bench/export_parquet.py [--root DIR] [--pairs 5]

One realistic day (``cbx-evtdb generate --sensors 180 --interval 10``: ~1.03M events, kept
in DIR when given), read from the day files (``read = "files"``; cbx-evtdb on a private bus
answers the flush).  Interleaved pairs (bench/pairs.py): A = ``export --format csv
--compress gzip``, B = ``export --format parquet``; both read the same events, so the CPU
difference is the writer's.  Printed: wall, CPU and peak RSS of each side, the per-pair
ratios, the file sizes, and CPU seconds and bytes per 1M events.  Goal (issue 22): a
1M-event day in parquet fits a 256 MB box (peak RSS well below), the file no larger than
csv.gz, CPU within 2x of csv.gz.  When the DuckDB venv of ``.ci/install-deps`` is there,
DuckDB counts the parquet file's rows and its numeric values.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pairs  # noqa: E402
from bench.export_csv import config  # noqa: E402

DAY = date(2026, 11, 27)


def export_cmd(cfg, out, fmt, compress):
    return [pairs.PY, '-m', 'pycstbox.export', '-c', cfg, 'export', '--from',
            '2026-11-27T00:00Z', '--to', '2026-11-28T00:00Z', '--format', fmt,
            '--compress', compress, '-o', out]


def duckdb_count(path):
    from tests.peers import parquet as peer
    if peer.readers_usable():
        return peer.readers_usable()
    proc = peer.run_python('import duckdb, sys; print(duckdb.sql("SELECT count(*), count(value), '
                           'count(text) FROM read_parquet(\'%s\')").fetchall())' % path)
    return (proc.stdout or proc.stderr).strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', help='keep the generated day files here')
    parser.add_argument('--pairs', type=int, default=5)
    args = parser.parse_args()
    from tests.peers.evtdb import bus_pid, evtdb_service, private_bus
    with tempfile.TemporaryDirectory(prefix='cbx-bench-') as tmp:
        root = args.root or os.path.join(tmp, 'root')
        events = pairs.realistic_day(root, DAY)
        with private_bus(tmp) as address, \
                evtdb_service(address, root, max_events=200000) as service:
            watch = (service.pid, bus_pid(address))
            cfg = config(tmp, 'files.toml', address, 'files', root)
            out_a, out_b = os.path.join(tmp, 'day.csv.gz'), os.path.join(tmp, 'day.parquet')
            samples = pairs.interleave(
                lambda: pairs.run(export_cmd(cfg, out_a, 'csv', 'gzip'), watch),
                lambda: pairs.run(export_cmd(cfg, out_b, 'parquet', 'none'), watch), args.pairs)
            pairs.report('export a day from the day files: A = csv.gz, B = parquet',
                         'A csv.gz', 'B parquet', samples, events, pairs.GENERATOR,
                         'peak RSS of B well below 256 MB, size B <= A, CPU B/A <= 2')
            size_a, size_b = os.path.getsize(out_a), os.path.getsize(out_b)
            per = 1e6 / events
            for name, side, size in (('csv.gz', 0, size_a), ('parquet', 1, size_b)):
                cpu = statistics.median(pair[side].cpu for pair in samples)
                print('   %-8s %s bytes (%.2f bytes/event), per 1M events: %.1f MB, CPU %.2f s'
                      % (name, format(size, ','), size / events, size * per / 1e6, cpu * per))
            print('   size parquet/csv.gz: %.3f' % (size_b / size_a))
            print('   DuckDB on the parquet file: %s' % duckdb_count(out_b))
            subprocess.run(['ls', '-l', out_a, out_b])
    return 0


if __name__ == '__main__':
    sys.exit(main())
