"""Dead letters: jobs and files that need a person, in ``state_dir/failed/<group>/``.

A dead letter is the job's entry (``<id>.json``, a backlog entry as is) or an
outbox file, plus ``<id>.error``: a text saying what failed, when, and the
receiver's answer.  ``requeue`` (``take``) gives it back to the backlog.
Dead letters are readable by their owner only (files 0600, directories 0700).
"""

import datetime
import logging
import os
from typing import NamedTuple

from pycstbox.export.atomic import (fsync_dir, list_names, makedirs_durable, makedirs_private,
                                     write_atomic)
from pycstbox.export.backlog import read_entry
from pycstbox.export.transports.filename import printable

log = logging.getLogger(__name__)


class DeadLetter(NamedTuple):
    group: str
    name: str
    path: str
    error_text: str
    when: datetime.datetime


class DeadLetters:
    """The ``failed/`` tree of a state directory."""

    def __init__(self, state_dir):
        self.root = os.path.join(state_dir, 'failed')

    def _dir(self, group):
        return os.path.join(self.root, group)

    def folder(self, group):
        """``failed/<group>/`` (may not exist)."""
        return self._dir(group)

    def free_id(self, group, jobid):
        """``jobid``, or ``jobid.N`` when a dead letter of that id exists already.

        One dead letter never silently replaces another (a gap letter and a window
        dead by age can share the id of their first window); the entry written under
        the returned id carries it, so ``backlog requeue`` takes it back as it is.
        """
        cand, n = jobid, 1
        while os.path.exists(os.path.join(self._dir(group), cand + '.json')):
            n += 1
            cand = '%s.%d' % (jobid, n)
        return cand

    def find_window(self, group, start, end):
        """The id of a dead letter of ``group`` for the window ``start..end``, else None."""
        d = self._dir(group)
        for n in list_names(d):
            if n.endswith('.json') and not n.startswith('.'):
                try:
                    parms = read_entry(os.path.join(d, n))
                except (OSError, ValueError):
                    continue
                if isinstance(parms, dict) and (parms.get('start'), parms.get('end')) == (
                        start, end):
                    return n[:-len('.json')]
        return None

    def write_error(self, group, name, reason, now=None, keep=False):
        """(Re)write the ``.error`` of letter ``name``; ``keep``: not when it has one."""
        path = os.path.join(self._dir(group), name + '.error')
        if keep and os.path.exists(path):
            return
        now = now or datetime.datetime.now(datetime.timezone.utc)
        write_atomic(path, _error_text(reason, now), mode=0o600, skip_unchanged=False)

    def add_file(self, group, src, name, reason, now):
        """Move the file ``src`` in as ``name`` with its ``.error`` text. Returns the new path."""
        d = self._dir(group)
        makedirs_private(d)
        dest = os.path.join(d, name)
        write_atomic(dest + '.error', _error_text(reason, now), mode=0o600, skip_unchanged=False)
        os.replace(src, dest)
        os.chmod(dest, 0o600)
        fsync_dir(d)
        fsync_dir(os.path.dirname(src) or '.')
        log.error('dead letter %s/%s: %s', group, printable(name), reason)
        return dest

    def add_data(self, group, name, data, reason, now):
        """Write ``data`` as the dead letter ``name`` with its ``.error`` text."""
        d = self._dir(group)
        makedirs_private(d)
        dest = os.path.join(d, name)
        # the reason first: a cut leaves no letter, or a letter with its reason
        write_atomic(dest + '.error', _error_text(reason, now), mode=0o600, skip_unchanged=False)
        write_atomic(dest, data, mode=0o600)
        log.error('dead letter %s/%s: %s', group, name, reason)
        return dest

    def list(self, group=None):
        """Every dead letter (of one group), sorted by group then name."""
        groups = [group] if group else list_names(self.root)
        out = []
        for g in groups:
            d = self._dir(g)
            for n in list_names(d):
                if n.endswith('.error') or n.startswith('.'):
                    continue
                p = os.path.join(d, n)
                if not os.path.isfile(p):
                    continue
                try:
                    with open(p + '.error', encoding='utf-8', errors='replace') as f:
                        text = f.read().strip()
                except OSError:
                    text = '(no .error file)'
                when = datetime.datetime.fromtimestamp(os.stat(p).st_mtime, datetime.timezone.utc)
                out.append(DeadLetter(g, n, p, text, when))
        return out

    def take(self, group, name, dest):
        """Move dead letter ``name`` to ``dest`` and drop its ``.error``. KeyError if absent."""
        src = os.path.join(self._dir(group), name)
        if os.path.basename(name) != name or not os.path.isfile(src):
            raise KeyError('%s/%s' % (group, name))
        makedirs_durable(os.path.dirname(dest))
        os.replace(src, dest)
        fsync_dir(os.path.dirname(dest))
        try:
            os.unlink(src + '.error')
        except FileNotFoundError:
            pass
        fsync_dir(self._dir(group))


def _error_text(reason, now):
    return '%s\n%s\n' % (now.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                         reason)
