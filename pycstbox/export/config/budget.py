"""A target's byte budget: ``budget = "300KiB/day"`` and ``budget_when`` (DESIGN section 6).

``parse_budget(text) -> BudgetSpec(bytes, per)`` (``""`` -> None): a size (``B``, ``KiB``,
``MiB``, ``GiB``, and the other units of :mod:`.size`) per ``day`` (the local day in the
configuration's ``timezone``) or per calendar ``month``.  ``budget_when``: ``always`` (the
default) or ``metered`` (only while NetworkManager says the connection is metered; see
:mod:`pycstbox.export.process.budget`).  ``validate(options, fail)`` checks both keys of a
target table; ``of(target)`` is the parsed budget of a ``TargetConfig`` (None: no budget).
"""

from typing import NamedTuple

from pycstbox.export.config.size import parse_size

PERIODS = ('day', 'month')
WHEN = ('always', 'metered')
#: keys added to every target's schema
SCHEMA = {'budget': (str, ''), 'budget_when': (str, 'always')}
#: a budget below this cannot carry one request (headers, TLS handshake)
MIN_BYTES = 16 * 1024


class BudgetSpec(NamedTuple):
    bytes: int            # allowed per period
    per: str              # 'day' | 'month'

    def __str__(self):
        return '%s/%s' % (size_text(self.bytes), self.per)


def size_text(n):
    """``307200`` -> ``'300KiB'`` (exact when possible, else two decimals)."""
    for unit, factor in (('GiB', 1024 ** 3), ('MiB', 1024 ** 2), ('KiB', 1024)):
        if n >= factor:
            value = n / factor
            return ('%d%s' if value == int(value) else '%.2f%s') % (value, unit)
    return '%dB' % n


def parse_budget(text):
    """The :class:`BudgetSpec` of ``text`` (``""``: None). :raises ValueError: with the reason"""
    text = (text or '').strip()
    if not text:
        return None
    size, slash, per = text.rpartition('/')
    per = per.strip().lower()
    if not slash or per not in PERIODS:
        raise ValueError('must be a size per day or per month, such as "300KiB/day" or '
                         '"500MiB/month", not %r' % text)
    try:
        n = parse_size(size.strip())
    except ValueError as exc:
        raise ValueError('%s (in %r)' % (exc, text)) from exc
    if n < MIN_BYTES:
        raise ValueError('%r is too small: one upload (request headers, TLS handshake) alone '
                         'takes several KiB; at least %s' % (text, size_text(MIN_BYTES)))
    return BudgetSpec(n, per)


def validate(o, fail):
    """Check ``budget`` and ``budget_when`` of target options ``o`` (``fail(key, message)``)."""
    try:
        parse_budget(o.get('budget', ''))
    except ValueError as exc:
        fail('budget', str(exc))
    if o.get('budget_when', 'always') not in WHEN:
        fail('budget_when', 'must be "always" or "metered" (the budget applies only while '
                            'NetworkManager says the connection is metered), not %r'
             % o.get('budget_when'))


def of(target):
    """The :class:`BudgetSpec` of a ``TargetConfig``, or None (no budget)."""
    return parse_budget(target.options.get('budget', ''))
