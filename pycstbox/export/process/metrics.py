"""Prometheus metrics for node_exporter's textfile collector (DESIGN section 13).

``samples(doc)`` turns a status snapshot (:func:`pycstbox.export.process.snapshot.collect`,
the ``status --json`` document) into the metric set; :class:`Textfile` writes it to
``[metrics] textfile`` atomically and durably (a temporary file, fsync, renamed over the
old one, folder fsync: node_exporter never reads half a file, a power cut never leaves
it empty), and only when the text differs from what the file holds: an idle box never
writes to flash.

Every writer (``cbx-export run``, the daemon) writes the whole set.  Names
``cstbox_export_*``, base units (seconds since the epoch, bytes), labels ``site``,
``job`` and ``target`` only; a time that is not known (never delivered, nothing
pending, daemon not running) is 0.

``prometheus_client`` (Debian's python3-prometheus-client, a Recommends) is imported
here only, lazily: without it the metrics are off, with one warning.
"""

import datetime
import errno
import logging
import os
import stat

from pycstbox.export import __version__
from pycstbox.export.atomic import fsync_dir, list_names, pid_alive
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
#: per target with a byte budget (labels site, target)
BUDGET_METRICS = {
    'budget_bytes': 'Bytes the target may send per budget period (budget = "300KiB/day").',
    'budget_used_bytes': 'Bytes counted against the budget in the current period.',
    'budget_deferred': 'Windows and outbox files waiting for the next budget period.',
}
#: once per box (label site)
SITE_METRICS = {
    'daemon_up': '1 when cbx-exportd runs.',
    'daemon_start_time_seconds': 'When the running cbx-exportd started (0: not running).',
    'state_dir_problem': '1 when the state directory cannot be written (read-only or full).',
    'daemon_restarts': 'Times cbx-exportd replaced itself because a lane stalled, since started.',
}
#: per daemon lane (labels site, lane)
LANE_STALLED = ('lane_stalled', '1 when the daemon lane made no progress past its bound, or '
                'its stall made the daemon restart itself in the last hour.')

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
    for target, b in sorted((doc.get('budgets') or {}).items()):
        values = {'budget_bytes': b['bytes'], 'budget_used_bytes': b['used'],
                  'budget_deferred': b['deferred_windows'] + b['deferred_files']}
        out.extend((PREFIX + k, BUDGET_METRICS[k], {'site': site, 'target': target}, v)
                   for k, v in values.items())
    daemon = doc['daemon']
    up = bool(daemon.get('running'))
    out.append((PREFIX + 'daemon_up', SITE_METRICS['daemon_up'], {'site': site}, int(up)))
    out.append((PREFIX + 'daemon_start_time_seconds', SITE_METRICS['daemon_start_time_seconds'],
                {'site': site}, seconds(daemon.get('started')) if up else 0))
    out.append((PREFIX + 'state_dir_problem', SITE_METRICS['state_dir_problem'],
                {'site': site}, int(bool(doc.get('state_dir_problem')))))
    out.extend(_lanes(doc, site, up))
    return out


def _lanes(doc, site, up):
    """``lane_stalled{lane}`` for each lane of the running daemon, ``daemon_restarts``."""
    daemon = doc['daemon']
    restarted = daemon.get('restarted') if up else None
    restarted = restarted if isinstance(restarted, dict) else {}
    stalled = {s.get('lane') for s in daemon.get('stalled') or () if isinstance(s, dict)}
    recent = bool(restarted.get('at') and doc.get('now')) and \
        seconds(doc['now']) - seconds(restarted['at']) < 3600
    if restarted.get('lane') and recent:
        stalled.add(restarted['lane'])
    lanes = sorted(set(daemon.get('lanes') or ()) | stalled) if up else []
    out = [(PREFIX + LANE_STALLED[0], LANE_STALLED[1], {'site': site, 'lane': lane},
            int(lane in stalled)) for lane in lanes if isinstance(lane, str)]
    count = restarted.get('count')
    out.append((PREFIX + 'daemon_restarts', SITE_METRICS['daemon_restarts'], {'site': site},
                count if isinstance(count, int) and count >= 0 else 0))
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


def preload():
    """Import prometheus_client now: cbx-exportd's main thread, before its lanes start (a
    first import inside a lane can deadlock with another lane's); True when installed."""
    return _client() is not None


class Textfile:
    """``[metrics] textfile``: written when the metric text differs from the file's.

    Written like the rest of the state (:mod:`pycstbox.export.atomic`): a temporary file
    ``.<name>.<pid>.tmp`` created ``O_EXCL|O_NOFOLLOW`` in the same folder, made 0644 on
    its descriptor, written, fsynced, renamed over the file, the folder fsynced: a power
    cut leaves the old text or the new one, never an empty file.  The folder is usually
    writable by another user (prometheus): the file is only ever read through a
    descriptor opened ``O_NOFOLLOW|O_NONBLOCK`` that must be a regular file (bounded
    read), nothing is chmod-ed by path, and a symlink, FIFO or any other non-regular
    file at the path is refused (left alone, nothing written) with one warning.
    """

    def __init__(self, path):
        self.path = path
        self.writes = 0
        self._failed = False
        self._swept = False

    def update(self, doc):
        """Write the metrics of ``doc`` unless the file holds them already; True when written."""
        client = _client() if self.path else None
        if client is None:
            return False
        text = client.generate_latest(registry(doc, client))
        try:
            if not self._swept:             # once: what a cut writer left (names only)
                self._swept = True
                self._sweep(os.path.dirname(self.path) or '.')
            if _holds(self.path, text):
                return False
            self._write(text)
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

    def _tmp(self):
        folder, base = os.path.split(self.path)
        return os.path.join(folder, '.%s.%d.tmp' % (base, os.getpid()))

    def _write(self, text):
        folder = os.path.dirname(self.path) or '.'
        tmp = self._tmp()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:         # left by a killed writer whose pid was ours
            os.unlink(tmp)
            fd = os.open(tmp, flags, 0o600)
        try:
            # node_exporter runs as another user: readable by all whatever the umask
            os.fchmod(fd, 0o644)
            view = memoryview(text)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, self.path)       # replaces a name, never follows a symlink
        fsync_dir(folder)
        self._sweep(folder)

    def _sweep(self, folder):
        """Remove the temporary files of writers that are gone (a power cut, kill -9)."""
        base = os.path.basename(self.path)
        for n in list_names(folder):
            head, _, pid = n[:-len('.tmp')].rpartition('.')
            if head == '.' + base and n.endswith('.tmp') and pid.isdigit() \
                    and not pid_alive(int(pid)):
                try:
                    os.unlink(os.path.join(folder, n))
                except OSError:
                    pass

    def _cleanup(self):
        """Remove this writer's temporary file after a failure."""
        try:
            os.unlink(self._tmp())
        except OSError:
            pass


class NotRegular(OSError):
    """Something else than a regular file (a symlink, a FIFO, a device) at the textfile path."""


def _holds(path, text):
    """True when the regular file ``path`` holds exactly ``text``; False when absent or other.

    :raises NotRegular: a symlink or a non-regular file is there (refused: never written over)
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegular(errno.ELOOP, 'a symbolic link is there: refused (remove it)') \
                from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(errno.EINVAL, 'not a regular file: refused (remove it)')
        if st.st_size != len(text):
            return False
        data = b''
        while len(data) <= len(text):           # bounded: never more than the text + 1
            chunk = os.read(fd, len(text) + 1 - len(data))
            if not chunk:
                break
            data += chunk
        return data == text
    finally:
        os.close(fd)


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
