"""The byte counters of one target's budget, safe across restarts, power cuts and clock steps.

Two files per target with a budget:

- ``<runtime_dir>/budget/<target>.json`` (tmpfs, no flash wear): the exact count of the
  period, rewritten at each upload: ``{"unit", "period", "used", "granted", "blocked",
  "windows", "files", "metered"}``;
- ``<state_dir>/budget/<target>.json`` (flash, durable): ``{"unit", "period", "granted"}``,
  a *ceiling* of what was used: before an upload would take ``used`` past it, the ceiling
  is raised by a tenth of the budget (or more when the upload needs it) and written,
  fsynced, *before* the upload.  About ten flash writes per target and period, never one
  per upload.

After a power cut (``/run`` lost) the count restarts from the ceiling: it may count up to a
tenth of the budget too much, never too little.  An upload is counted (in ``/run``) before
it starts and taken back when it fails, so a crash during an upload over-counts it.

The period is the local date (``2026-11-27``) or month (``2026-11``) of ``now`` in the
configuration's time zone.  A clock that goes back finds a record of a later period and
keeps it (the higher usage stays until that period has passed); only a later period
starts from zero.  Every change holds ``<runtime_dir>/budget/<target>.lock`` (flock): the
daemon's lanes and a cron run may share a target.
"""

import contextlib
import fcntl
import json
import logging
import os

from pycstbox.export.atomic import makedirs_private, write_atomic

log = logging.getLogger(__name__)

#: fraction of the budget by which the flash ceiling grows
GRANT_STEP = 10


def period_key(now, tz, unit):
    """``'2026-11-27'`` (day) or ``'2026-11'`` (month) of aware ``now`` in ``tz``."""
    local = now.astimezone(tz)
    return local.strftime('%Y-%m-%d' if unit == 'day' else '%Y-%m')


def _read(path):
    try:
        with open(path, 'rb') as f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get('period'), str):
        return None
    for k in ('used', 'granted', 'windows', 'files'):
        v = doc.get(k, 0)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            return None
    return doc


def _blank(unit, period):
    return {'unit': unit, 'period': period, 'used': 0, 'granted': 0, 'blocked': None,
            'windows': 0, 'files': 0}


class Ledger:
    """The counters of target ``target`` (see the module docstring)."""

    def __init__(self, state_dir, runtime_dir, target):
        self.target = target
        self.flash = os.path.join(state_dir, 'budget', target + '.json')
        self.volatile = os.path.join(runtime_dir, 'budget', target + '.json')
        self.lockfile = os.path.join(runtime_dir, 'budget', target + '.lock')

    @contextlib.contextmanager
    def _locked(self):
        makedirs_private(os.path.dirname(self.lockfile))
        fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def current(self, key, unit):
        """The record of period ``key`` (or of a later one: clock gone back), read only.

        ``exact`` is False when the count comes from the flash ceiling (after a reboot).
        """
        vol, flash = _read(self.volatile), _read(self.flash)
        if vol is not None and vol.get('unit') != unit:
            vol = None
        if flash is not None and flash.get('unit') != unit:
            flash = None
        rec = dict(vol, exact=True) if vol else None
        if flash and (rec is None or flash['period'] > rec['period']):
            # /run lost (reboot, power cut) or older than the ceiling: round up to it
            rec = dict(_blank(unit, flash['period']), used=flash['granted'],
                       granted=flash['granted'], exact=False)
        if rec is None or rec['period'] < key:
            rec = dict(_blank(unit, key), exact=True,
                       metered=(vol or {}).get('metered'))
        return rec

    def _save(self, rec):
        doc = {k: v for k, v in rec.items() if k != 'exact'}
        makedirs_private(os.path.dirname(self.volatile))
        write_atomic(self.volatile, json.dumps(doc, sort_keys=True), mode=0o600, durable=False)

    def _grant(self, rec, need_total, budget):
        """Raise the flash ceiling to at least ``need_total`` (durable) before it is used."""
        if need_total <= rec['granted']:
            return
        granted = max(need_total, min(budget, rec['used'] + budget // GRANT_STEP))
        makedirs_private(os.path.dirname(self.flash))
        write_atomic(self.flash, json.dumps({'unit': rec['unit'], 'period': rec['period'],
                                             'granted': granted}, sort_keys=True), mode=0o600)
        rec['granted'] = granted

    def reserve(self, key, unit, budget, need):
        """Count ``need`` bytes if they fit in what is left; else mark the target blocked.

        :returns: ``(True, record)`` when counted, ``(False, record)`` when not
        :raises OSError: the state directory cannot be written (nothing is sent then)
        """
        with self._locked():
            rec = self.current(key, unit)
            blocked = rec.get('blocked')
            if blocked and blocked.get('budget') == budget:
                return False, rec
            if rec['used'] + need > budget:
                rec['blocked'] = {'need': need, 'budget': budget}
                self._save(rec)
                return False, rec
            rec['blocked'] = None
            self._grant(rec, rec['used'] + need, budget)
            rec['used'] += need
            self._save(rec)
            return True, rec

    def release(self, key, unit, need):
        """Take back ``need`` bytes counted by :meth:`reserve` (the upload failed)."""
        with self._locked():
            rec = self.current(key, unit)
            rec['used'] = max(0, rec['used'] - need)
            self._save(rec)

    def note(self, key, unit, **fields):
        """Set ``windows`` / ``files`` (deferred) / ``metered``; written only when changed."""
        with self._locked():
            rec = self.current(key, unit)
            if all(rec.get(k) == v for k, v in fields.items()):
                return
            rec.update(fields)
            self._save(rec)
