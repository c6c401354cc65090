"""Bus address resolution: configuration, CSTBox's cstbox-dbus file, environment."""

import pytest

from pycstbox.evtdb.client import EventStoreClient, resolve_address
from pycstbox.export.errors import EventStoreError
from tests.peers.evtdb import evtdb_service, private_bus


GUID = ',guid=0123456789abcdef0123456789abcdef'


def cstbox_file(tmp_path, address):
    """The file CSTBox's init script writes with ``dbus-launch --sh-syntax``."""
    path = tmp_path / 'cstbox-dbus'
    path.write_text("DBUS_SESSION_BUS_ADDRESS='%s';\n"
                    "export DBUS_SESSION_BUS_ADDRESS;\nDBUS_SESSION_BUS_PID=4242;\n" % address)
    return str(path)


def test_configuration_first(tmp_path):
    """A configured address wins over the CSTBox file and the environment."""
    f = cstbox_file(tmp_path, 'unix:path=/from/file')
    assert resolve_address('unix:path=/conf', f, {'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/env'}) \
        == 'unix:path=/conf'


def test_cstbox_file_before_environment(tmp_path):
    """Without configuration, the CSTBox file wins over the environment."""
    f = cstbox_file(tmp_path, 'unix:abstract=/tmp/dbus-XyZ' + GUID)
    assert resolve_address('', f, {'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/env'}) == \
        'unix:abstract=/tmp/dbus-XyZ' + GUID


def test_environment_last(tmp_path):
    """Without configuration nor CSTBox file, $DBUS_SESSION_BUS_ADDRESS is used."""
    assert resolve_address('', str(tmp_path / 'none'),
                           {'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/env'}) == 'unix:path=/env'


def test_nothing_found_names_what_was_tried(tmp_path):
    """No address anywhere: the error lists the configuration, the file and the variable."""
    (tmp_path / 'empty').write_text('# nothing\n')
    with pytest.raises(EventStoreError) as info:
        resolve_address('', str(tmp_path / 'empty'), {})
    msg = str(info.value)
    assert 'address is empty' in msg and str(tmp_path / 'empty') in msg
    assert '$DBUS_SESSION_BUS_ADDRESS (not set)' in msg


@pytest.mark.parametrize('abstract', [False, True], ids=['unix-path', 'unix-abstract'])
def test_client_reaches_store_through_cstbox_file(tmp_path, abstract):
    """A client with no address reaches cbx-evtdb through the cstbox-dbus file (both forms)."""
    (tmp_path / 'root').mkdir()
    with private_bus(tmp_path, abstract=abstract) as address:
        assert address.startswith('unix:abstract=' if abstract else 'unix:path=')
        with evtdb_service(address, tmp_path / 'root'):
            c = EventStoreClient('', cstbox_file=cstbox_file(tmp_path, address), environ={})
            try:
                assert c.available_days() == []
            finally:
                c.close()
