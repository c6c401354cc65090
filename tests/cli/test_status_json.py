"""status --json against its published schema, and the metrics `cbx-export run` writes,
scraped through a real node_exporter (DESIGN section 13)."""

import datetime
import json
import os

import pytest

from pycstbox import export
from tests.peers.evtdb import evtdb_bus, generate_days
from tests.peers.http import HttpPeer
from tests.peers.node_exporter import node_exporter
from tests.process.test_run_cli import FIRST, cli, write_cfg

SCHEMA_PATH = os.path.join(os.path.dirname(export.__file__), 'status.schema.json')
DOWN = 'unix:path=/nonexistent/bus'


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    """A private bus with cbx-evtdb serving 3 generated days."""
    tmp = tmp_path_factory.mktemp('store')
    generate_days(tmp / 'db', FIRST, days=3, sensors=2, interval=900)
    with evtdb_bus(tmp, tmp / 'db') as address:
        yield address


@pytest.fixture(scope='module')
def validator():
    from jsonschema import Draft202012Validator
    with open(SCHEMA_PATH, encoding='utf-8') as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def textfile(tmp_path):
    return tmp_path / 'node-exporter' / 'cstbox_export.prom'


def config(tmp_path, address, url):
    """The run test config (job main, 6 h windows, 12 due) with [metrics] in tmp_path."""
    textfile(tmp_path).parent.mkdir(exist_ok=True)
    return write_cfg(tmp_path, address, url,
                     extra='\n[metrics]\ntextfile = "%s"\n' % textfile(tmp_path))


def status(tmp_path, cfg, validator):
    """status --json, checked against the schema."""
    r = cli(tmp_path, cfg, 'status', '--json')
    doc = json.loads(r.stdout)
    errors = [e.message for e in validator.iter_errors(doc)]
    assert not errors, errors
    assert doc['schema'] == 'cstbox-export-status/1'
    return doc


def ts(iso):
    return datetime.datetime.fromisoformat(iso).timestamp() if iso else 0


def expected(doc):
    """{(metric, label value): value} that status --json implies (written out independently)."""
    out = {('cstbox_export_daemon_up', ''): int(doc['daemon']['running']),
           ('cstbox_export_info', ''): 1}
    for name, j in doc['jobs'].items():
        d = j['last_delivery'] or {}
        out.update({
            ('cstbox_export_watermark_seconds', name): ts(j['watermark']),
            ('cstbox_export_pending_windows', name): j['pending'],
            ('cstbox_export_oldest_pending_seconds', name): ts(j['oldest_pending']),
            ('cstbox_export_dead_letters', name): len(j['dead_letters']),
            ('cstbox_export_last_success_seconds', name): ts((j['last_success'] or {}).get('at')),
            ('cstbox_export_last_error_seconds', name): ts((j['last_error'] or {}).get('at')),
            ('cstbox_export_last_delivery_events', name): d.get('events') or 0,
            ('cstbox_export_last_delivery_bytes', name): d.get('bytes') or 0,
        })
    for target, o in doc['outbox'].items():
        out[('cstbox_export_outbox_files', target)] = o['pending']
    return out


def scraped_matches_status(tmp_path, doc):
    """Scrape node_exporter over the textfile: no parse error, the values of ``doc``."""
    with node_exporter(textfile(tmp_path).parent, tmp_path / 'node_exporter.log') as scrape:
        families = scrape()
    assert families['node_textfile_scrape_error'] == [({}, 0.0)]
    got = {}
    for name, samples in families.items():
        if name.startswith('cstbox_export_'):
            for labels, value in samples:
                assert labels['site'] == doc['site'] and set(labels) <= {
                    'site', 'job', 'target', 'version', 'lane'}, labels
                got[(name, labels.get('job') or labels.get('target') or '')] = value
    assert got[('cstbox_export_info', '')] == 1 and [
        lab['version'] for lab, _ in families['cstbox_export_info']] == [export.__version__]
    want = expected(doc)
    assert {k: got.get(k) for k in want} == want
    return got


def test_idle_status_is_valid(tmp_path, validator):
    """Before any run: valid, nothing pending, every target's outbox listed with 0 files."""
    doc = status(tmp_path, config(tmp_path, DOWN, 'http://127.0.0.1:9'), validator)
    j = doc['jobs']['main']
    assert j['pending'] == 0 and j['watermark'] is None and j['last_delivery'] is None
    assert doc['outbox'] == {'web': {'pending': 0, 'oldest': None, 'dead_letters': []}}
    assert doc['daemon']['running'] is False
    assert not textfile(tmp_path).exists()


def test_pending_status_valid_and_run_writes_metrics_only_on_change(tmp_path, validator):
    """Store down: 12 pending; the run writes the metrics; the same run again writes nothing."""
    cfg = config(tmp_path, DOWN, 'http://127.0.0.1:9')
    folder = textfile(tmp_path).parent
    assert cli(tmp_path, cfg, 'run').returncode == 1
    doc = status(tmp_path, cfg, validator)
    assert doc['jobs']['main']['pending'] == 12 and doc['jobs']['main']['last_error']
    first = os.stat(textfile(tmp_path))
    quiet = os.stat(folder).st_mtime_ns
    assert cli(tmp_path, cfg, 'run').returncode == 1           # same clock: same values
    assert os.stat(folder).st_mtime_ns == quiet                 # no file created or renamed
    assert os.stat(textfile(tmp_path)).st_ino == first.st_ino
    scraped_matches_status(tmp_path, doc)
    later = '2026-11-23T01:30:00Z'                               # a new failed attempt
    assert cli(tmp_path, cfg, 'run', now=later).returncode == 1
    assert os.stat(textfile(tmp_path)).st_ino != first.st_ino
    assert os.listdir(folder) == ['cstbox_export.prom']
    doc = status(tmp_path, cfg, validator)
    got = scraped_matches_status(tmp_path, doc)
    assert got[('cstbox_export_last_error_seconds', 'main')] == ts(later)


def test_dead_letters_status_valid_and_scraped(tmp_path, store, validator):
    """A 413 dead-letters every window: valid output, dead_letters metric 12."""
    with HttpPeer(tmp_path / 'http') as peer:
        peer.behave('status', status=413, body=b'no')
        cfg = config(tmp_path, store, peer.url)
        assert cli(tmp_path, cfg, 'run').returncode == 1
    doc = status(tmp_path, cfg, validator)
    assert len(doc['jobs']['main']['dead_letters']) == 12
    got = scraped_matches_status(tmp_path, doc)
    assert got[('cstbox_export_dead_letters', 'main')] == 12


def test_delivered_status_valid_with_last_delivery(tmp_path, store, validator):
    """Every window delivered: the last delivery's events and bytes, an outbox file waiting."""
    with HttpPeer(tmp_path / 'http') as peer:
        cfg = config(tmp_path, store, peer.url)
        outbox = tmp_path / 'state' / 'outbox' / 'web'
        outbox.mkdir(parents=True)
        (outbox / 'extra.csv').write_text('a,b\n')
        assert cli(tmp_path, cfg, 'run').returncode == 0
        last = peer.uploads[-1]
    doc = status(tmp_path, cfg, validator)
    d = doc['jobs']['main']['last_delivery']
    assert d['name'] == last.name and d['bytes'] == last.size and d['events'] == 2 * 24
    assert doc['outbox']['web']['pending'] == 1 and doc['outbox']['web']['oldest']
    got = scraped_matches_status(tmp_path, doc)
    assert got[('cstbox_export_last_delivery_bytes', 'main')] == last.size > 0
    assert got[('cstbox_export_outbox_files', 'web')] == 1


def test_schema_catches_an_undocumented_field(tmp_path, validator):
    """A field the schema does not document makes the output invalid (drift is caught)."""
    doc = status(tmp_path, config(tmp_path, DOWN, 'http://127.0.0.1:9'), validator)
    doc['jobs']['main']['surprise'] = 1
    assert not validator.is_valid(doc)
    del doc['jobs']['main']['surprise']
    doc['schema'] = 'cstbox-export-status/2'
    assert not validator.is_valid(doc)


def test_check_names_the_metrics_file_or_why_it_fails(tmp_path):
    """check says where the metrics go; a textfile in a missing directory fails it (exit 1)."""
    out = tmp_path / 'out'
    out.mkdir()
    base = 'site = "s"\nstate_dir = "%s"\n[targets.usb]\ntype = "dir"\npath = "%s"\n' % (
        tmp_path / 'state', out)
    path = tmp_path / 'c.toml'
    path.write_text(base + '[metrics]\ntextfile = "%s"\n' % (tmp_path / 'nowhere' / 'x.prom'))
    r = cli(tmp_path, str(path), 'check', 'usb')
    assert r.returncode == 1 and 'target usb (dir): ok' in r.stdout, r.stdout + r.stderr
    assert 'metrics: FAILED: cannot write in %s' % (tmp_path / 'nowhere') in r.stdout
    path.write_text(base + '[metrics]\ntextfile = "%s"\n' % (tmp_path / 'x.prom'))
    r = cli(tmp_path, str(path), 'check', 'usb')
    assert r.returncode == 0 and 'metrics: ok (%s)' % (tmp_path / 'x.prom') in r.stdout
    assert not (tmp_path / 'x.prom').exists()                   # check writes nothing
    path.write_text(base)                                         # tests: the default is off
    r = cli(tmp_path, str(path), 'check', 'usb')
    assert r.returncode == 0 and 'metrics: off' in r.stdout
