"""Retry policies: small immutable values with a readable ``repr`` (urllib3 ``Retry`` style).

``Retry`` governs the immediate attempts of one job (``max_try``, ``retry_delay``)
and the backoff of outbox files (exponential, bounded, with jitter).  Sleeping
and logging are done by the caller, in one place.
"""

import dataclasses
import random


@dataclasses.dataclass(frozen=True)
class Retry:
    """``max_try`` immediate attempts ``retry_delay`` s apart; later retries back off.

    ``backoff(n)`` is the wait before retry ``n`` (1-based) of something that
    keeps failing: ``base * factor**(n-1)`` capped at ``max_backoff``, with up to
    ``jitter`` (a fraction) added at random so that a fleet does not retry in step.
    """

    max_try: int = 3
    retry_delay: float = 10.0
    base: float = 30.0
    factor: float = 2.0
    max_backoff: float = 3600.0
    jitter: float = 0.2

    def __post_init__(self):
        if isinstance(self.max_try, bool) or not isinstance(self.max_try, int) or self.max_try < 1:
            raise ValueError('max_try must be a whole number >= 1, not %r' % (self.max_try,))
        for name in ('retry_delay', 'base', 'max_backoff', 'jitter'):
            if getattr(self, name) < 0:
                raise ValueError('%s must be >= 0' % name)
        if self.factor < 1:
            raise ValueError('factor must be >= 1')

    def backoff(self, attempt, rnd=random):
        """Seconds to wait before retry number ``attempt`` (1 = first retry)."""
        attempt = max(1, int(attempt))
        wait = min(self.max_backoff, self.base * self.factor ** min(attempt - 1, 64))
        return wait * (1 + self.jitter * rnd.random())

    def __repr__(self):
        return ('Retry(max_try=%d, retry_delay=%gs, backoff=%gs*%g^n<=%gs, jitter=%d%%)'
                % (self.max_try, self.retry_delay, self.base, self.factor, self.max_backoff,
                   round(self.jitter * 100)))
