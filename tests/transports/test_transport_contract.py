"""The contract every transport keeps, checked against each one's real peer."""

import logging
import os

import pytest

from pycstbox.export.errors import TemporaryError, TransportError
from tests.transports.harness import SECRET, write

NAME = 'lyon-b12_daily_20261127T000000Z_20261128T000000Z.csv.gz'


def _send(endpoint, transport, path, name=NAME, **kw):
    with endpoint.receiving():
        transport.send(path, name, job='daily', **kw)


class TestContract:
    """Shared contract: run for dir, http, https, ftp, ftps, sftp and serial."""

    def test_file_arrives_byte_identical(self, endpoint, payload):
        """A delivered file is byte-identical under its final name, no temp file left."""
        path, data = payload
        _send(endpoint, endpoint.transport, path, key='lyon-b12-daily-261127000000')
        assert endpoint.read(NAME) == data
        assert not [n for n in endpoint.listing() if n.endswith('.tmp')]

    def test_second_send_replaces(self, endpoint, payload, tmp_path):
        """Sending the same name again replaces the first file (it does not add one)."""
        path, data = payload
        _send(endpoint, endpoint.transport, path)
        other = os.urandom(5000)
        _send(endpoint, endpoint.transport, write(tmp_path / 'second', other))
        assert endpoint.read(NAME) == other
        assert [n for n in endpoint.listing() if not n.startswith('.')] in ([], [NAME])

    def test_failed_send_leaves_no_file_under_final_name(self, endpoint, payload):
        """A failed send raises the right class and leaves nothing under the final name."""
        transport, expected, read, listing = endpoint.failing()
        path, _ = payload
        with pytest.raises(TransportError) as info:
            transport.send(path, NAME, job='daily')
        assert type(info.value) is expected, info.value
        assert info.value.target == 't1'
        assert read(NAME) is None
        assert not [n for n in listing() if NAME in n]

    def test_check_passes_on_good_target(self, endpoint):
        """check() succeeds on a reachable, writable destination and sends no file."""
        before = sorted(endpoint.listing())
        endpoint.transport.check()
        assert sorted(endpoint.listing()) == before

    def test_check_fails_with_right_class(self, endpoint):
        """check() on each bad target raises the expected class, naming the target."""
        for why, transport, expected in endpoint.bad():
            with pytest.raises(TransportError) as info:
                transport.check()
            assert type(info.value) is expected, '%s: %r' % (why, info.value)
            assert info.value.temporary is (expected is TemporaryError), why
            assert 'target t1' in str(info.value), why
            transport.close()

    def test_no_secret_in_logs_errors_or_repr(self, endpoint, payload, caplog):
        """A password never shows in logs (even DEBUG), error messages nor repr()."""
        caplog.set_level(logging.DEBUG)
        transport, expected = endpoint.secret()
        texts = [repr(transport), str(transport)]
        for action in (transport.check, lambda: _send(endpoint, transport, payload[0])):
            try:
                action()
                assert expected is None
            except TransportError as exc:
                assert type(exc) is expected, exc
                texts += [str(exc), repr(exc), repr(exc.__cause__)]
        transport.close()
        texts.append(caplog.text)
        assert not [t for t in texts if SECRET in t]
