"""Prometheus metrics for node_exporter's textfile collector (DESIGN section 13).

``samples(doc)`` turns a status snapshot (:func:`pycstbox.export.process.snapshot.collect`,
the ``status --json`` document) into the metric set; :class:`Textfile` writes it to
``[metrics] textfile`` with ``prometheus_client.write_to_textfile`` (a temporary file
renamed over the old one: node_exporter never reads half a file), and only when the
text differs from what the file holds: an idle box never writes to flash.

Every writer (``cbx-export run``, the daemon) writes the whole set.  Names
``cstbox_export_*``, base units (seconds since the epoch, bytes), labels ``site``,
``job`` and ``target`` only; a time that is not known (never delivered, nothing
pending, daemon not running) is 0.

``prometheus_client`` (Debian's python3-prometheus-client, a Recommends) is imported
here only, lazily: without it the metrics are off, with one warning.
"""

import datetime
import logging
import os

from pycstbox.export import __version__
from pycstbox.export.config.duration import parse_duration

log = logging.getLogger(__name__)

PREFIX = 'cstbox_export_'
#: name -> help text; per job (labels site, job)
JOB_METRICS = {
    'watermark_seconds': 'End of the last window put in the backlog (0: none yet).',
    'pending_windows': 'Windows in the backlog, not yet delivered.',
    'oldest_pending_seconds': 'Start of the oldest pending window (0: nothing pending).',
    'dead_letters': 'Windows given up (state_dir/failed/JOB): cbx-export backlog requeue.',
    'last_success_seconds': 'When the last window was delivered or found empty (0: never).',
    'last_error_seconds': 'When the last attempt failed, if no success came after it (else 0).',
    'last_delivery_events': 'Events in the last delivered window (delivery journal).',
    'last_delivery_bytes': 'Size of the file of the last delivered window (delivery journal).',
    'period_seconds': 'Length of the windows of the job.',
    'problems': 'Problems cbx-export status reports for the job (unreadable state or entries).',
}
#: per target (labels site, target)
TARGET_METRICS = {
    'outbox_files': 'Files waiting in the outbox folder of the target.',
    'outbox_oldest_seconds': 'Modification time of the oldest file waiting (0: none).',
    'outbox_dead_letters': 'Outbox files given up (state_dir/failed/TARGET).',
    'target_held': '1 while the target is held after refusing itself (credentials, bucket).',
    'target_next_probe_seconds': 'When a held target is tried again (0: not held).',
}
#: once per box (label site)
SITE_METRICS = {
    'daemon_up': '1 when cbx-exportd runs.',
    'daemon_start_time_seconds': 'When the running cbx-exportd started (0: not running).',
    'state_dir_problem': '1 when the state directory cannot be written (read-only or full).',
}

_warned = False


def seconds(iso):
    """Unix seconds of an ISO 8601 UTC time (``...Z``); 0 for None or unreadable text."""
    if not isinstance(iso, str):
        return 0
    try:
        t = datetime.datetime.fromisoformat(iso.replace('Z', '+00:00'))
    except ValueError:
        return 0
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


def _period(text):
    try:
        return parse_duration(text).total_seconds()
    except (ValueError, TypeError):
        return 0


def samples(doc):
    """``[(name, help, labels, value)]``: the metric set of a status document, in order."""
    site = doc['site']
    out = []
    for name, j in sorted(doc['jobs'].items()):
        success = j.get('last_success') or {}
        error = j.get('last_error') or {}
        delivery = j.get('last_delivery') or {}
        events = delivery.get('events') if delivery else success.get('events')
        values = {
            'watermark_seconds': seconds(j.get('watermark')),
            'pending_windows': j['pending'],
            'oldest_pending_seconds': seconds(j.get('oldest_pending')),
            'dead_letters': len(j['dead_letters']),
            'last_success_seconds': seconds(success.get('at')),
            'last_error_seconds': seconds(error.get('at')),
            'last_delivery_events': events or 0,
            'last_delivery_bytes': delivery.get('bytes') or 0,
            'period_seconds': _period(j.get('period')),
            'problems': len(j['problems']),
        }
        out.extend((PREFIX + k, JOB_METRICS[k], {'site': site, 'job': name}, v)
                   for k, v in values.items())
    for target, o in sorted(doc['outbox'].items()):
        values = {'outbox_files': o['pending'], 'outbox_oldest_seconds': seconds(o.get('oldest')),
                  'outbox_dead_letters': len(o['dead_letters'])}
        held = (doc.get('holds') or {}).get(target)
        values['target_held'] = int(held is not None)
        values['target_next_probe_seconds'] = seconds(held['next_probe']) if held else 0
        out.extend((PREFIX + k, TARGET_METRICS[k], {'site': site, 'target': target}, v)
                   for k, v in values.items())
    daemon = doc['daemon']
    up = bool(daemon.get('running'))
    out.append((PREFIX + 'daemon_up', SITE_METRICS['daemon_up'], {'site': site}, int(up)))
    out.append((PREFIX + 'daemon_start_time_seconds', SITE_METRICS['daemon_start_time_seconds'],
                {'site': site}, seconds(daemon.get('started')) if up else 0))
    out.append((PREFIX + 'state_dir_problem', SITE_METRICS['state_dir_problem'],
                {'site': site}, int(bool(doc.get('state_dir_problem')))))
    return out


def registry(doc, prometheus_client):
    """A CollectorRegistry holding :func:`samples` and ``cstbox_export_info{site,version}``."""
    from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
    families = {}
    for name, text, labels, value in samples(doc):
        fam = families.get(name)
        if fam is None:
            fam = families[name] = GaugeMetricFamily(name, text, labels=list(labels))
        fam.add_metric(list(labels.values()), value)
    info = InfoMetricFamily(PREFIX[:-1], 'cstbox-export version on this site.',
                            labels=['site'])
    info.add_metric([doc['site']], {'version': __version__})

    class Collector:
        def collect(self):
            yield info
            yield from families.values()

    reg = prometheus_client.CollectorRegistry(auto_describe=False)
    reg.register(Collector())
    return reg


def _client():
    """The prometheus_client module, or None (one warning per process)."""
    global _warned
    try:
        import prometheus_client
        import prometheus_client.core          # noqa: F401
    except ImportError:
        if not _warned:
            log.warning('metrics are off: python3-prometheus-client is not installed '
                        '(apt install python3-prometheus-client, or set [metrics] textfile = "")')
            _warned = True
        return None
    return prometheus_client


class Textfile:
    """``[metrics] textfile``: written when the metric text differs from the file's."""

    def __init__(self, path):
        self.path = path
        self.writes = 0
        self._failed = False

    def update(self, doc):
        """Write the metrics of ``doc`` unless the file holds them already; True when written."""
        client = _client() if self.path else None
        if client is None:
            return False
        reg = registry(doc, client)
        text = client.generate_latest(reg)
        try:
            with open(self.path, 'rb') as f:
                if f.read() == text:
                    return False
        except OSError:
            pass
        try:
            client.write_to_textfile(self.path, reg)
            _readable(self.path)
        except OSError as exc:
            self._cleanup()
            if not self._failed:
                log.warning('metrics: cannot write %s: %s ([metrics] textfile)', self.path,
                            exc.strerror or exc)
            self._failed = True
            return False
        if self._failed:
            log.info('metrics: %s written again', self.path)
        self._failed = False
        self.writes += 1
        return True

    def _cleanup(self):
        """Remove what write_to_textfile left behind when it failed (its temporary file)."""
        folder, base = os.path.split(self.path)
        try:
            names = os.listdir(folder or '.')
        except OSError:
            return
        mine = '%s.%d.' % (base, os.getpid())
        for n in names:
            if n.startswith(mine):
                try:
                    os.unlink(os.path.join(folder, n))
                except OSError:
                    pass


def _readable(path):
    """node_exporter runs as another user (prometheus): the file must be readable by all,
    whatever the umask of the writer (write_to_textfile creates it with the umask's mode)."""
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o444 != 0o444:
        os.chmod(path, mode | 0o444)


def check(path):
    """``(ok, line)`` for ``cbx-export check``: where the metrics go, or why they do not."""
    if not path:
        return True, 'metrics: off ([metrics] textfile is "", or unset and %s does not exist)' % (
            '/var/lib/prometheus/node-exporter')
    try:
        import prometheus_client            # noqa: F401
    except ImportError:
        return True, ('metrics: off: python3-prometheus-client is not installed '
                      '(apt install python3-prometheus-client)')
    folder = os.path.dirname(path)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        return False, ('metrics: FAILED: cannot write in %s ([metrics] textfile = "%s"): create '
                       'it, or point textfile at node_exporter\'s --collector.textfile.directory'
                       % (folder, path))
    return True, 'metrics: ok (%s)' % path


def write(config, doc):
    """``cbx-export``'s writer: the metrics of ``doc`` to ``config.metrics.textfile``."""
    return Textfile(config.metrics.textfile).update(doc)
