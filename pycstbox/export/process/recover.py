"""What a run or a requeue cut short (power cut, kill -9) left half done, made whole.

Every step that moves a window between the backlog, the spool and the dead letters is
ordered so that a cut leaves one of few states, each read truthfully here, under the run
lock, at the start of the next run (:func:`recover_job`):

- **dead-lettering** (:meth:`pycstbox.export.process.runner.Runner._dead_letter`): the
  letter (``failed/<job>/<letter>.json`` and its ``.error``) is written first, then the
  window's files move next to it, then the backlog entry goes.  A letter whose window is
  also pending is such a cut: the dead-lettering is finished (files moved, entry
  removed), never left as a *ghost* letter beside a window that is delivered later;
- **requeue** (:func:`requeue`): the entry is written back to the backlog first (the
  letter still there: a cut undoes the requeue, the technician runs it again), then the
  kept files move to the spool, then the letter goes;
- in ``failed/<job>/``: temporary files of writers that are gone are removed, an
  ``.error`` without its letter goes, a letter without its ``.error`` gets one saying
  that the reason was lost, and a kept file without its letter is adopted by the pending
  entry of its window (moved to the spool) or stays visible in ``status`` with an
  ``.error`` saying so: the only copy of a window is never deleted.
"""

import logging
import os
import re

from pycstbox.export.atomic import fsync_dir, list_names, makedirs_private, remove_stale_temps
from pycstbox.export.backlog import read_entry
from pycstbox.export.process.artifact import owner

log = logging.getLogger(__name__)

LOST_REASON = ('the reason of this dead letter was lost: the run that wrote it was cut short '
               '(power cut?); see the log of that time')


def _letters(d):
    """{letter id: parms or None} of the ``<id>.json`` letters in folder ``d``."""
    out = {}
    for n in list_names(d):
        if n.endswith('.json') and not n.startswith('.'):
            try:
                out[n[:-len('.json')]] = read_entry(os.path.join(d, n))
            except (OSError, ValueError):
                out[n[:-len('.json')]] = None
    return out


def _window(parms):
    return (parms.get('start'), parms.get('end')) if isinstance(parms, dict) else None


def _move(src, dest):
    """Move a file between folders, durable in the destination first (a cut leaves two
    names for one file, never none)."""
    makedirs_private(os.path.dirname(dest))
    os.replace(src, dest)
    fsync_dir(os.path.dirname(dest))
    fsync_dir(os.path.dirname(src))


def tidy_group(dead, group):
    """``failed/<group>/``: temporary files of writers that are gone and ``.error`` files
    without their letter removed; a letter without ``.error`` gets one.  Returns the
    names of the letters whose ``.error`` was written."""
    d = dead.folder(group)
    changed = bool(remove_stale_temps(d))
    names = list_names(d)
    regenerated = []
    for n in names:
        if n.endswith('.error') and n[:-len('.error')] not in names:
            _unlink(os.path.join(d, n))
            changed = True
    if changed:
        fsync_dir(d)
    for n in names:
        if n.startswith('.') or n.endswith('.error') or n + '.error' in names \
                or not os.path.isfile(os.path.join(d, n)):
            continue
        dead.write_error(group, n, LOST_REASON)
        regenerated.append(n)
    return regenerated


def recover_job(dead, backlog, spool_dir, job):
    """Make ``failed/<job>/``, the backlog and the spool of ``job`` agree (module docstring).

    Call it under the run lock.  Returns lines saying what was done (also logged).
    """
    done = []
    d = dead.folder(job)
    if not os.path.isdir(d):
        return done
    letters = _letters(d)
    pending = dict(backlog.items())
    by_window = {_window(p): jid for jid, p in pending.items() if _window(p)}
    for letter, lp in sorted(letters.items()):
        jid = by_window.get(_window(lp)) if lp is not None else None
        if jid is None:
            continue
        # a dead-lettering (or a requeue) was cut short: the letter is the decision
        moved = False
        for n in list_names(spool_dir):
            if owner(n) != jid or n.startswith('.'):
                continue
            src, dest = os.path.join(spool_dir, n), os.path.join(d, letter + n[len(jid):])
            if os.path.exists(dest):            # moved already, its old name came back
                _unlink(src)
                moved = True
            else:
                _move(src, dest)
        if moved:
            fsync_dir(spool_dir)
        try:
            del backlog[jid]
        except KeyError:
            pass
        del pending[jid]
        done.append('job %s: window %s was being dead-lettered (or requeued) when a run '
                    'stopped: it is dead-lettered as %s' % (job, jid, letter))
    for n in list_names(d):
        if n.startswith('.') or n.endswith(('.json', '.error')) \
                or not os.path.isfile(os.path.join(d, n)) or owner(n) in letters:
            continue
        wid = owner(n)
        if not WINDOW_ID.fullmatch(wid):
            continue                    # not a window's file (an outbox letter of a namesake)
        if wid in pending:
            # the kept file of a requeue cut short: its pending window takes it back
            dest = os.path.join(spool_dir, n)
            if not os.path.exists(dest):
                _move(os.path.join(d, n), dest)
                backlog[wid] = dict(pending[wid], artifact=n)
            else:
                _unlink(os.path.join(d, n))
            _unlink(os.path.join(d, n + '.error'))
            fsync_dir(d)
            done.append('job %s: kept file %s went back to its pending window' % (job, n))
        elif not os.path.exists(os.path.join(d, n + '.error')):
            dead.write_error(job, n, 'kept file of window %s without its dead letter: %s'
                             % (wid, ORPHAN_HINT))
            done.append('job %s: kept file %s has no dead letter: left in failed/' % (job, n))
    for n in tidy_group(dead, job):
        done.append('job %s: dead letter %s had no .error: one was written' % (job, n))
    for line in done:
        log.warning('%s', line)
    return done


#: a window's id: make_jobid's YYMMDDHHMMSS, ``.N`` for a requeued letter
WINDOW_ID = re.compile(r'[0-9]{12}(\.[0-9]+)*')
ORPHAN_HINT = ('it may be the only copy of the window: copy it to the receiver by hand, '
               'then remove it')


def requeue(dead, backlog, spool_dir, job, letter):
    """Give dead letter ``letter`` of ``job`` back to the backlog, with its kept files.

    Order (module docstring): entry, then files, then the letter.  Returns the parms.
    :raises KeyError: no such dead letter
    """
    d = dead.folder(job)
    src = os.path.join(d, letter + '.json')
    if os.path.basename(letter) != letter or not os.path.isfile(src):
        raise KeyError('%s/%s' % (job, letter))
    try:
        parms = read_entry(src, letter)
    except ValueError as exc:
        raise KeyError('%s/%s: %s' % (job, letter, exc)) from None
    parms['attempts'] = 0
    parms.pop('artifact', None)
    kept = [n for n in list_names(d) if owner(n) == letter and not n.startswith('.')
            and not n.endswith(('.json', '.error'))]
    for n in kept:
        parms['artifact'] = n
    backlog[letter] = parms
    for n in kept:
        _move(os.path.join(d, n), os.path.join(spool_dir, n))
    for n in kept:
        _unlink(os.path.join(d, n + '.error'))
    _unlink(src)
    _unlink(src + '.error')
    fsync_dir(d)
    return parms


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
