"""Outbox lanes give their transport the configured timezone (s3 keys date outbox files)."""

from zoneinfo import ZoneInfo

from pycstbox.export.daemon.outboxlane import OutboxLane
from tests.transports.harness import Target


def test_lane_transport_has_config_timezone(tmp_path):
    """The transport of an outbox lane dates keys in the config timezone, also after update."""
    target = Target('usb', 'dir', {'path': str(tmp_path)})
    lane = OutboxLane(target, 'lyon-b12', str(tmp_path), tz=ZoneInfo('Pacific/Kiritimati'))
    assert lane._get_transport().tz == ZoneInfo('Pacific/Kiritimati')
    lane._close_transport()
    lane.update(target, 'lyon-b12', ZoneInfo('Pacific/Pago_Pago'))
    assert lane._get_transport().tz == ZoneInfo('Pacific/Pago_Pago')
