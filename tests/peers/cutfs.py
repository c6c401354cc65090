"""A FUSE file system that loses, at a power cut, everything that was not made durable.

``cutfs`` loads a backing directory into memory at mount and serves it at a mount point.
Every change is seen at once through the mount (the page cache of a live box), but only
what was made durable survives a *cut*:

- a file's data and mode are durable once ``fsync`` of the file returned;
- a directory's names (create, mkdir, rename in or out, unlink, rmdir) are durable once
  ``fsync`` of that directory returned; a name made durable for a file whose data never
  was gives an empty file; a rename between two folders is durable in each folder
  separately (the strict POSIX reading: no journal makes the two atomic).

That is LazyFS's model of data plus the part LazyFS leaves out: the names
(``model='lazyfs'`` makes every name change durable at once, as LazyFS does: a cut then
shows what the strict model can hide, e.g. a letter whose folder would vanish).  At a cut the
file system stops (every later request fails with EIO), the process whose request
reached the cut point is killed (SIGKILL), and at exit the *durable* state is written
back to the backing directory; a clean stop writes the live state (an unmount syncs all).

Cut points: the N-th of the counted operations (default ``fsync``, ``fsyncdir``,
``rename``: the points where a crash-consistency protocol takes a step), counted from
the mount, after the operation is applied.  ``--cut-at 0`` never cuts by itself: a run
gives the count (``report``) so that a sweep can cut at every point 1..count; SIGHUP
cuts at once.  The report (JSON) also holds bytes written and fsyncs (flash wear).

Usage (the test side, :class:`CutFS`)::

    with CutFS(backing, mountpoint, cut_at=7) as fs:
        subprocess.run([... a command writing under mountpoint ...])
    fs.report   # {'counted': 12, 'cut': True, 'cut_op': 'fsync state/backlog/..', ...}

Run as root (``/dev/fuse``); needs Debian's python3-llfuse.  Each request is served by
one thread, in order, so a cut point is deterministic for a deterministic scenario.
"""

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

COUNTED = ('fsync', 'fsyncdir', 'rename')
#: strict: names durable at fsync of their directory; lazyfs: at once (LazyFS's model)
MODELS = ('strict', 'lazyfs')


def available():
    """'' when a CutFS can be mounted here, else the reason why not (a test skips)."""
    try:
        import llfuse   # noqa: F401
    except ImportError:
        return 'python3-llfuse is not installed (.ci/install-deps)'
    if not os.path.exists('/dev/fuse'):
        return '/dev/fuse is missing'
    if os.geteuid() != 0:
        return 'mounting a FUSE file system needs root here'
    return ''


class CutFS:
    """The peer in a child process (see module docstring); a context manager."""

    def __init__(self, backing, mountpoint, cut_at=0, counted=COUNTED, timeout=20,
                 model='strict'):
        self.backing, self.mountpoint = str(backing), str(mountpoint)
        self.cut_at, self.counted, self.timeout = cut_at, counted, timeout
        self.model = model
        self.report_path = self.mountpoint.rstrip('/') + '.report.json'
        self.proc = None
        self.report = None

    def start(self):
        os.makedirs(self.backing, exist_ok=True)
        os.makedirs(self.mountpoint, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.report_path)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=root)
        self.proc = subprocess.Popen(
            ['/usr/bin/python3', '-m', 'tests.peers.cutfs', self.backing, self.mountpoint,
             '--cut-at', str(self.cut_at), '--counted', ','.join(self.counted),
             '--report', self.report_path, '--model', self.model], env=env, cwd=root)
        deadline = time.monotonic() + self.timeout
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._kill()
                raise RuntimeError('cutfs did not mount %s' % self.mountpoint)
            time.sleep(0.02)
        return self

    def cut(self):
        """Power cut now: the unsynced changes are dropped; the durable state is written back."""
        return self.stop(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM):
        """Stop (clean: everything is written back, unless a cut happened) and unmount."""
        if self.proc is None:
            return self.report
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        self.proc = None
        with open(self.report_path) as f:
            self.report = json.load(f)
        return self.report

    def _kill(self):
        self.proc.kill()
        self.proc.wait()
        subprocess.run(['fusermount', '-u', '-z', self.mountpoint], capture_output=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- the file system (child process) -------------------------------------------------------

def serve(backing, mountpoint, cut_at, counted, report, model='strict'):
    import llfuse

    class Node:
        __slots__ = ('ino', 'kind', 'mode', 'data', 'entries', 'target', 'mtime', 'nlink',
                     'path')

        def __init__(self, ino, kind, mode, path):
            self.ino, self.kind, self.mode, self.path = ino, kind, mode, path
            self.data = bytearray() if kind == 'file' else None
            self.entries = {} if kind == 'dir' else None
            self.target = None
            self.mtime = time.time_ns()
            self.nlink = 1

    class FS(llfuse.Operations):
        def __init__(self):
            super().__init__()
            self.nodes = {}
            self.next_ino = llfuse.ROOT_INODE + 1
            self.fhs = {}
            self.next_fh = 1
            self.dead = False
            self.stats = {'counted': 0, 'cut': False, 'cut_op': None, 'bytes_written': 0,
                          'ops': {}, 'points': []}
            root = Node(llfuse.ROOT_INODE, 'dir', stat.S_IFDIR | 0o755, '')
            self.nodes[root.ino] = root
            self.dur_entries, self.dur_data, self.dur_mode = {}, {}, {}
            self._load(backing, root)
            self._make_durable(root.ino)

        # -- model ----------------------------------------------------------------
        def _new(self, kind, mode, path):
            n = Node(self.next_ino, kind, mode, path)
            self.next_ino += 1
            self.nodes[n.ino] = n
            return n

        def _load(self, folder, node):
            for name in sorted(os.listdir(folder)):
                p = os.path.join(folder, name)
                st = os.lstat(p)
                path = os.path.join(node.path, name)
                if stat.S_ISDIR(st.st_mode):
                    child = self._new('dir', st.st_mode, path)
                    self._load(p, child)
                elif stat.S_ISLNK(st.st_mode):
                    child = self._new('link', st.st_mode, path)
                    child.target = os.readlink(p).encode()
                elif stat.S_ISREG(st.st_mode):
                    child = self._new('file', st.st_mode, path)
                    with open(p, 'rb') as f:
                        child.data = bytearray(f.read())
                else:
                    continue
                child.mtime = st.st_mtime_ns
                node.entries[name.encode()] = child.ino

        def _make_durable(self, ino):
            n = self.nodes[ino]
            self.dur_mode[ino] = n.mode
            if n.kind == 'dir':
                self.dur_entries[ino] = dict(n.entries)
                for child in n.entries.values():
                    self._make_durable(child)
            elif n.kind == 'file':
                self.dur_data[ino] = bytes(n.data)

        def _dump(self, folder, ino, durable, seen):
            if ino in seen:
                return
            seen.add(ino)
            entries = self.dur_entries.get(ino, {}) if durable else self.nodes[ino].entries
            for name, cino in sorted(entries.items()):
                c = self.nodes[cino]
                p = os.path.join(folder, os.fsdecode(name))
                mode = (self.dur_mode.get(cino, c.mode) if durable else c.mode) & 0o7777
                if c.kind == 'dir':
                    os.mkdir(p)
                    self._dump(p, cino, durable, seen)
                elif c.kind == 'link':
                    os.symlink(c.target, p)
                    continue
                else:
                    with open(p, 'wb') as f:
                        f.write(self.dur_data.get(cino, b'') if durable else bytes(c.data))
                os.chmod(p, mode)
                os.utime(p, ns=(c.mtime, c.mtime))

        def write_back(self, folder, durable):
            for name in os.listdir(folder):
                p = os.path.join(folder, name)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                else:
                    os.unlink(p)
            self._dump(folder, llfuse.ROOT_INODE, durable, set())

        def _point(self, op, node, name=b''):
            """Count an operation; at the cut point: kill the caller, stop serving."""
            self.stats['ops'][op] = self.stats['ops'].get(op, 0) + 1
            if op not in counted:
                return
            self.stats['counted'] += 1
            what = '%s %s' % (op, os.path.join(node.path, os.fsdecode(name)))
            if len(self.stats['points']) < 10000:
                self.stats['points'].append(what)
            if cut_at and self.stats['counted'] == cut_at:
                self.stats['cut'], self.stats['cut_op'] = True, what
                self.dead = True
                with contextlib.suppress(OSError):
                    os.kill(llfuse_ctx[0].pid, signal.SIGKILL)
                raise llfuse.FUSEError(errno.EIO)

        def _alive(self, ctx=None):
            if ctx is not None:
                llfuse_ctx[0] = ctx
            if self.dead:
                raise llfuse.FUSEError(errno.EIO)

        def _attr(self, n):
            a = llfuse.EntryAttributes()
            a.st_ino = n.ino
            a.generation = 0
            a.entry_timeout = 0
            a.attr_timeout = 0
            a.st_mode = n.mode
            a.st_nlink = n.nlink
            a.st_uid = os.getuid()
            a.st_gid = os.getgid()
            a.st_rdev = 0
            a.st_size = (len(n.data) if n.kind == 'file' else
                         len(n.target) if n.kind == 'link' else 4096)
            a.st_blksize = 4096
            a.st_blocks = (a.st_size + 511) // 512
            a.st_atime_ns = a.st_mtime_ns = a.st_ctime_ns = n.mtime
            return a

        def _dir(self, ino):
            n = self.nodes[ino]
            if n.kind != 'dir':
                raise llfuse.FUSEError(errno.ENOTDIR)
            return n

        def _child(self, parent, name):
            d = self._dir(parent)
            if name == b'.':
                return d
            if name == b'..':
                return self.nodes[llfuse.ROOT_INODE]   # only used for path walks
            try:
                return self.nodes[d.entries[name]]
            except KeyError:
                raise llfuse.FUSEError(errno.ENOENT) from None

        # -- requests -----------------------------------------------------------------
        def lookup(self, parent, name, ctx):
            self._alive(ctx)
            return self._attr(self._child(parent, name))

        def getattr(self, ino, ctx):
            self._alive(ctx)
            return self._attr(self.nodes[ino])

        def setattr(self, ino, attr, fields, fh, ctx):
            self._alive(ctx)
            n = self.nodes[ino]
            if fields.update_size:
                if n.kind != 'file':
                    raise llfuse.FUSEError(errno.EISDIR)
                if attr.st_size < len(n.data):
                    del n.data[attr.st_size:]
                else:
                    n.data.extend(b'\0' * (attr.st_size - len(n.data)))
                n.mtime = time.time_ns()
            if fields.update_mode:
                n.mode = (n.mode & ~0o7777) | (attr.st_mode & 0o7777)
            if fields.update_mtime:
                n.mtime = attr.st_mtime_ns
            return self._attr(n)

        def readlink(self, ino, ctx):
            self._alive(ctx)
            return self.nodes[ino].target

        def opendir(self, ino, ctx):
            self._alive(ctx)
            self._dir(ino)
            return self._fh(ino, 0)

        def readdir(self, fh, off):
            self._alive()
            d = self.nodes[self.fhs[fh][0]]
            names = sorted(d.entries)
            for i, name in enumerate(names[off:], off + 1):
                yield name, self._attr(self.nodes[d.entries[name]]), i

        def releasedir(self, fh):
            self.fhs.pop(fh, None)

        def fsyncdir(self, fh, datasync):
            self._alive()
            d = self.nodes[self.fhs[fh][0]]
            self._names_durable(d)
            self._point('fsyncdir', d)

        def _names_durable(self, d):
            self.dur_entries[d.ino] = dict(d.entries)
            self.dur_mode[d.ino] = d.mode
            for cino in d.entries.values():
                c = self.nodes[cino]
                self.dur_mode.setdefault(cino, c.mode)
                if c.kind == 'dir':
                    self.dur_entries.setdefault(cino, {})
                elif c.kind == 'file':
                    self.dur_data.setdefault(cino, b'')

        def _changed(self, *dirs):
            """A name changed in ``dirs``: durable at once in the lazyfs model."""
            if model == 'lazyfs':
                for d in dirs:
                    self._names_durable(d)

        def _fh(self, ino, flags):
            fh = self.next_fh
            self.next_fh += 1
            self.fhs[fh] = (ino, flags)
            return fh

        def _add(self, parent, name, kind, mode):
            d = self._dir(parent)
            if name in d.entries:
                raise llfuse.FUSEError(errno.EEXIST)
            n = self._new(kind, mode, os.path.join(d.path, os.fsdecode(name)))
            d.entries[name] = n.ino
            d.mtime = time.time_ns()
            self._changed(d)
            return n

        def mkdir(self, parent, name, mode, ctx):
            self._alive(ctx)
            n = self._add(parent, name, 'dir', stat.S_IFDIR | (mode & 0o7777))
            self._point('mkdir', self.nodes[parent], name)
            return self._attr(n)

        def create(self, parent, name, mode, flags, ctx):
            self._alive(ctx)
            n = self._add(parent, name, 'file', stat.S_IFREG | (mode & 0o7777))
            self._point('create', self.nodes[parent], name)
            return self._fh(n.ino, flags), self._attr(n)

        def symlink(self, parent, name, target, ctx):
            self._alive(ctx)
            n = self._add(parent, name, 'link', stat.S_IFLNK | 0o777)
            n.target = target
            return self._attr(n)

        def link(self, ino, parent, name, ctx):
            self._alive(ctx)
            d = self._dir(parent)
            if name in d.entries:
                raise llfuse.FUSEError(errno.EEXIST)
            d.entries[name] = ino
            self.nodes[ino].nlink += 1
            self._changed(d)
            return self._attr(self.nodes[ino])

        def open(self, ino, flags, ctx):
            self._alive(ctx)
            return self._fh(ino, flags)

        def read(self, fh, off, size):
            self._alive()
            return bytes(self.nodes[self.fhs[fh][0]].data[off:off + size])

        def write(self, fh, off, buf):
            self._alive()
            ino, flags = self.fhs[fh]
            n = self.nodes[ino]
            if flags & os.O_APPEND:
                off = len(n.data)
            if off > len(n.data):
                n.data.extend(b'\0' * (off - len(n.data)))
            n.data[off:off + len(buf)] = buf
            n.mtime = time.time_ns()
            self.stats['bytes_written'] += len(buf)
            self._point('write', n)
            return len(buf)

        def flush(self, fh):
            self._alive()

        def release(self, fh):
            self.fhs.pop(fh, None)

        def fsync(self, fh, datasync):
            self._alive()
            n = self.nodes[self.fhs[fh][0]]
            if n.kind == 'file':
                self.dur_data[n.ino] = bytes(n.data)
            self.dur_mode[n.ino] = n.mode
            self._point('fsync', n)

        def _remove(self, parent, name, want_dir):
            d = self._dir(parent)
            n = self._child(parent, name)
            if want_dir != (n.kind == 'dir'):
                raise llfuse.FUSEError(errno.EISDIR if n.kind == 'dir' else errno.ENOTDIR)
            if want_dir and n.entries:
                raise llfuse.FUSEError(errno.ENOTEMPTY)
            del d.entries[name]
            n.nlink -= 1
            d.mtime = time.time_ns()
            self._changed(d)

        def unlink(self, parent, name, ctx):
            self._alive(ctx)
            self._remove(parent, name, False)
            self._point('unlink', self.nodes[parent], name)

        def rmdir(self, parent, name, ctx):
            self._alive(ctx)
            self._remove(parent, name, True)
            self._point('rmdir', self.nodes[parent], name)

        def rename(self, pold, nold, pnew, nnew, ctx):
            self._alive(ctx)
            src = self._child(pold, nold)
            dnew = self._dir(pnew)
            old = dnew.entries.get(nnew)
            if old is not None:
                o = self.nodes[old]
                if o.kind == 'dir' and o.entries:
                    raise llfuse.FUSEError(errno.ENOTEMPTY)
                if (o.kind == 'dir') != (src.kind == 'dir'):
                    raise llfuse.FUSEError(errno.EISDIR if o.kind == 'dir' else errno.ENOTDIR)
                o.nlink -= 1
            del self.nodes[pold].entries[nold]
            dnew.entries[nnew] = src.ino
            src.path = os.path.join(dnew.path, os.fsdecode(nnew))
            self.nodes[pold].mtime = dnew.mtime = time.time_ns()
            self._changed(self.nodes[pold], dnew)
            self._point('rename', dnew, nnew)

        def access(self, ino, mode, ctx):
            self._alive(ctx)
            return True

        def statfs(self, ctx):
            s = llfuse.StatvfsData()
            s.f_bsize = s.f_frsize = 4096
            s.f_blocks = s.f_bfree = s.f_bavail = 1 << 20
            s.f_files = s.f_ffree = s.f_favail = 1 << 20
            s.f_namemax = 255
            return s

        def forget(self, inode_list):
            pass

    llfuse_ctx = [None]
    fs = FS()
    opts = set(llfuse.default_options) | {'fsname=cutfs'}
    opts.discard('default_permissions')
    llfuse.init(fs, mountpoint, opts)
    sig = None
    try:
        sig = llfuse.main(workers=1)
    finally:
        if sig == signal.SIGHUP and not fs.stats['cut']:
            fs.stats['cut'], fs.stats['cut_op'] = True, 'SIGHUP after %d' % fs.stats['counted']
            fs.dead = True
        llfuse.close(unmount=True)
        fs.write_back(backing, durable=fs.stats['cut'])
        fs.stats['fsyncs'] = fs.stats['ops'].get('fsync', 0) + fs.stats['ops'].get('fsyncdir', 0)
        with open(report, 'w') as f:
            json.dump(fs.stats, f)


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('backing')
    p.add_argument('mountpoint')
    p.add_argument('--cut-at', type=int, default=0)
    p.add_argument('--counted', default=','.join(COUNTED))
    p.add_argument('--model', choices=MODELS, default='strict')
    p.add_argument('--report', required=True)
    a = p.parse_args(argv)
    serve(a.backing, a.mountpoint, a.cut_at, tuple(a.counted.split(',')), a.report, a.model)


if __name__ == '__main__':
    sys.exit(main())
