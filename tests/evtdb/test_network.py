"""NetworkManager's Metered property read over D-Bus (a fake NM on a private bus)."""

import pytest

from pycstbox.evtdb.network import metered

from tests.peers.evtdb import private_bus
from tests.peers.networkmanager import fake_networkmanager


@pytest.fixture(scope='module')
def nm(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('nm')
    with private_bus(tmp) as address, fake_networkmanager(address, tmp) as fake:
        yield address, fake


@pytest.mark.parametrize('value, text, is_metered', [
    (0, 'unknown', True), (1, 'yes', True), (2, 'no', False), (3, 'guess-yes', True),
    (4, 'guess-no', False)])
def test_each_metered_value(nm, value, text, is_metered):
    """Each NMMetered value is read as such; only "no" and "guess-no" lift a budget."""
    address, fake = nm
    fake.set(value)
    m = metered(address)
    assert (m.value, m.text, m.metered) == (value, text, is_metered)


def test_value_looked_up_again_each_time(nm):
    """The answer is not cached: a change on the NM side is seen at the next look-up."""
    address, fake = nm
    fake.set(2)
    assert not metered(address).metered
    fake.set(1)
    assert metered(address).metered


@pytest.mark.parametrize('answer', ['junk', '7'])
def test_nonsense_answer_is_unknown(nm, answer):
    """A value out of range or of the wrong type is "unknown", saying what NM answered."""
    address, fake = nm
    fake.set(answer)
    m = metered(address)
    assert m.value == 0 and m.text.startswith('unknown (NetworkManager answered') and m.metered


def test_no_networkmanager_is_unknown(tmp_path):
    """A bus without NetworkManager, or no bus at all: "unknown" with the reason."""
    with private_bus(tmp_path) as address:
        m = metered(address)
        assert (m.value, m.metered) == (0, True)
        assert m.text == 'unknown (NetworkManager is not running on %s)' % address
    m = metered('unix:path=%s/nothing' % tmp_path)
    assert m.value == 0 and 'cannot connect to unix:path=' in m.text
