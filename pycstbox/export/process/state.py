"""Per-job state on flash: ``state_dir/state/<job>.json``.

Holds the watermark (end of the last window put in the backlog), the clock of
the run that set it and a suspected clock jump being held (:mod:`.clock`), and
the last results (success, error).  Every field is validated on read
(:func:`validate`): a file of the wrong shape is treated like invalid JSON.  Written atomically and only when something changed:
a run that did nothing writes nothing.  A file that cannot be read is moved
aside (``<job>.json.corrupt``), reported, and the job starts again from its
configured ``start`` or the last closed window, which at worst re-enqueues
windows that the receiver will replace (stable names, idempotency keys).
"""

import datetime
import json
import logging
import os

from pycstbox.export.atomic import makedirs_durable, write_atomic

log = logging.getLogger(__name__)

UTC = datetime.timezone.utc


def _iso(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ') if t else None


def _parse(s):
    if not s:
        return None
    t = datetime.datetime.fromisoformat(s.replace('Z', '+00:00'))
    if t.tzinfo is None:
        raise ValueError('time %r has no zone' % s)
    return t.astimezone(UTC)


def _time(v, what):
    if v is None:
        return
    if not isinstance(v, str):
        raise ValueError('%s is not a time string' % what)
    _parse(v)


def _record(v, what, fields):
    """``v`` is None or an object whose ``fields`` (name -> check) hold."""
    if v is None:
        return
    if not isinstance(v, dict):
        raise ValueError('%s is not an object' % what)
    for name, check in fields.items():
        if not check(v.get(name)):
            raise ValueError('%s.%s has the wrong type' % (what, name))


def _str_or_none(v):
    return v is None or isinstance(v, str)


def _is_time(v):
    try:
        _time(v, '')
        return True
    except ValueError:
        return False


def validate(doc):
    """Raise ValueError unless ``doc`` has the shape of a state file."""
    if not isinstance(doc, dict):
        raise ValueError('not a JSON object')
    _time(doc.get('watermark'), 'watermark')
    _record(doc.get('last_success'), 'last_success', {
        'at': _is_time, 'window': _str_or_none, 'file': _str_or_none,
        'events': lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))})
    _record(doc.get('last_error'), 'last_error', {
        'at': _is_time, 'window': _str_or_none, 'message': _str_or_none,
        'temporary': lambda v: v is None or isinstance(v, bool)})
    _record(doc.get('clock'), 'clock', {
        'seen': _is_time,
        'jump': lambda v: v is None or (isinstance(v, list) and len(v) == 2
                                        and all(isinstance(x, str) and _is_time(x) for x in v))})


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
            validate(doc)
            return doc
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError, TypeError, RecursionError) as exc:
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
    def clock_seen(self):
        """The clock of the run that last advanced the watermark (None: not known)."""
        return _parse((self._doc.get('clock') or {}).get('seen'))

    @property
    def jump(self):
        """``(from, to)`` of a suspected clock jump being held, or None."""
        j = (self._doc.get('clock') or {}).get('jump')
        return (_parse(j[0]), _parse(j[1])) if j else None

    def set_clock(self, seen=None, jump=None):
        """Keep the clock that advanced the watermark and the jump being held (or None)."""
        clock = dict(self._doc.get('clock') or {})
        if seen is not None:
            clock['seen'] = _iso(seen)
        clock['jump'] = [_iso(jump[0]), _iso(jump[1])] if jump else None
        if not clock['jump']:
            del clock['jump']
        self._doc['clock'] = clock or None
        if self._doc['clock'] is None:
            del self._doc['clock']

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
        makedirs_durable(os.path.dirname(self.path))
        data = json.dumps(self._doc, sort_keys=True, indent=1) + '\n'
        write_atomic(self.path, data)
        self._saved = dict(self._doc)
        return True
