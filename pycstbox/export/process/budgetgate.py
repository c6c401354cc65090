"""The byte budgets during one run of the backlog (:class:`BudgetGate`, used by the Runner).

``wait(target)``: why the target waits for its next budget period (asked of
:class:`~.budget.Budget` once per target and run, then kept: once a window waits, every
later one of that target waits too); ``gate(target)``: the ``gate(size, name)`` handed to
:class:`~.windowjob.WindowJob`, which counts the upload before it is sent or raises
:class:`~pycstbox.export.errors.BudgetWait`; ``deferred(target)`` counts a window that
waits; ``close()`` records those counts for ``status``.
"""

from pycstbox.export.errors import BacklogError, BudgetWait


class BudgetGate:
    """One run's view of the targets' byte budgets (see the module docstring)."""

    def __init__(self, budget, now):
        self.budget = budget
        self.now = now
        self._waits = {}            # target -> why it waits (None: it does not)
        self.counts = {}            # target -> windows waiting for its budget in this run

    @property
    def total(self):
        return sum(self.counts.values())

    def wait(self, target):
        """Why ``target`` waits for its budget (looked up once per run), or None."""
        if target not in self.budget.specs:
            return None
        if target not in self._waits:
            self._waits[target] = self.budget.wait(target, self.now)
            self.counts.setdefault(target, 0)
        return self._waits[target]

    def deferred(self, target):
        self.counts[target] = self.counts.get(target, 0) + 1

    def gate(self, target):
        """WindowJob's gate for ``target`` (None when it has no budget)."""
        if target not in self.budget.specs:
            return None

        def gate(size, name):
            need = self.budget.need(target, size, name)
            try:
                why = self.budget.reserve(target, need, self.now)
            except OSError as exc:
                raise BacklogError('cannot record the byte budget of target %s: %s'
                                   % (target, exc)) from exc
            if why:
                self._waits[target] = why
                raise BudgetWait(why)
            return need if self.budget.applies(target) else 0
        return gate

    def release(self, target, need):
        """An upload counted by the gate failed: take its bytes back."""
        self.budget.release(target, need, self.now)

    def close(self):
        for target, count in self.counts.items():
            self.budget.note(target, self.now, windows=count)
