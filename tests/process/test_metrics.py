"""Prometheus metrics of the status snapshot, and their textfile (DESIGN section 13)."""

import builtins
import logging
import os
import sys

import pytest

from pycstbox.export import transports
from pycstbox.export.errors import PermanentError, TemporaryError
from pycstbox.export.process import metrics, snapshot
from pycstbox.export.process.process import ExportProcess

from .helpers import FlakyDir, ListSource, T, hourly_events, write_config

CONFIG = '''
[targets.usb]
type = "dir"
path = "%(out)s"

[targets.spare]
type = "dir"
path = "%(out)s"

[jobs.daily]
target = "usb"
period = "1d"
delay = "15m"
format = "csv"
start = "2026-11-20"
max_try = 1
retry_delay = 0
'''


@pytest.fixture
def env(tmp_path):
    """(process, config, errors list fed to the transport) on a dir target with real files."""
    out = tmp_path / 'received'
    out.mkdir()
    cfg = write_config(tmp_path, CONFIG % {'out': out})
    source = ListSource(hourly_events(T('2026-11-19 00:00'), 24 * 12))
    errors = []

    def tfactory(target, site):
        return FlakyDir(transports.create(target, site=site), errors)
    proc = ExportProcess(cfg, source_factory=lambda store: source, transport_factory=tfactory,
                         runtime_dir=str(tmp_path / 'run'), sleep=lambda s: None)
    return proc, cfg, errors


def values(doc):
    """{(name, job or target): value} of the metric set of ``doc``."""
    return {(n, labels.get('job') or labels.get('target') or ''): v
            for n, _, labels, v in metrics.samples(doc)}


def test_values_are_the_status_snapshot(env, tmp_path):
    """Each job and target metric is the value status --json shows, times in Unix seconds."""
    proc, cfg, errors = env
    errors.extend([None, TemporaryError('receiver down (test)')])
    proc.run(now=T('2026-11-22 01:00'))            # 20th delivered, 21st pending
    outbox = tmp_path / 'state' / 'outbox' / 'spare'
    outbox.mkdir(parents=True)
    (outbox / 'a.csv').write_text('x')
    os.utime(outbox / 'a.csv', (1795000000, 1795000000))
    (outbox / 'b.csv').write_text('x')
    doc = snapshot.collect(cfg, T('2026-11-22 02:00'), runtime_dir=str(tmp_path / 'run'))
    v = values(doc)
    job = doc['jobs']['daily']
    assert v[('cstbox_export_pending_windows', 'daily')] == job['pending'] == 1
    assert v[('cstbox_export_oldest_pending_seconds', 'daily')] == T('2026-11-21 00:00').timestamp()
    assert v[('cstbox_export_watermark_seconds', 'daily')] == T('2026-11-22 00:00').timestamp()
    assert v[('cstbox_export_last_success_seconds', 'daily')] == T('2026-11-22 01:00').timestamp()
    assert v[('cstbox_export_last_error_seconds', 'daily')] == T('2026-11-22 01:00').timestamp()
    assert v[('cstbox_export_dead_letters', 'daily')] == 0
    assert v[('cstbox_export_last_delivery_events', 'daily')] == 144
    delivery = job['last_delivery']
    assert v[('cstbox_export_last_delivery_bytes', 'daily')] == (
        delivery['bytes'] if delivery else 0)
    assert v[('cstbox_export_period_seconds', 'daily')] == 86400
    assert v[('cstbox_export_outbox_files', 'spare')] == 2
    assert v[('cstbox_export_outbox_oldest_seconds', 'spare')] == 1795000000
    assert v[('cstbox_export_outbox_files', 'usb')] == 0          # 0 when empty, not absent
    assert v[('cstbox_export_outbox_oldest_seconds', 'usb')] == 0
    assert v[('cstbox_export_daemon_up', '')] == 0
    assert v[('cstbox_export_daemon_start_time_seconds', '')] == 0


def test_dead_letters_counted_per_job(env, tmp_path):
    """A permanent failure shows as a dead letter of its job and a last error time."""
    proc, cfg, errors = env
    errors.append(PermanentError('403 (test)'))
    proc.run(now=T('2026-11-21 01:00'))
    doc = snapshot.collect(cfg, T('2026-11-21 02:00'), runtime_dir=str(tmp_path / 'run'))
    v = values(doc)
    assert v[('cstbox_export_dead_letters', 'daily')] == len(doc['jobs']['daily']['dead_letters']) == 1
    assert v[('cstbox_export_pending_windows', 'daily')] == 0
    assert v[('cstbox_export_last_error_seconds', 'daily')] == T('2026-11-21 01:00').timestamp()
    assert v[('cstbox_export_last_success_seconds', 'daily')] == 0


def test_names_units_and_labels():
    """Names are cstbox_export_*, times end in _seconds, labels are site/job/target only."""
    doc = {'site': 's', 'daemon': {'running': True, 'started': '2026-11-28T10:00:00Z'},
           'jobs': {'j': {'pending': 0, 'dead_letters': [], 'problems': [], 'period': '1h'}},
           'outbox': {'t': {'pending': 0, 'dead_letters': []}}}
    out = metrics.samples(doc)
    names = {n for n, _, _, _ in out}
    for n, text, labels, value in out:
        assert n.startswith('cstbox_export_') and text and isinstance(value, (int, float))
        assert set(labels) <= {'site', 'job', 'target'} and labels['site'] == 's'
    assert {'cstbox_export_watermark_seconds', 'cstbox_export_oldest_pending_seconds',
            'cstbox_export_last_success_seconds', 'cstbox_export_last_error_seconds',
            'cstbox_export_daemon_start_time_seconds'} <= names
    assert dict(((n, v) for n, _, _, v in out))['cstbox_export_daemon_start_time_seconds'] == \
        T('2026-11-28 10:00').timestamp()
    import prometheus_client
    text = prometheus_client.generate_latest(metrics.registry(doc, prometheus_client)).decode()
    assert 'cstbox_export_info{site="s",version="%s"} 1.0' % metrics.__version__ in text


def count_writes(monkeypatch, folder):
    """A list that gets every file opened for writing under ``folder``."""
    opened = []
    real_open, real_os_open = builtins.open, os.open
    folder = os.path.realpath(folder)

    def watching_open(file, mode='r', *a, **k):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in 'wax+') \
                and os.path.realpath(file).startswith(folder):
            opened.append(os.fspath(file))
        return real_open(file, mode, *a, **k)

    def watching_os_open(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR) and os.path.realpath(path).startswith(folder):
            opened.append(os.fspath(path))
        return real_os_open(path, flags, *a, **k)
    monkeypatch.setattr(builtins, 'open', watching_open)
    monkeypatch.setattr(os, 'open', watching_os_open)
    return opened


def test_textfile_written_only_when_a_value_changed(env, tmp_path, monkeypatch):
    """The file is written when a value changed, never when nothing did (flash)."""
    proc, cfg, _ = env
    folder = tmp_path / 'node-exporter'
    folder.mkdir()
    tf = metrics.Textfile(str(folder / 'cstbox_export.prom'))
    opened = count_writes(monkeypatch, folder)
    take = lambda t: snapshot.collect(cfg, t, runtime_dir=str(tmp_path / 'run'))  # noqa: E731
    assert tf.update(take(T('2026-11-21 01:00'))) is True
    assert len(opened) == 1 and os.listdir(folder) == ['cstbox_export.prom']
    inode = os.stat(folder / 'cstbox_export.prom').st_ino
    for hour in range(2, 6):                       # idle: the snapshot's "now" moves only
        assert tf.update(take(T('2026-11-21 %02d:00' % hour))) is False
    assert len(opened) == 1 and tf.writes == 1
    assert os.stat(folder / 'cstbox_export.prom').st_ino == inode
    proc.run(now=T('2026-11-21 06:00'))             # a window delivered: values change
    assert tf.update(take(T('2026-11-21 06:00'))) is True
    assert len(opened) == 2 and tf.writes == 2
    assert os.listdir(folder) == ['cstbox_export.prom']        # no temporary file left


def test_another_writers_identical_file_is_not_rewritten(env, tmp_path):
    """The comparison is with the file, not with what this writer wrote last."""
    _, cfg, _ = env
    path = tmp_path / 'cstbox_export.prom'
    doc = snapshot.collect(cfg, T('2026-11-21 01:00'), runtime_dir=str(tmp_path / 'run'))
    assert metrics.Textfile(str(path)).update(doc) is True
    assert metrics.Textfile(str(path)).update(doc) is False


def test_without_prometheus_client_metrics_are_off_with_one_warning(env, tmp_path, monkeypatch,
                                                                    caplog):
    """Without python3-prometheus-client nothing is written and one warning says why."""
    _, cfg, _ = env
    monkeypatch.setitem(sys.modules, 'prometheus_client', None)      # import fails
    monkeypatch.setattr(metrics, '_warned', False)
    doc = snapshot.collect(cfg, T('2026-11-21 01:00'), runtime_dir=str(tmp_path / 'run'))
    path = tmp_path / 'cstbox_export.prom'
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.process.metrics'):
        assert metrics.Textfile(str(path)).update(doc) is False
        assert metrics.Textfile(str(path)).update(doc) is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and 'python3-prometheus-client' in warnings[0]
    assert not path.exists()


def test_unwritable_textfile_warns_once_and_leaves_nothing(env, tmp_path, caplog):
    """A textfile that cannot be written is one warning, not an error of the run."""
    _, cfg, _ = env
    doc = snapshot.collect(cfg, T('2026-11-21 01:00'), runtime_dir=str(tmp_path / 'run'))
    tf = metrics.Textfile(str(tmp_path / 'missing-dir' / 'cstbox_export.prom'))
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.process.metrics'):
        assert tf.update(doc) is False and tf.update(doc) is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and 'missing-dir' in warnings[0], warnings


def test_textfile_readable_by_node_exporter_whatever_the_umask(env, tmp_path):
    """node_exporter (user prometheus) can read the file even when the writer's umask is 077."""
    _, cfg, _ = env
    doc = snapshot.collect(cfg, T('2026-11-21 01:00'), runtime_dir=str(tmp_path / 'run'))
    path = tmp_path / 'cstbox_export.prom'
    old = os.umask(0o077)
    try:
        assert metrics.Textfile(str(path)).update(doc) is True
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o444 == 0o444
