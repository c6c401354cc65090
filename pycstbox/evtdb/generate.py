"""Realistic, deterministic sample day files for ``cbx-evtdb generate``.

Each sensor has a kind (energy counter that only increases, power, temperature
with a daily cycle, humidity, motion and opened booleans, notifications without
value), a unit, and a fixed phase in milliseconds inside the sampling interval,
so lines come out sorted and timestamps carry milliseconds.  Some variable names
hold spaces, accents, commas and quotes.  The same arguments always give the
same files (values depend only on the sensor, the day and the time).
"""

import json
import math
import random
from datetime import datetime, timedelta

from pycstbox.evtdb import fsys

KINDS = (
    ('energy', 'kWh', ('energy_main_{n}', 'compteur "général" {n}')),
    ('power', 'W', ('power, phase {n}', 'power_hvac_{n}')),
    ('temperature', 'degC', ('temp séjour {n}', 'temp_office_{n}')),
    ('humidity', '%RH', ("hum d'été {n}", 'humidity_{n}')),
    ('motion', '', ('motion hall {n}', 'motion_{n}')),
    ('opened', '', ('door, back {n}', 'window_{n}')),
    ('notification', '', ('alarm_{n}', 'alerte « porte » {n}')),
)
EPOCH = datetime(2000, 1, 1)


class Sensor:
    """One simulated variable."""

    def __init__(self, index, interval):
        kind, unit, names = KINDS[index % len(KINDS)]
        n = index // len(KINDS)
        self.var_type, self.unit = kind, unit
        self.var_name = names[n % len(names)].format(n=n + 1)
        rng = random.Random('sensor:%d' % index)
        self.phase_ms = rng.randrange(max(1, int(interval * 1000)))
        self.scale = rng.uniform(0.5, 2.0)
        self.data = json.dumps({'unit': unit} if unit else {}, ensure_ascii=False)
        self.state = False

    def value(self, ts, rng):
        """The value at ``ts`` (None: no event this time)."""
        hours = (ts - EPOCH).total_seconds() / 3600.0
        cycle = math.sin(2 * math.pi * (hours % 24 - 9) / 24)
        kind = self.var_type
        if kind == 'energy':
            # derivative = scale * (1 + 0.8 * (1 - cos)) > 0: never decreases
            kwh = self.scale * (hours + 0.8 * (hours - 24 / (2 * math.pi)
                                               * math.sin(2 * math.pi * hours / 24)))
            return '%.3f' % kwh
        if kind == 'power':
            return '%.1f' % (self.scale * 1000 * (1.2 + cycle) + rng.uniform(0, 50))
        if kind == 'temperature':
            return '%.2f' % (20 + 3 * cycle + rng.gauss(0, 0.2))
        if kind == 'humidity':
            return '%.1f' % (50 - 10 * cycle + rng.gauss(0, 1))
        if kind in ('motion', 'opened'):
            if rng.random() < 0.3:
                self.state = not self.state
                return str(self.state)
            return None
        if rng.random() < 0.02:
            return 'None'
        return None


def generate(root, first_day, days, sensors=12, interval=60.0, channel='sensor'):
    """Write ``days`` day files from ``first_day`` (replacing existing ones).

    :returns: the number of events written
    """
    interval = float(interval)
    if interval <= 0 or sensors < 1 or days < 1:
        raise ValueError('interval, sensors and days must be positive')
    bank = sorted((Sensor(i, interval) for i in range(sensors)), key=lambda s: s.phase_ms)
    count = 0
    for d in range(days):
        day = first_day + timedelta(days=d)
        rng = random.Random('day:%s' % day.isoformat())
        start = datetime(day.year, day.month, day.day)
        path = fsys.day_path(root, channel, day)
        ticks = int(math.ceil(86400 / interval))
        with open(_prepared(path), 'w', encoding='utf-8', newline='\n') as f:
            for k in range(ticks):
                base = start + timedelta(seconds=k * interval)
                for s in bank:
                    ts = base + timedelta(milliseconds=s.phase_ms)
                    if ts.date() != day:
                        continue
                    value = s.value(ts, rng)
                    if value is None:
                        continue
                    data = s.data if s.var_type != 'notification' else json.dumps(
                        {'message': 'check "%s", please' % s.var_name}, ensure_ascii=False)
                    f.write(fsys.format_line(ts, s.var_type, s.var_name, value, data))
                    count += 1
    return count


def _prepared(path):
    import os
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path
