"""The csv writer's fast row (issue 15) writes exactly what csv.writer writes for the row."""

import io
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from pycstbox.evtdb.event import Event
from pycstbox.export.formats.base import CsvFormat
from pycstbox.export.formats.csv import Csv

ALPHABET = ['a', ',', '"', '\r', '\n', ' ', '\0', '\xe9', '\t', ';', "'", '\x0b', '\u2028', '']


class Reference(Csv):
    write = CsvFormat.write       # csv.writer on every row (Csv._row)


def odd_text(rng):
    return ''.join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4)))


def test_same_bytes_as_csv_writer():
    """20,000 events with quotes, commas, CR/LF, NUL in every field and every value type:
    the same bytes as csv.writer (with and without the per-variable cache filling up)."""
    rng = random.Random(15)
    ts = datetime(2026, 3, 29, tzinfo=timezone.utc)
    paris = ZoneInfo('Europe/Paris')
    events = []
    for i in range(20000):
        ts += timedelta(microseconds=rng.randint(0, 900000))
        value = rng.choice([None, True, False, 1, -5, 1.5, float('nan'), float('inf'), -0.0,
                            1e-300, 10 ** 30, 'x,y', odd_text(rng), '9' * 5000])
        stamp = ts.astimezone(paris) if i % 7 == 0 else ts
        events.append(Event(stamp, odd_text(rng), odd_text(rng) + str(i % 5000), value,
                            odd_text(rng), {}))
    outputs = []
    for cls in (Csv, Reference):
        out = io.BytesIO()
        writer = cls(out)
        for event in events:
            writer.write(event)
        assert writer.close() == len(events)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
