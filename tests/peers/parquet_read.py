"""Read Parquet files with a real engine and print their rows as JSON (run in the venv).

Usage (by :mod:`tests.peers.parquet`, with ``/opt/cstbox-test/duckdb/bin/python``)::

    python parquet_read.py duckdb|pyarrow FILE...

Prints one JSON document: ``[{"schema": [[column, type], ...], "rows": [[epoch ms,
var_type, var_name, value, text, unit], ...], "row_groups": N}, ...]``, one per file.
Floats keep NaN, infinities and -0.0 (Python's json); strings are escaped ASCII.
"""

import json
import sys

COLUMNS = ('timestamp', 'var_type', 'var_name', 'value', 'text', 'unit')


def read_duckdb(path):
    import duckdb
    con = duckdb.connect()
    rel = con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                      "read_parquet(?))", [path])
    schema = [list(r) for r in rel.fetchall()]
    rows = con.execute('SELECT epoch_ms("timestamp"), var_type, var_name, value, text, unit '
                       'FROM read_parquet(?)', [path]).fetchall()
    groups = con.execute('SELECT count(DISTINCT row_group_id) FROM parquet_metadata(?)',
                         [path]).fetchone()[0]
    return {'schema': schema, 'rows': [list(r) for r in rows], 'row_groups': groups}


def read_pyarrow(path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    f = pq.ParquetFile(path)
    table = f.read()
    schema = [[field.name, str(field.type) + ('' if field.nullable else ' not null')]
              for field in table.schema]
    cols = [table.column('timestamp').cast(pa.int64()).to_pylist()]
    cols += [table.column(name).to_pylist() for name in COLUMNS[1:]]
    meta = f.metadata
    chunks = [[meta.row_group(g).column(c) for c in range(meta.num_columns)]
              for g in range(meta.num_row_groups)]
    return {'schema': schema, 'rows': [list(r) for r in zip(*cols)],
            'row_groups': meta.num_row_groups, 'created_by': meta.created_by,
            'encodings': [[list(c.encodings) for c in g] for g in chunks],
            'stats': [[_stats(c.statistics) for c in g] for g in chunks]}


def _stats(s):
    """[min, max, null count] of a column chunk (min/max None when absent)."""
    if s is None:
        return None
    low = high = None
    if s.has_min_max:
        low, high = s.min, s.max
        if hasattr(low, 'timestamp'):
            low, high = low.isoformat(), high.isoformat()
    return [low, high, s.null_count]


def main(argv):
    read = {'duckdb': read_duckdb, 'pyarrow': read_pyarrow}[argv[1]]
    json.dump([read(path) for path in argv[2:]], sys.stdout)


if __name__ == '__main__':
    main(sys.argv)
