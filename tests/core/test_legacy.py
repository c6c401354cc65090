"""Legacy CSTBox .blog backlog files: read through a restricted unpickler."""

import datetime
import pickle

import pytest

from pycstbox.export import legacy

PY2_DATE = b"(dp0\nS'date'\np1\ncdatetime\ndate\np2\n(S'\\x07\\xdf\\x0b\\x03'\np3\ntp4\nRp5\ns."


def test_python2_protocol0_date_dict():
    """A Python 2 protocol-0 pickle of {'date': date(2015, 11, 3)} is read."""
    assert legacy.loads(PY2_DATE) == {'date': datetime.date(2015, 11, 3)}


def test_python3_protocol0_values():
    """Plain data, date, datetime, time and timedelta are accepted."""
    value = {'date': datetime.date(2015, 11, 3), 'dt': datetime.datetime(2015, 1, 2, 3, 4, 5, 6),
             't': datetime.time(1, 2), 'td': datetime.timedelta(days=1), 'l': [1, 2.5, 'x', None],
             'tu': (1, 2), 'b': b'raw', 'flag': True}
    for proto in (0, 2):
        assert legacy.loads(pickle.dumps(value, protocol=proto)) == value


def _marker_payloads(marker):
    cmd = 'touch %s' % marker
    return [
        b"cos\nsystem\n(S'" + cmd.encode() + b"'\ntR.",
        b"cposix\nsystem\n(S'" + cmd.encode() + b"'\ntR.",
        b"c__builtin__\neval\n(S'__import__(\"os\").system(\"" + cmd.encode() + b"\")'\ntR.",
        b"cbuiltins\nexec\n(S'open(\"" + str(marker).encode() + b"\", \"w\").close()'\ntR.",
        b"csubprocess\nPopen\n((S'touch'\nS'" + str(marker).encode() + b"'\nltR.",
        b"(dp0\nS'x'\ncos\nsystem\n(S'" + cmd.encode() + b"'\ntRs.",
        b"c_codecs\nencode\n(S'x'\nS'utf-8'\ntR.",
    ]


@pytest.mark.parametrize('index', range(7))
def test_malicious_pickles_refused_and_did_not_run(tmp_path, index):
    """Any forbidden global is refused with an error naming the file; the payload never runs."""
    marker = tmp_path / 'pwned'
    path = tmp_path / ('evil%d.blog' % index)
    path.write_bytes(_marker_payloads(marker)[index])
    with pytest.raises(legacy.LegacyError) as info:
        legacy.load(str(path))
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_non_dict_refused(tmp_path):
    """A pickle of something else than a dict is refused."""
    with pytest.raises(legacy.LegacyError):
        legacy.loads(pickle.dumps([1, 2], protocol=0))


def test_truncated_refused():
    """A truncated pickle is an error, not a crash."""
    with pytest.raises(legacy.LegacyError):
        legacy.loads(PY2_DATE[:20])


def test_scan_spool_layout(tmp_path):
    """scan() finds .blog files in a spool root or in one backlog directory."""
    d = tmp_path / 'dwh.events'
    d.mkdir()
    (d / '151104001500123456.blog').write_bytes(PY2_DATE)
    (d / '151103001500.blog').write_bytes(PY2_DATE)
    (d / 'readme.txt').write_text('x')
    assert [(n, j) for n, j, _ in legacy.scan(str(tmp_path))] == \
        [('dwh.events', '151103001500'), ('dwh.events', '151104001500123456')]
    assert [j for _, j, _ in legacy.scan(str(d))] == ['151103001500', '151104001500123456']
