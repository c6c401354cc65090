"""``dwh-zip``: the CSTBox data-warehouse upload (DESIGN section 9).

A zip archive (deflate, no directories) holding one ``<name>.tsv`` member per
variable, members in sorted name order, each line::

    2026-11-27T13:45:12Z<TAB>21.5

- Time: UTC, whole seconds (``%Y-%m-%dT%H:%M:%SZ``); lines in event order.
- Value: booleans ``1``/``0`` (the warehouse's convention), ``None`` an empty
  field, int/float as in :mod:`pycstbox.export.formats.base` (``repr()`` for
  floats), strings with the ``tsv`` escapes (``\\\\ \\t \\n \\r``).  Reading back:
  ``base.decode_value(tsv.unescape(field))`` (a boolean comes back as 1/0).
- Member names: :func:`member_name` — the var_name percent-encoded (UTF-8) except
  for ``A-Z a-z 0-9 _ - .``, a leading ``.`` encoded too, the empty name written
  ``~``; names longer than 200 characters are cut and given a ``~`` + hash
  suffix.  So a name holding ``/``, ``..``, NUL or a newline cannot leave the
  archive's top level or hide itself, and two variables never share a member.
  ``urllib.parse.unquote(name[:-4])`` gives the var_name back (except ``~`` and
  cut names).
- Member times are the time of the variable's first event, and the archive is
  always written as to a pipe (sizes in data descriptors, even when the output could
  seek), so the same events always give the same bytes, whatever the output.

Memory stays bounded: lines are buffered per variable up to :data:`BUFFER_BYTES`
in total, then appended to one temporary file per variable under ``tmpdir``
(opened, written and closed each time: no file handle per variable); the
temporary files are removed by ``close()`` (and on error by ``abort()``).
"""

import hashlib
import os
import re
import shutil
import tempfile
import zipfile

from .base import Format, utc, value_text
from .tsv import escape

BUFFER_BYTES = 4 * 1024 * 1024
MAX_NAME = 200
_UNSAFE = re.compile(r'[^A-Za-z0-9_.-]')


def member_name(var_name):
    """The zip member name of a variable: flat, safe and distinct (see the docstring)."""
    if var_name == '':
        return '~.tsv'
    safe = _UNSAFE.sub(lambda m: ''.join('%%%02X' % b for b in m.group().encode('utf-8')),
                       var_name)
    if safe.startswith('.'):
        safe = '%2E' + safe[1:]
    if len(safe) > MAX_NAME:
        digest = hashlib.sha1(var_name.encode('utf-8', 'surrogatepass')).hexdigest()[:16]
        safe = safe[:MAX_NAME - 17] + '~' + digest
    return safe + '.tsv'


def dwh_value(value):
    """A value as written in a member line (booleans 1/0, strings escaped)."""
    if value is True:
        return '1'
    if value is False:
        return '0'
    return escape(value_text(value))


def _zip_time(ts):
    """Zip member time (the zip format holds 1980..2107 only)."""
    return min(max(ts.timetuple()[:6], (1980, 1, 1, 0, 0, 0)), (2107, 12, 31, 23, 59, 58))


class _Stream:
    """``fileobj`` seen as a pipe (no seek): zipfile then writes the same bytes for any output."""

    def __init__(self, fileobj):
        self.write = fileobj.write
        self.flush = getattr(fileobj, 'flush', lambda: None)


class _Series:
    __slots__ = ('member', 'lines', 'size', 'spill', 'first')

    def __init__(self, member, first):
        self.member = member
        self.lines = []
        self.size = 0
        self.spill = None
        self.first = first


class DwhZip(Format):
    name = 'dwh-zip'
    extension = 'zip'
    compressible = False
    compressed_as = 'a compressed zip'

    def __init__(self, fileobj, tmpdir=None):
        Format.__init__(self, fileobj, tmpdir)
        self._series = {}
        self._members = set()
        self._buffered = 0
        self._dir = None

    def write(self, event):
        ts = utc(event.timestamp)
        series = self._series.get(event.var_name)
        if series is None:
            series = self._new_series(event.var_name, ts)
        line = '%sZ\t%s\n' % (ts.isoformat('T', 'seconds')[:19], dwh_value(event.value))
        series.lines.append(line)
        series.size += len(line)
        self._buffered += len(line) + 56      # + the str object overhead
        self.count += 1
        if self._buffered >= BUFFER_BYTES:
            self._spill()

    def _new_series(self, var_name, ts):
        member = member_name(var_name)
        if member in self._members:      # only possible for cut names: add a counter
            n = 2
            while '%s~%d.tsv' % (member[:-4], n) in self._members:
                n += 1
            member = '%s~%d.tsv' % (member[:-4], n)
        self._members.add(member)
        series = self._series[var_name] = _Series(member, ts)
        return series

    def _spill(self):
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix='cbx-dwh-', dir=self._tmpdir)
        for index, series in enumerate(self._series.values()):
            if not series.lines:
                continue
            if series.spill is None:
                series.spill = os.path.join(self._dir, '%d.tsv' % index)
            with open(series.spill, 'ab') as f:
                f.write(''.join(series.lines).encode('utf-8'))
            series.lines.clear()
        self._buffered = 0

    def close(self):
        """Write the zip to the output (which may be a pipe); returns the event count."""
        if self._closed:
            return self.count
        self._closed = True
        try:
            with zipfile.ZipFile(_Stream(self._out), 'w', zipfile.ZIP_DEFLATED) as zf:
                for series in sorted(self._series.values(), key=lambda s: s.member):
                    info = zipfile.ZipInfo(series.member, _zip_time(series.first))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    with zf.open(info, 'w') as member:
                        if series.spill is not None:
                            with open(series.spill, 'rb') as f:
                                shutil.copyfileobj(f, member, 1024 * 1024)
                        member.write(''.join(series.lines).encode('utf-8'))
        finally:
            self.abort()
        return self.count

    def abort(self):
        """Remove the temporary files (also done by ``close()``)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
