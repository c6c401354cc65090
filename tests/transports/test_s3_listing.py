"""The s3 listing against a store that lies (tests/peers/fakes3.py): whole pages, complete XML,
no endless pagination (DESIGN.md sections 11-12)."""

import pytest

from pycstbox.export.errors import TemporaryError
from pycstbox.export.transports import s3checksum
from tests.peers.fakes3 import FakeS3
from tests.transports.harness import make

KEYS = {'p/k%04d.csv' % i: (100 + i, '') for i in range(25)}


def transport(store, page_size=10):
    t = make('s3', name='lake', endpoint=store.endpoint, bucket='b', access_key_id='AK',
             secret_access_key='SK', timeout=5, connect_timeout=2)
    t.page_size = page_size
    return t


@pytest.mark.parametrize('lie', ['', 'reorder', 'duplicate'])
def test_listing_truthful_reordered_or_duplicated(lie):
    """Keys listed out of order or twice still give every object with its size, once."""
    with FakeS3(KEYS, lie=lie) as store:
        got = {f.key: f.size for f in transport(store).listing('p/')}
    assert got == {k: v[0] for k, v in KEYS.items()}


@pytest.mark.parametrize('lie,words', [
    ('truncate', 'not a complete XML listing'),
    ('unclosed', 'not a complete XML listing'),
    ('html', 'not a listing'),
    ('repeat-token', 'continuation token it gave before'),
    ('endless', 'more than 5 pages'),
    ('no-token', 'no continuation token'),
    ('keycount', 'KeyCount'),
    ('huge', 'larger than'),
])
def test_listing_that_cannot_be_trusted_is_an_error(lie, words):
    """A torn or cut page, a page that is not a listing, a repeated or missing token, too
    many pages, a KeyCount that disagrees, a page past 4 MiB: a temporary error naming the
    target and the page, never a silently shorter listing."""
    with FakeS3(KEYS, lie=lie) as store:
        t = transport(store)
        t.max_pages = 5
        with pytest.raises(TemporaryError, match=words) as info:
            list(t.listing('p/'))
        assert info.value.target == 'lake' and 'page' in str(info.value)
        assert len(store.requests) <= 6


def test_page_of_1000_long_keys_read_whole():
    """A 1,000-key page far larger than 64 KiB (long keys) is read whole: every key listed."""
    keys = {'site=lyon-b12/job=quarter/date=2026-11-%02d/%s_%04d.csv.gz'
            % (1 + i % 28, 'x' * 150, i): (i, '') for i in range(1000)}
    with FakeS3(keys) as store:
        got = [f.key for f in transport(store, 1000).listing('')]
        assert len(store.requests) == 1
    assert sorted(got) == sorted(keys)


@pytest.mark.parametrize('ours,theirs,full,verdict', [
    ('AAA=', 'AAA=', '', True),                  # full, full
    ('AAA=', 'BBB=', '', False),
    ('CCC=-3', 'CCC=-3', '', True),              # composite, composite
    ('CCC=-3', 'CCC=-4', '', False),
    ('CCC=-3', 'DDD=-3', '', False),
    ('CCC=-3', 'CCC=', '', True),                # moto: composite without its suffix
    ('CCC=-3', 'AAA=', 'AAA=', True),            # the store keeps a full checksum
    ('CCC=-3', 'DDD=', 'AAA=', False),
    ('CCC=-3', 'DDD=', '', None),                # suffixless other: cannot tell
    ('AAA=', 'DDD=-2', '', None),                # full vs composite of unknown part size
    ('AAA=', '', '', None),
])
def test_checksums_compared_like_for_like(ours, theirs, full, verdict):
    """Full with full, composite with composite (with or without "-N"), else not comparable."""
    assert s3checksum.same(ours, theirs, full) is verdict
