"""Held targets: a target that refuses itself (errors.py: ``scope='target'``) waits.

When a transport's :class:`~pycstbox.export.errors.PermanentError` has
``scope == 'target'`` (credentials refused, bucket missing, login refused...), the
file or window that met it is not dead-lettered: the target is *held*.  Its outbox
files and its jobs' windows stay pending; nothing is tried on it until its next
probe, when one file or window is tried again: a success releases the hold, a
refusal doubles the wait (:data:`PROBE`: 60 s, 120 s, ... up to an hour).  A
refusal of one file (``scope == 'file'``: 413, 400 on the content) stays that
file's dead letter.

The holds are volatile state, in ``<runtime_dir>/holds.json`` (a tmpfs: no flash
write per attempt), shared by the daemon's lanes and ``cbx-export run`` under a
flock of ``holds.lock``; written only when a hold starts, is extended or ends.
After a reboot the first attempt finds out again.  ``CBX_EXPORT_HOLD_PROBE``
(seconds, tests) replaces the first wait of 60 s.
"""

import datetime
import fcntl
import json
import logging
import os

from pycstbox.export.atomic import write_atomic
from pycstbox.export.process.retry import Retry

log = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def _first_probe(default=60.0):
    try:
        value = float(os.environ.get('CBX_EXPORT_HOLD_PROBE', default))
    except ValueError:
        return default
    return value if 0 < value <= default else default


#: wait before the next probe of a held target, by the number of refusals in a row
PROBE = Retry(base=_first_probe(), factor=2.0, max_backoff=3600.0, jitter=0.1)


def _iso(t):
    return t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except (AttributeError, ValueError):
        return None


def is_target_refusal(exc):
    """True for a permanent refusal of the target itself (hold it, do not dead-letter)."""
    return (exc is not None and not getattr(exc, 'temporary', True)
            and getattr(exc, 'scope', 'file') == 'target')


class Holds:
    """The held targets of one runtime directory (see module docstring)."""

    def __init__(self, runtime_dir):
        self.path = os.path.join(runtime_dir, 'holds.json')
        self._lock_path = os.path.join(runtime_dir, 'holds.lock')

    def read(self):
        """{target: {'reason', 'since', 'next_probe', 'refusals'}} (empty when unreadable)."""
        try:
            with open(self.path, 'rb') as f:
                doc = json.loads(f.read())
        except (OSError, ValueError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {k: v for k, v in doc.items() if isinstance(v, dict)
                and isinstance(v.get('reason'), str) and _time(v.get('since'))
                and _time(v.get('next_probe'))}

    def get(self, target):
        return self.read().get(target)

    def may_try(self, target, now):
        """True when ``target`` is not held, or its next probe is due at ``now``."""
        h = self.get(target)
        return h is None or _time(h['next_probe']) <= now

    def next_probe(self, target):
        h = self.get(target)
        return _time(h['next_probe']) if h else None

    def hold(self, target, reason, now):
        """Hold ``target`` (or extend its hold) after a refusal; returns the hold."""
        def change(doc):
            h = doc.get(target) or {'since': _iso(now), 'refusals': 0}
            refusals = int(h.get('refusals') or 0) + 1
            wait = PROBE.backoff(refusals)
            h = dict(h, reason=' '.join(str(reason).split())[:500], refusals=refusals,
                     next_probe=_iso(now + datetime.timedelta(seconds=wait)))
            doc[target] = h
            return h
        h = self._update(change)
        log.warning('target %s held: %s; its files and windows wait; next probe at %s',
                    target, h['reason'], h['next_probe'])
        return h

    def probe_now(self, target, now):
        """A person fixed the cause: the next attempt on ``target`` is a probe, now."""
        if target not in self.read():
            return
        def change(doc):
            if target in doc:
                doc[target]['next_probe'] = _iso(now)
        self._update(change)

    def release(self, target):
        """End the hold of ``target`` (no write when it was not held)."""
        if target not in self.read():
            return
        self._update(lambda doc: doc.pop(target, None))
        log.info('target %s accepts again: hold released', target)

    def _update(self, change):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            doc = self.read()
            result = change(doc)
            write_atomic(self.path, json.dumps(doc, indent=1, sort_keys=True) + '\n',
                         durable=False, skip_unchanged=False)
            return result
        finally:
            os.close(fd)


def hold_text(h):
    """'target held: REASON (since T, next probe T)' for status and last_error."""
    return 'target held: %s (since %s, next probe %s)' % (h['reason'], h['since'],
                                                          h['next_probe'])
