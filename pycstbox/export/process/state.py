"""Per-job state on flash: ``state_dir/state/<job>.json``.

Holds the watermark (end of the last window put in the backlog) and the last
results (success, error).  Written atomically and only when something changed:
a run that did nothing writes nothing.  A file that cannot be read is moved
aside (``<job>.json.corrupt``), reported, and the job starts again from its
configured ``start`` or the last closed window, which at worst re-enqueues
windows that the receiver will replace (stable names, idempotency keys).
"""

import datetime
import json
import logging
import os

from pycstbox.export.atomic import write_atomic

log = logging.getLogger(__name__)

UTC = datetime.timezone.utc


def _iso(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ') if t else None


def _parse(s):
    if not s:
        return None
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).astimezone(UTC)


class JobState:
    """Watermark and last results of one job (see module docstring)."""

    def __init__(self, state_dir, job, readonly=False):
        """``readonly``: an unreadable file is reported but left where it is (dry runs)."""
        self.path = os.path.join(state_dir, 'state', job + '.json')
        self.job = job
        self.problem = None
        self._readonly = readonly
        self._doc = self._read()
        self._saved = dict(self._doc)

    def _read(self):
        try:
            with open(self.path, 'rb') as f:
                doc = json.loads(f.read().decode('utf-8'))
            if not isinstance(doc, dict):
                raise ValueError('not a JSON object')
            _parse(doc.get('watermark'))
            return doc
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError, TypeError) as exc:
            if self._readonly:
                self.problem = 'state file %s is unreadable (%s)' % (self.path, exc)
                return {}
            aside = self.path + '.corrupt'
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            self.problem = 'state file %s was unreadable (%s); moved to %s' % (
                self.path, exc, aside)
            log.error('job %s: %s', self.job, self.problem)
            return {}

    @property
    def watermark(self):
        return _parse(self._doc.get('watermark'))

    @watermark.setter
    def watermark(self, t):
        self._doc['watermark'] = _iso(t)

    @property
    def last_success(self):
        return self._doc.get('last_success')

    @property
    def last_error(self):
        return self._doc.get('last_error')

    def record_success(self, window_id, now, events, name):
        self._doc['last_success'] = {'at': _iso(now), 'window': window_id, 'events': events,
                                     'file': name}
        self._doc['last_error'] = None

    def record_error(self, window_id, now, message, temporary):
        self._doc['last_error'] = {'at': _iso(now), 'window': window_id, 'message': message,
                                   'temporary': bool(temporary)}

    def as_dict(self):
        return dict(self._doc)

    def save(self):
        """Write the state when it changed (atomic, durable). Returns True when written."""
        if self._doc == self._saved:
            return False
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        data = json.dumps(self._doc, sort_keys=True, indent=1) + '\n'
        write_atomic(self.path, data)
        self._saved = dict(self._doc)
        return True
