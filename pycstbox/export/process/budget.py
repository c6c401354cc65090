"""Byte budgets of the targets (``budget = "300KiB/day"``, ``budget_when``; DESIGN section 6).

A :class:`Budget` is made for one run (``ExportProcess``) or kept by an outbox lane; it
answers, per target:

- :meth:`Budget.wait`: why the target must wait now (its budget was found too small for
  the oldest window or file of this period), or None.  Once something waits, everything
  later of that target waits too, windows and outbox files alike, until the next period
  (local day or calendar month in ``timezone``), a larger budget, or (``budget_when =
  "metered"``) an unmetered connection: nothing jumps ahead of the oldest.
- :meth:`Budget.reserve`: count an upload (:func:`.wire.wire_bytes`) before it starts, or
  refuse it (the target then waits); :meth:`Budget.release` takes it back when it failed.

Nothing is ever dropped nor dead-lettered *because of* the budget: a waiting window stays
pending; only ``max_age`` gives it up, and the dead letter then says the budget kept it.

``budget_when = "metered"``: the budget applies only while NetworkManager says the
connection is metered (``metered`` collaborator, by default
:func:`pycstbox.evtdb.network.metered` on ``[network] bus``, looked up once per
``Budget`` and again after ``METERED_TTL`` seconds).  "unknown" (no NetworkManager)
counts as metered.  While the budget does not apply, uploads are not counted.

Counters: :mod:`.ledger` (exact in ``/run``, a durable ceiling on flash).
"""

import datetime
import logging
import time

from pycstbox.export.config.budget import of as budget_of, size_text
from pycstbox.export.process.ledger import Ledger, period_key
from pycstbox.export.process.wire import wire_bytes

log = logging.getLogger(__name__)

#: seconds a NetworkManager answer is kept (lanes; a run makes a new Budget)
METERED_TTL = 60.0


def default_metered(bus):
    """The look-up of ``[network] bus`` (imported lazily: D-Bus lives in pycstbox.evtdb)."""
    def lookup():
        from pycstbox.evtdb.network import metered
        return metered(bus)
    return lookup


def next_period(now, tz, unit):
    """Start (aware, UTC) of the period after the one holding ``now``: the next local day/month."""
    local = now.astimezone(tz).date()
    if unit == 'day':
        first = local + datetime.timedelta(days=1)
    else:
        first = (local.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    start = datetime.datetime.combine(first, datetime.time(0), tzinfo=tz)
    return start.astimezone(datetime.timezone.utc)


class Budget:
    """The budgets of ``config``'s targets (see the module docstring)."""

    def __init__(self, config, runtime_dir, metered=None, clock=time.monotonic):
        self.config = config
        self.tz = config.tz
        self.specs = {}
        for name, target in config.targets.items():
            spec = budget_of(target)
            if spec is not None:
                self.specs[name] = spec
        self.runtime_dir = runtime_dir
        self._lookup = metered or default_metered(getattr(config, 'network', None) and
                                                  config.network.bus or '')
        self._clock = clock
        self._metered = None
        self._metered_at = None

    def __bool__(self):
        return bool(self.specs)

    def ledger(self, target):
        return Ledger(self.config.state_dir, self.runtime_dir, target)

    def metered(self):
        """NetworkManager's answer (a ``Metered``), looked up at most every ``METERED_TTL`` s."""
        t = self._clock()
        if self._metered is None or t - self._metered_at >= METERED_TTL:
            self._metered = self._lookup()
            self._metered_at = t
            log.debug('NetworkManager: metered %s', self._metered.text)
        return self._metered

    def applies(self, target):
        """True when ``target`` has a budget that applies now (budget_when, NetworkManager)."""
        spec = self.specs.get(target)
        if spec is None:
            return False
        if self.config.targets[target].options.get('budget_when', 'always') != 'metered':
            return True
        return self.metered().metered

    def _key(self, target, now):
        return period_key(now, self.tz, self.specs[target].per)

    def wait(self, target, now):
        """Why ``target`` must wait for its next budget period now, or None."""
        if not self.applies(target):
            return None
        spec = self.specs[target]
        rec = self.ledger(target).current(self._key(target, now), spec.per)
        blocked = rec.get('blocked')
        if not blocked or blocked.get('budget') != spec.bytes:
            return None
        return self._reason(target, rec, blocked['need'])

    def _reason(self, target, rec, need):
        spec = self.specs[target]
        left = max(0, spec.bytes - rec['used'])
        text = ('the byte budget of target %s (%s) is used up for %s: %s used, %s left, the '
                'oldest waiting upload needs %s; it waits for the next %s'
                % (target, spec, rec['period'], size_text(rec['used']), size_text(left),
                   size_text(need), spec.per))
        if need > spec.bytes:
            text += (' (it is larger than the whole budget: raise budget, or use a smaller '
                     'period or compress = "zstd")')
        return text

    def need(self, target, size, name):
        """Bytes the upload of a ``size``-byte file ``name`` counts against ``target``."""
        return wire_bytes(self.config.targets[target], size, name)

    def reserve(self, target, need, now):
        """Count ``need`` bytes before an upload; returns None, or why it must wait.

        A target whose budget does not apply is not counted (None).
        :raises OSError: the flash ceiling cannot be written (nothing may be sent)
        """
        if not self.applies(target):
            return None
        spec = self.specs[target]
        ok, rec = self.ledger(target).reserve(self._key(target, now), spec.per, spec.bytes,
                                              need)
        if ok:
            return None
        reason = self._reason(target, rec, (rec.get('blocked') or {}).get('need', need))
        log.info('%s', reason)
        return reason

    def release(self, target, need, now):
        """Take back bytes counted by :meth:`reserve` for an upload that failed."""
        if target in self.specs:
            self.ledger(target).release(self._key(target, now), self.specs[target].per, need)

    def note(self, target, now, **counts):
        """Record ``windows=N`` / ``files=N`` waiting for the budget, and the last NM answer."""
        if target not in self.specs:
            return
        when = self.config.targets[target].options.get('budget_when', 'always')
        if when == 'metered' and self._metered is not None:
            counts['metered'] = self._metered.text
        try:
            self.ledger(target).note(self._key(target, now), self.specs[target].per, **counts)
        except OSError as exc:
            log.warning('budget of target %s: cannot write %s: %s', target,
                        self.ledger(target).volatile, exc)

    def next_period(self, target, now):
        """When the next period of ``target``'s budget starts (aware UTC)."""
        return next_period(now, self.tz, self.specs[target].per)


def status(config, runtime_dir, now):
    """``{target: {...}}`` of every target with a budget: the ``budgets`` of ``status --json``.

    Read only, no D-Bus: ``applies`` says whether the budget counts now as far as the last
    run or lane knew (``metered``: NetworkManager's last answer, null before the first).
    """
    out = {}
    for name, target in sorted(config.targets.items()):
        spec = budget_of(target)
        if spec is None:
            continue
        when = target.options.get('budget_when', 'always')
        rec = Ledger(config.state_dir, runtime_dir, name).current(
            period_key(now, config.tz, spec.per), spec.per)
        metered = rec.get('metered') if when == 'metered' else None
        applies = True if when == 'always' else (
            None if metered is None else not metered.startswith(('no', 'guess-no')))
        blocked = rec.get('blocked') if (rec.get('blocked') or {}).get('budget') == spec.bytes \
            else None
        out[name] = {
            'budget': str(spec), 'bytes': spec.bytes, 'per': spec.per, 'when': when,
            'period': rec['period'], 'used': rec['used'],
            'left': max(0, spec.bytes - rec['used']), 'exact': rec.get('exact', True),
            'applies': applies, 'metered': metered,
            'deferred_windows': rec.get('windows', 0) if blocked else 0,
            'deferred_files': rec.get('files', 0) if blocked else 0,
            'waiting_need': blocked['need'] if blocked else None,
            'next_period': next_period(now, config.tz, spec.per).strftime('%Y-%m-%dT%H:%M:%SZ'),
        }
    return out
