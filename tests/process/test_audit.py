"""`cbx-export audit` end to end: a week delivered by `run` to real dir, FTP and SFTP receivers,
then damaged three ways; real dbus-daemon + cbx-evtdb for the runs and --deep."""

import datetime
import json
import os
import subprocess
import sys

import pytest

from tests.peers.evtdb import evtdb_bus, generate_days, write_events
from tests.peers.ftp import FtpPeer
from tests.peers.sshd import SshdPeer, sshd_usable

FIRST = datetime.date(2026, 11, 20)          # the job starts a day before the data: empty window
NOW = '2026-11-28T00:30:00Z'                 # windows 19..27 due: 8 days of data + 1 empty


def day_name(day):
    d = datetime.date(2026, 11, day)
    e = d + datetime.timedelta(days=1)
    return 'lyon-b12_week_%sT000000Z_%sT000000Z.csv.gz' % (d.strftime('%Y%m%d'),
                                                             e.strftime('%Y%m%d'))


@pytest.fixture
def store(tmp_path):
    root = tmp_path / 'db'
    generate_days(root, FIRST + datetime.timedelta(days=1), days=7, sensors=3, interval=900)
    with evtdb_bus(tmp_path, root) as address:
        yield root, address


class Local:
    """A receiver whose files are in a local directory (dir, the FTP and SFTP peers)."""

    def __init__(self, target, where):
        self.target, self.where = target, where

    def delete(self, day):
        os.unlink(os.path.join(self.where, day_name(day)))

    def truncate(self, day):
        with open(os.path.join(self.where, day_name(day)), 'r+b') as f:
            f.truncate(100)


class Bucket:
    """An s3 receiver (SeaweedFS), damaged through its own transport."""

    def __init__(self, peer, prefix):
        from tests.peers.seaweedfs import BUCKET, REGION
        ak, sk = peer.identities['gw']
        self.opts = dict(endpoint=peer.endpoint, region=REGION, bucket=BUCKET, prefix=prefix,
                         access_key_id=ak, secret_access_key=sk, timeout=5, connect_timeout=2)
        self.target = 'type = "s3"\n' + ''.join('%s = %s\n' % (k, json.dumps(v))
                                                for k, v in self.opts.items())

    def _transport(self):
        from tests.transports.harness import make
        return make('s3', name='rx', **self.opts)

    def _start(self, day):
        return datetime.datetime(2026, 11, day, tzinfo=datetime.timezone.utc)

    def delete(self, day):
        t = self._transport()
        key = t.remote_key(day_name(day), job='week', start=self._start(day))
        t.request('DELETE', key, ok=(200, 204), what='delete')

    def truncate(self, day):
        t = self._transport()
        with open(self.cut, 'wb') as f:
            f.write(b'x' * 100)
        t.send(self.cut, day_name(day), job='week', start=self._start(day))


@pytest.fixture(params=['dir', 'ftp', 'sftp', 's3'])
def receiver(request, tmp_path):
    """The receiver of the job: its target TOML and how to damage what it holds."""
    if request.param == 'dir':
        out = tmp_path / 'usb'
        out.mkdir()
        yield Local('type = "dir"\npath = "%s"\n' % out, str(out))
    elif request.param == 'ftp':
        with FtpPeer(tmp_path / 'ftp') as peer:
            yield Local('type = "ftp"\nhost = "127.0.0.1"\nport = %d\nuser = "user"\n'
                        'password = "%s"\ntimeout = 10\n' % (peer.port, peer.password),
                        peer.home('user'))
    elif request.param == 'sftp':
        why = sshd_usable()
        if why:
            pytest.skip(why)
        with SshdPeer(tmp_path / 'sshd') as peer:
            yield Local('type = "sftp"\nhost = "127.0.0.1"\nport = %d\nuser = "root"\n'
                        'key_file = "%s"\nknown_hosts = "%s"\ndirectory = "%s"\n'
                        'timeout = 10\n' % (peer.port, peer.client_key, peer.known_hosts,
                                             peer.dir), peer.dir)
    else:
        from tests.peers.seaweedfs import SeaweedPeer, seaweedfs_usable
        why = seaweedfs_usable()
        if why:
            pytest.skip(why)
        with SeaweedPeer(tmp_path / 'weed') as peer:
            bucket = Bucket(peer, 'audit/')
            bucket.cut = str(tmp_path / 'cut')
            yield bucket


def write_cfg(tmp_path, address, target):
    cfg = tmp_path / 'export.toml'
    cfg.write_text('site = "lyon-b12"\nstate_dir = "%s"\n[eventstore]\naddress = "%s"\n'
                   'timeout = 10\n[targets.rx]\n%s[jobs.week]\ntarget = "rx"\nperiod = "1d"\n'
                   'delay = "15m"\nformat = "csv"\ncompress = "gzip"\nstart = "%s"\n'
                   'max_try = 1\n' % (tmp_path / 'state', address, target, FIRST.isoformat()))
    return str(cfg)


def cli(tmp_path, cfg, *args):
    env = dict(os.environ, CBX_EXPORT_NOW=NOW, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    return subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', cfg] + list(args),
                          env=env, capture_output=True, text=True, timeout=60)


def statuses(tmp_path, cfg, *args):
    r = cli(tmp_path, cfg, 'audit', '--json', *args)
    doc = json.loads(r.stdout)
    assert doc['schema'] == 'cstbox-export-audit/1'
    job = doc['jobs']['week']
    return r.returncode, {w['start'][8:10]: w['status'] for w in job['windows']}, job


def test_audit_finds_missing_mismatch_stale_and_repair_heals(tmp_path, store, receiver):
    """Deleted, truncated and late-data windows are told apart; --repair then run heals all."""
    root, address = store
    cfg = write_cfg(tmp_path, address, receiver.target)
    r = cli(tmp_path, cfg, 'run')
    assert r.returncode == 0, r.stderr
    code, st, job = statuses(tmp_path, cfg, '--deep')
    assert code == 0 and set(st.values()) == {'ok'} and len(st) == 8, st
    assert job['windows'][0]['detail'] == 'empty window' and job['windows'][0]['name'] == ''
    assert job['windows'][1]['key'].endswith(day_name(21))

    receiver.delete(22)                                                # lost at the receiver
    receiver.truncate(24)                                              # cut by a full disk
    write_events(root, [(datetime.datetime(2026, 11, 26, 23, 59, 59), 'temperature',
                         'late sensor', 19.5, {'unit': 'degC'})])     # buffered, arrived late

    code, st, _ = statuses(tmp_path, cfg)
    assert code == 1
    assert st == dict({k: 'ok' for k in st}, **{'22': 'missing', '24': 'mismatch'})
    r = cli(tmp_path, cfg, 'audit')
    lines = r.stdout.splitlines()
    assert r.returncode == 1 and len(lines) == 4, r.stdout      # 2 problems, summary, hint
    assert 'MISSING' in lines[0] and day_name(22) in lines[0] and 'MISMATCH' in lines[1], lines
    assert lines[2].startswith('week: 8 window(s) 2026-11-20..2026-11-28, target rx')
    assert '6 ok, 1 missing, 1 mismatch' in lines[2] and '--repair' in lines[3]

    code, st, _ = statuses(tmp_path, cfg, '--deep')
    assert code == 1
    assert st == dict({k: 'ok' for k in st}, **{'22': 'missing', '24': 'mismatch',
                                                '26': 'stale'})

    code, st, job = statuses(tmp_path, cfg, '--deep', '--repair')      # all queued: exit 0
    assert code == 0 and job['repaired'] == ['261122000000', '261124000000', '261126000000']
    r = cli(tmp_path, cfg, 'run')
    assert r.returncode == 0 and '3 delivered' in r.stderr, r.stderr
    code, st, _ = statuses(tmp_path, cfg, '--deep')
    assert code == 0 and set(st.values()) == {'ok'}, st
    r = cli(tmp_path, cfg, 'audit', '-v')
    assert r.returncode == 0 and r.stdout.count(' OK ') == 8


def test_audit_reports_pending_and_dead_and_unverifiable_http(tmp_path, store):
    """An http target cannot be listed (unverifiable, exit 0); pending and dead windows fail."""
    root, address = store
    cfg = tmp_path / 'export.toml'
    write = lambda url: cfg.write_text(  # noqa: E731
        'site = "lyon-b12"\nstate_dir = "%s"\n[eventstore]\naddress = "%s"\n'
        '[targets.web]\ntype = "http"\nurl = "%s"\nmethod = "PUT"\ntimeout = 5\n'
        'connect_timeout = 1\n[jobs.week]\ntarget = "web"\nperiod = "1d"\ndelay = "15m"\n'
        'format = "csv"\nstart = "2026-11-25"\nmax_try = 1\n'
        % (tmp_path / 'state', address, url))
    from tests.peers.http import HttpPeer
    with HttpPeer(tmp_path / 'http') as peer:
        write(peer.url + '/up/{name}')
        peer.behave('status', status=413, body=b'no')
        r = cli(tmp_path, str(cfg), 'run')                             # 3 windows dead
        assert r.returncode == 1
        code, st, _ = statuses(tmp_path, str(cfg))
        assert code == 1 and set(st.values()) == {'dead'} and len(st) == 3
        r = cli(tmp_path, str(cfg), 'backlog', 'requeue', 'week', '261125000000')
        assert r.returncode == 0, r.stderr
        code, st, _ = statuses(tmp_path, str(cfg))
        assert st == {'25': 'pending', '26': 'dead', '27': 'dead'}
        for jid in ('261126000000', '261127000000'):
            assert cli(tmp_path, str(cfg), 'backlog', 'requeue', 'week', jid).returncode == 0
        peer.behave('accept')
        assert cli(tmp_path, str(cfg), 'run').returncode == 0
        code, st, job = statuses(tmp_path, str(cfg))
        assert code == 0 and set(st.values()) == {'unverifiable'}
        assert 'cannot be listed' in job['windows'][0]['detail']


def test_repair_then_run_is_one_command_line(tmp_path, store):
    """The documented `cbx-export audit --deep --repair && cbx-export run` heals a lost window:
    --repair exits 0 once it queued what it found."""
    root, address = store
    out = tmp_path / 'usb'
    out.mkdir()
    cfg = write_cfg(tmp_path, address, 'type = "dir"\npath = "%s"\n' % out)
    assert cli(tmp_path, cfg, 'run').returncode == 0
    Local('', str(out)).delete(22)
    env = dict(os.environ, CBX_EXPORT_NOW=NOW, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run'))
    line = '"$0" -m pycstbox.export -c "$1" audit --deep --repair && ' \
           '"$0" -m pycstbox.export -c "$1" run'
    r = subprocess.run(['sh', '-c', line, sys.executable, cfg], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and '1 delivered' in r.stderr, (r.stdout, r.stderr)
    assert statuses(tmp_path, cfg)[0] == 0


def test_overwrite_false_keeps_a_stale_window_unless_forced(tmp_path, store):
    """On an s3 target with overwrite = false, --repair reports a window whose stored copy
    differs as "cannot be replaced (overwrite = false)", leaves it alone and exits 1 (a
    missing one is still queued); --repair --force-overwrite queues it and the next run
    replaces the stored object: everything ok, nothing dead."""
    from tests.peers.seaweedfs import SeaweedPeer, seaweedfs_usable
    why = seaweedfs_usable()
    if why:
        pytest.skip(why)
    root, address = store
    with SeaweedPeer(tmp_path / 'weed') as peer:
        bucket = Bucket(peer, 'keep/')
        bucket.cut = str(tmp_path / 'cut')
        cfg = write_cfg(tmp_path, address, bucket.target + 'overwrite = false\n')
        assert cli(tmp_path, cfg, 'run').returncode == 0
        bucket.delete(22)
        bucket.truncate(24)                       # through a transport with overwrite = true
        code, st, _ = statuses(tmp_path, cfg)
        assert code == 1 and st['22'] == 'missing' and st['24'] == 'mismatch', st
        r = cli(tmp_path, cfg, 'audit', '--repair')
        assert r.returncode == 1, r.stdout
        assert 'week 261124000000: not queued: cannot be replaced (overwrite = false)' \
            in r.stdout, r.stdout
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0 and '1 delivered' in r.stderr, r.stderr
        code, st, _ = statuses(tmp_path, cfg)
        assert st['22'] == 'ok' and st['24'] == 'mismatch', st       # left alone
        code, st, job = statuses(tmp_path, cfg, '--repair', '--force-overwrite')
        assert code == 0 and job['repaired'] == ['261124000000'], job
        r = cli(tmp_path, cfg, 'run')
        assert r.returncode == 0 and '1 delivered' in r.stderr, r.stderr
        code, st, _ = statuses(tmp_path, cfg)
        assert code == 0 and set(st.values()) == {'ok'}, st


def test_repair_waits_for_no_run(tmp_path):
    """--repair takes the run lock: while a run holds it, audit --repair exits 3 and queues nothing."""
    from pycstbox.export.process.lock import RunLock
    out = tmp_path / 'usb'
    out.mkdir()
    cfg = write_cfg(tmp_path, 'unix:path=/nonexistent', 'type = "dir"\npath = "%s"\n' % out)
    (tmp_path / 'state').mkdir()
    with RunLock(str(tmp_path / 'state')):
        r = cli(tmp_path, cfg, 'audit', '--repair')
    assert r.returncode == 3 and 'holds' in r.stderr, r.stderr
    assert not (tmp_path / 'state' / 'backlog').exists()
    r = cli(tmp_path, cfg, 'audit')
    assert r.returncode == 0 and 'no window to audit' in r.stdout
