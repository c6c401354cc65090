"""The retry policy value: immutable, readable, bounded backoff with jitter."""

import dataclasses
import random

import pytest

from pycstbox.export.process.retry import Retry


def test_repr_is_readable():
    """repr names every parameter with its unit."""
    assert repr(Retry()) == 'Retry(max_try=3, retry_delay=10s, backoff=30s*2^n<=3600s, jitter=20%)'


def test_immutable():
    """A Retry cannot be changed after creation."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Retry().max_try = 5


def test_backoff_grows_and_is_bounded():
    """Backoff doubles from base, never exceeds max_backoff plus jitter."""
    r = Retry(base=10, factor=2, max_backoff=100, jitter=0)
    assert [r.backoff(n) for n in range(1, 7)] == [10, 20, 40, 80, 100, 100]
    assert r.backoff(10 ** 6) == 100


def test_jitter_spreads_within_bound():
    """Jitter adds at most the given fraction."""
    r = Retry(base=100, jitter=0.2)
    rnd = random.Random(1)
    waits = [r.backoff(1, rnd) for _ in range(200)]
    assert min(waits) >= 100 and max(waits) <= 120 and len(set(waits)) > 100


@pytest.mark.parametrize('kw', [{'max_try': 0}, {'max_try': True}, {'retry_delay': -1},
                                {'factor': 0.5}, {'jitter': -0.1}])
def test_invalid_values_refused(kw):
    """Nonsense values are refused with ValueError."""
    with pytest.raises(ValueError):
        Retry(**kw)
