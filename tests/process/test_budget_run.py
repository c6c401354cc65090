"""A target's byte budget over days of runs, against a real HTTP receiver counting bytes."""

import collections
import datetime
import json
import os
import shutil
from zoneinfo import ZoneInfo


from pycstbox.evtdb.network import Metered
from pycstbox.export.process.budget import Budget
from pycstbox.export.process.process import ExportProcess

from tests.peers.http import HttpPeer

from .helpers import GridSource, T, grid_events, write_config

PARIS = ZoneInfo('Europe/Paris')
HOUR = datetime.timedelta(hours=1)
CONFIG = '''
timezone = "Europe/Paris"
[targets.wh]
type = "http"
url = "%(url)s/upload/{site}/{job}/{name}"
budget = "%(budget)s"
budget_when = "%(when)s"

[jobs.hourly]
target = "wh"
period = "1h"
delay = "5m"
format = "csv"
start = %(start)s
max_age = "%(max_age)s"
'''


def make(tmp_path, peer, budget='64KiB/day', start='2026-10-20', when='always',
          max_age='90d', metered=Metered(1, 'yes')):
    cfg = write_config(tmp_path, CONFIG % {'url': peer.url, 'budget': budget, 'start': start,
                                           'when': when, 'max_age': max_age})
    source = GridSource()
    box = {'metered': metered}
    proc = ExportProcess(cfg, source_factory=lambda store: source,
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None,
                         metered=lambda: box['metered'])
    return cfg, proc, box


def local_day(t):
    return t.astimezone(PARIS).date()


def counted(tmp_path, target='wh'):
    with open(tmp_path / 'run' / 'budget' / (target + '.json')) as f:
        return json.load(f)


def check_arrivals(peer, start, end):
    """Every hourly window of [start, end) arrived exactly once, with exactly its events."""
    names = collections.Counter(u.name for u in peer.uploads)
    assert max(names.values()) == 1
    t = start
    while t < end:
        name = 'lyon-b12_hourly_%s_%s.csv' % (t.strftime('%Y%m%dT%H%M%SZ'),
                                              (t + HOUR).strftime('%Y%m%dT%H%M%SZ'))
        lines = peer.read(name).decode().splitlines()
        assert len(lines) - 1 == len(list(grid_events(t, t + HOUR))), name
        t += HOUR
    assert len(names) == (end - start) // HOUR


def test_ten_days_within_budget_every_window_once(tmp_path):
    """Ten days of hourly windows (a DST day and a month end among them) after a box was off
    two days: each local day's bytes stay within the budget (counted and received), every
    window arrives once with its events, none is dead, and the backlog drains."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer)
        first = T('2026-10-22 00:00')          # Paris: DST ends on Oct 25, the month on Oct 31
        per_day = collections.Counter()         # local day -> bytes received
        deferred_days = set()
        used = {}                               # local day -> bytes counted
        now = first
        while now < first + datetime.timedelta(days=10):
            before = peer.received
            rep = proc.run(now=now)
            assert rep.ok and rep.dead_lettered == 0, rep
            per_day[local_day(now)] += peer.received - before
            if rep.deferred:
                deferred_days.add(local_day(now))
            rec = counted(tmp_path)
            assert rec['period'] == local_day(now).isoformat()
            assert rec['used'] <= 64 * 1024
            used[rec['period']] = rec['used']
            now += 2 * HOUR
        for day, got in per_day.items():
            assert got <= 64 * 1024, (day, got)
        assert len(deferred_days) >= 3           # the budget did hold windows back
        last = now - 2 * HOUR                   # the last run: windows due by then
        check_arrivals(peer, T('2026-10-19 22:00'), last.replace(minute=0) - HOUR)
        assert not os.listdir(tmp_path / 'state' / 'backlog' / 'hourly')
        assert not os.path.exists(tmp_path / 'state' / 'failed')
        received = sum(per_day.values())
        assert received <= sum(used.values())
        print('\nten days: received %d bytes in %d uploads (%d per window), counted %d (%d per '
              'window); per day received %s, counted %s' % (
                  received, len(peer.uploads), received // len(peer.uploads), sum(used.values()),
                  sum(used.values()) // len(peer.uploads), sorted(per_day.values()),
                  sorted(used.values())))


def test_budget_survives_restart_and_power_cut(tmp_path):
    """A restart keeps the exact count (/run); after a power cut (/run lost) the count restarts
    from the flash ceiling, written before the uploads it covers: never fewer bytes than were
    sent; and the flash file is not rewritten at each upload."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer, start='2026-11-02')
        flash = tmp_path / 'state' / 'budget' / 'wh.json'
        writes, last = 0, None
        now = T('2026-11-02 00:10')
        while now < T('2026-11-02 20:00'):
            rep = proc.run(now=now)
            assert rep.ok
            if flash.read_bytes() != last:
                writes, last = writes + 1, flash.read_bytes()
            now += HOUR
        assert len(peer.uploads) == 20 and writes <= 8      # ~10 per period at most
        used = counted(tmp_path)['used']
        assert peer.received <= used
        # restart: a new process, the same /run: the exact count goes on
        _, proc2, _ = make(tmp_path, peer, start='2026-11-02')
        rep = proc2.run(now=T('2026-11-02 19:20'))
        assert rep.delivered == 0 and counted(tmp_path)['used'] == used
        # power cut: /run is gone; the flash file is as the last uploads found it
        shutil.rmtree(tmp_path / 'run')
        b = Budget(cfg, str(tmp_path / 'run'), metered=lambda: Metered(1, 'yes'))
        rec = b.ledger('wh').current('2026-11-02', 'day')
        assert rec['used'] >= used >= peer.received and not rec['exact']
        assert rec['used'] - used <= 64 * 1024 // 10 + 4096      # rounded up by one step
        # the next runs count on from there, and the day stays within its budget
        _, proc3, _ = make(tmp_path, peer, start='2026-11-02')
        before = peer.received
        proc3.run(now=T('2026-11-02 21:10'))
        assert counted(tmp_path)['used'] >= rec['used'] + (peer.received - before)
        assert counted(tmp_path)['used'] <= 64 * 1024


def test_clock_back_keeps_the_later_period(tmp_path):
    """A clock stepped back a day keeps the later day's usage: the step resets nothing."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer, start='2026-11-03')
        proc.run(now=T('2026-11-04 10:00'))
        used = counted(tmp_path)['used']
        b = Budget(cfg, str(tmp_path / 'run'), metered=lambda: Metered(1, 'yes'))
        rec = b.ledger('wh').current('2026-11-03', 'day')     # the clock went back a day
        assert (rec['period'], rec['used']) == ('2026-11-04', used)
        assert b.reserve('wh', 64 * 1024 - used + 1, T('2026-11-03 10:00')) is not None


def test_metered_only_while_metered(tmp_path):
    """budget_when = "metered": no limit while NetworkManager says "no" (nothing counted);
    the budget holds as soon as it says "guess-yes", looked up at each run."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, box = make(tmp_path, peer, start='2026-11-02', when='metered',
                               budget='16KiB/day', metered=Metered(2, 'no'))
        rep = proc.run(now=T('2026-11-03 12:00'))
        assert rep.delivered == 36 and rep.deferred == 0
        box['metered'] = Metered(3, 'guess-yes')
        rep = proc.run(now=T('2026-11-03 22:10'))
        assert rep.deferred and rep.delivered < 10
        assert counted(tmp_path)['metered'] == 'guess-yes'
        box['metered'] = Metered(4, 'guess-no')
        rep = proc.run(now=T('2026-11-03 22:20'))
        assert rep.deferred == 0 and rep.pending == 0


def test_max_age_says_the_budget_kept_the_window(tmp_path):
    """A window kept waiting by the budget past max_age is dead-lettered by the max_age rule,
    and its reason names the budget (status shows it)."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer, start='2026-11-02', budget='16KiB/day',
                             max_age='12h')
        rep = proc.run(now=T('2026-11-02 09:10'))
        assert rep.deferred and not rep.dead_lettered
        dead = 0
        for hour in range(10, 23):                         # hourly runs, the same local day
            rep = proc.run(now=T('2026-11-02 %02d:10' % hour))
            assert rep.delivered == 0 and rep.deferred
            dead += rep.dead_lettered
        assert dead
        errors = [n for n in os.listdir(tmp_path / 'state' / 'failed' / 'hourly')
                  if n.endswith('.error')]
        text = (tmp_path / 'state' / 'failed' / 'hourly' / errors[0]).read_text()
        assert 'max_age' in text and 'byte budget of target wh' in text


def test_status_and_metrics_show_the_budget(tmp_path):
    """status --json (valid against its schema), its text and the metrics show per target the
    budget, used, left and how many windows wait for it."""
    from jsonschema import Draft202012Validator
    from pycstbox.export.cli.status import render
    from pycstbox.export.process import metrics, snapshot
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer, start='2026-11-02', budget='16KiB/day')
        rep = proc.run(now=T('2026-11-02 12:10'))
        assert rep.deferred == rep.pending > 0
        doc = snapshot.collect(cfg, T('2026-11-02 12:11'), runtime_dir=str(tmp_path / 'run'))
    with open(os.path.join(os.path.dirname(snapshot.__file__), '..', 'status.schema.json')) as f:
        Draft202012Validator(json.load(f)).validate(doc)
    b = doc['budgets']['wh']
    assert (b['bytes'], b['per'], b['period']) == (16384, 'day', '2026-11-02')
    assert b['used'] + b['left'] == 16384 and b['used'] <= 16384 and b['exact']
    assert b['deferred_windows'] == rep.deferred and b['waiting_need'] > b['left']
    assert b['next_period'] == '2026-11-02T23:00:00Z'            # midnight in Paris
    text = render(doc)
    assert 'budget wh: 16KiB/day, 2026-11-02: %d bytes used' % b['used'] in text
    assert '%d window(s), 0 outbox file(s) until 2026-11-02T23:00:00Z' % rep.deferred in text
    got = {(name, labels.get('target')): value for name, _, labels, value in metrics.samples(doc)}
    assert got[('cstbox_export_budget_bytes', 'wh')] == 16384
    assert got[('cstbox_export_budget_used_bytes', 'wh')] == b['used']
    assert got[('cstbox_export_budget_deferred', 'wh')] == rep.deferred


def test_upload_larger_than_the_whole_budget_is_a_problem(tmp_path):
    """An upload that needs more than the whole budget waits (never sent over budget), and
    status says the budget must be raised."""
    from pycstbox.export.cli.status import render
    from pycstbox.export.process import snapshot
    with HttpPeer(tmp_path / 'http') as peer:
        cfg, proc, _ = make(tmp_path, peer, start='2026-11-02', budget='16KiB/day')
        b = Budget(cfg, str(tmp_path / 'run'), metered=lambda: Metered(1, 'yes'))
        why = b.reserve('wh', 20 * 1024, T('2026-11-02 10:00'))
        assert 'larger than the whole budget' in why
        rep = proc.run(now=T('2026-11-02 10:10'))
        assert rep.delivered == 0 and rep.deferred == rep.pending and not peer.uploads
        doc = snapshot.collect(cfg, T('2026-11-02 10:11'), runtime_dir=str(tmp_path / 'run'))
    assert 'needs more than the whole budget' in render(doc)
