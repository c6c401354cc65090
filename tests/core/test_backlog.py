"""The seed Backlog API: mapping behaviour, JSON persistence, safety."""

import datetime
import json
import os
import stat

import pytest

from pycstbox.export import Backlog
from pycstbox.export.backlog import ENTRY_FORMAT


@pytest.fixture
def blog(tmp_path):
    return Backlog('dwh', root=str(tmp_path))


def test_directory_created_with_parents(tmp_path):
    """The backlog directory and its missing parents are created."""
    b = Backlog('jobs', root=str(tmp_path / 'a' / 'b'))
    assert (tmp_path / 'a' / 'b' / 'jobs').is_dir()
    assert b.location == str(tmp_path / 'a' / 'b' / 'jobs')


def test_default_root_is_contract_location():
    """The default root is /var/lib/cstbox/export/backlog."""
    assert Backlog.DEFAULT_LOCATION_ROOT == '/var/lib/cstbox/export/backlog'


def test_unusable_path_is_value_error(tmp_path):
    """A path that is a file is refused with ValueError."""
    (tmp_path / 'f').write_text('x')
    with pytest.raises(ValueError):
        Backlog('x', root=str(tmp_path / 'f'))
    (tmp_path / 'g').mkdir()
    (tmp_path / 'g' / 'x').write_text('file, not dir')
    with pytest.raises(ValueError):
        Backlog('x', root=str(tmp_path / 'g'))


@pytest.mark.parametrize('name', ['', '..', '.', 'a/b', '../x', None])
def test_invalid_backlog_names_refused(tmp_path, name):
    """A backlog name that is empty or not a plain name is refused."""
    with pytest.raises(ValueError):
        Backlog(name, root=str(tmp_path))


def test_set_get_roundtrip(blog):
    """An entry written is read back equal."""
    blog['151104001500'] = {'date': datetime.date(2015, 11, 3)}
    assert blog['151104001500'] == {'date': datetime.date(2015, 11, 3)}


def test_values_roundtrip_exactly(blog):
    """str, int, float, bool, None, lists, dicts, date, naive and aware datetime round-trip."""
    parms = {
        's': 'héllo, "world"\n', 'i': 2 ** 70, 'f': 0.1, 'neg0': -0.0, 'big': 1.7976931348623157e308,
        'b': True, 'n': None, 'l': [1, 'a', [2.5]], 'd': {'x': {'y': 1}},
        'date': datetime.date(2026, 11, 27),
        'naive': datetime.datetime(2026, 11, 27, 13, 45, 12, 123456),
        'aware': datetime.datetime(2026, 11, 27, 13, 45, tzinfo=datetime.timezone.utc),
        'paris': datetime.datetime(2026, 3, 29, 1, 0,
                                   tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
        'tag_lookalike': {'$date': 'not a date'},
    }
    blog['1'] = parms
    got = blog['1']
    assert got == parms
    assert got['aware'].tzinfo is not None and got['naive'].tzinfo is None
    assert type(got['i']) is int and type(got['b']) is bool
    assert str(got['neg0']) == '-0.0'


def test_missing_entry_key_error(blog):
    """Reading or deleting an absent entry raises KeyError."""
    with pytest.raises(KeyError):
        blog['nope']
    with pytest.raises(KeyError):
        del blog['nope']


def test_delete_entry(blog):
    """del removes the entry and its file."""
    blog['a'] = {}
    del blog['a']
    assert 'a' not in blog and blog.is_empty()
    assert not os.listdir(blog.location)


def test_len_and_is_empty(blog):
    """len counts entries; is_empty is True only with none."""
    assert blog.is_empty() and len(blog) == 0
    blog['1'] = {}
    blog['2'] = {}
    assert len(blog) == 2 and not blog.is_empty()


def test_iteration_is_sorted(blog):
    """Iteration yields job ids in sorted (chronological) order."""
    for jid in ['261127000000', '151104001500', '261126000000']:
        blog[jid] = {'id': jid}
    assert list(blog) == ['151104001500', '261126000000', '261127000000']
    assert [k for k, _ in blog.items()] == list(blog)
    assert [v['id'] for _, v in blog.iteritems()] == list(blog)


def test_clear_removes_all_without_shell(blog, monkeypatch):
    """clear() removes every entry and runs no shell command."""
    def boom(*a, **k):
        raise AssertionError('shell used')
    monkeypatch.setattr(os, 'system', boom)
    for i in range(5):
        blog['j%d' % i] = {}
    blog['weird;rm -rf x'.replace(';', '_').replace(' ', '_')] = {}
    blog.clear()
    assert blog.is_empty()


def test_delete_backlog(blog):
    """delete() removes an empty backlog, raises OSError when not empty."""
    blog['1'] = {}
    with pytest.raises(OSError):
        blog.delete()
    del blog['1']
    blog.delete()
    assert not os.path.exists(blog.location)


@pytest.mark.parametrize('jid', ['../x', 'a/b', '', '.', '..', 'x\n', 'a b', '/etc/passwd',
                                 'ok/../../evil', 12, None, b'abc'])
def test_invalid_job_ids_refused(blog, tmp_path, jid):
    """Job ids must fully match [A-Za-z0-9_.-]+ and not be . or .. (defect 4)."""
    with pytest.raises(ValueError):
        blog[jid] = {'x': 1}
    with pytest.raises(ValueError):
        blog[jid]
    with pytest.raises(ValueError):
        del blog[jid]
    assert sorted(os.listdir(tmp_path)) == ['dwh']
    assert os.listdir(blog.location) == []


def test_store_is_json_not_pickle(blog):
    """Entries are JSON documents (defect 2: no pickle)."""
    blog['1'] = {'date': datetime.date(2015, 11, 3)}
    with open(os.path.join(blog.location, '1.json')) as f:
        doc = json.load(f)
    assert doc['format'] == ENTRY_FORMAT and doc['job_id'] == '1'


def test_unchanged_entry_not_rewritten(blog):
    """Storing the same content again does not rewrite the file (flash wear)."""
    blog['1'] = {'a': 1}
    path = os.path.join(blog.location, '1.json')
    ino, mtime = os.stat(path).st_ino, os.stat(path).st_mtime_ns
    blog['1'] = {'a': 1}
    assert (os.stat(path).st_ino, os.stat(path).st_mtime_ns) == (ino, mtime)
    blog['1'] = {'a': 2}
    assert os.stat(path).st_ino != ino


@pytest.mark.parametrize('content', [b'', b'{"format": "cstbox-exp', b'not json at all',
                                     b'[1, 2, 3]', b'{"format": "other", "parms": {}}',
                                     b'\xff\xfe\x00garbage'])
def test_corrupt_entry_set_aside_iteration_goes_on(blog, content, caplog):
    """An unreadable entry is moved to corrupt/, logged, and the others are still read."""
    blog['1'] = {'n': 1}
    blog['3'] = {'n': 3}
    with open(os.path.join(blog.location, '2.json'), 'wb') as f:
        f.write(content)
    got = list(blog.items())
    assert got == [('1', {'n': 1}), ('3', {'n': 3})]
    assert blog.corrupt_entries() == ['2.json']
    assert '2' not in blog and len(blog) == 2
    assert any('2' in r.getMessage() and 'corrupt' in r.getMessage() for r in caplog.records)
    assert blog.corrupted and blog.corrupted[0][0] == '2'


def test_entry_for_other_id_is_corrupt(blog):
    """An entry whose recorded id differs from its file name is set aside."""
    blog['1'] = {'n': 1}
    os.rename(os.path.join(blog.location, '1.json'), os.path.join(blog.location, '9.json'))
    with pytest.raises(KeyError):
        blog['9']
    assert blog.corrupt_entries() == ['9.json']


def test_temp_files_not_listed(blog):
    """Leftover temp files of an interrupted write are never listed as entries."""
    open(os.path.join(blog.location, '.1.json.999999999.tmp'), 'w').close()
    blog['2'] = {}
    assert list(blog) == ['2']


def test_stale_temp_files_removed_on_open(tmp_path):
    """Temp files of dead writers are removed when the backlog is opened."""
    b = Backlog('x', root=str(tmp_path))
    stale = os.path.join(b.location, '.1.json.999999999.tmp')
    open(stale, 'w').close()
    Backlog('x', root=str(tmp_path))
    assert not os.path.exists(stale)


def test_entry_file_not_world_readable(blog):
    """Entries are not readable by other users."""
    blog['1'] = {'a': 1}
    mode = os.stat(os.path.join(blog.location, '1.json')).st_mode
    assert not mode & stat.S_IROTH


def test_unstorable_value_refused(blog):
    """A value JSON cannot hold exactly is refused, and no entry is written."""
    with pytest.raises(TypeError):
        blog['1'] = {'x': object()}
    assert '1' not in blog
