"""The TOML configuration: values, defaults, drop-ins, and one clear line per mistake."""

import logging
import os
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest

from pycstbox.export import config
from pycstbox.export.config import ConfigError, load, parse_duration

GOOD = '''
site = "lyon-b12"
timezone = "Europe/Paris"
state_dir = "/tmp/state"
[eventstore]
address = "unix:path=/tmp/bus"
timeout = 5
[targets.usb]
type = "dir"
path = "/media/usb"
[jobs.daily]
target = "usb"
format = "jsonl"
compress = "gzip"
var_types = ["energy"]
start = 2026-11-01
'''


def write(tmp_path, text, name='export.toml'):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')
    path.chmod(0o600)
    return str(path)


def error_of(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    message = str(info.value)
    assert '\n' not in message
    return path, message


def test_good_file_values_and_defaults(tmp_path):
    """A valid file gives frozen objects with every default filled."""
    cfg = load(write(tmp_path, GOOD), environ={})
    assert cfg.site == 'lyon-b12' and cfg.tz.key == 'Europe/Paris'
    assert cfg.eventstore.timeout == 5.0 and cfg.eventstore.channel == 'sensor'
    job = cfg.jobs['daily']
    assert (job.period, job.delay, job.max_try, job.retry_delay, job.max_age, job.enabled) == \
        (timedelta(days=1), timedelta(minutes=15), 3, 10.0, timedelta(days=90), True)
    assert job.var_types == ('energy',) and job.start == date(2026, 11, 1)
    assert cfg.targets['usb'].options['path'] == '/media/usb'
    assert cfg.files == (str(tmp_path / 'export.toml'),)
    with pytest.raises(AttributeError):
        cfg.site = 'x'


def test_no_default_file_gives_builtin_defaults(tmp_path, monkeypatch):
    """Without -c, variable or default file, the built-in defaults apply (no jobs)."""
    monkeypatch.setattr(config.loader, 'DEFAULT_PATH', str(tmp_path / 'missing.toml'))
    cfg = load(None, environ={})
    assert cfg.files == () and not cfg.jobs and cfg.timezone == 'UTC'
    assert cfg.state_dir == '/var/lib/cstbox/export' and cfg.site


def test_named_file_missing_is_an_error(tmp_path):
    """A file named with -c that does not exist is an error naming it."""
    path = str(tmp_path / 'nope.toml')
    with pytest.raises(ConfigError, match=r'^%s: file not found' % re.escape(path)):
        load(path, environ={})


def test_environment_variable_and_relative_path(tmp_path, monkeypatch):
    """CBX_EXPORT_CONFIG names the file; a relative name not found here is taken in CONFIG_DIR."""
    write(tmp_path, GOOD, 'other.toml')
    assert load(None, environ={'CBX_EXPORT_CONFIG': str(tmp_path / 'other.toml')}).site == \
        'lyon-b12'
    monkeypatch.setattr(config.loader, 'CONFIG_DIR', str(tmp_path))
    monkeypatch.chdir('/')
    assert load('other.toml', environ={}).files == (str(tmp_path / 'other.toml'),)
    monkeypatch.chdir(tmp_path)
    assert config.resolve_path('other.toml', {}) == (str(tmp_path / 'other.toml'), True)


def test_syntax_error_names_file_and_line(tmp_path):
    """A TOML syntax error is one line with the file and the line number."""
    path, msg = error_of(tmp_path, 'site = "a"\n[jobs.x\n')
    assert re.fullmatch(r'%s: invalid TOML: .*line 2.*' % re.escape(path), msg)


def test_unknown_key_suggests(tmp_path):
    """An unknown key names file and dotted key and suggests the closest one."""
    path, msg = error_of(tmp_path, GOOD.replace('format =', 'fromat ='))
    assert msg == "%s: jobs.daily.fromat: unknown key (did you mean 'format'?)" % path
    path, msg = error_of(tmp_path, 'sight = "x"\n')
    assert msg == "%s: sight: unknown key (did you mean 'site'?)" % path


def test_wrong_type(tmp_path):
    """A value of the wrong TOML type says what was expected and what was found."""
    path, msg = error_of(tmp_path, GOOD.replace('timeout = 5', 'timeout = "5"'))
    assert msg == "%s: eventstore.timeout: must be a number, not a string ('5')" % path
    path, msg = error_of(tmp_path, GOOD + 'max_try = true\n')
    assert msg == '%s: jobs.daily.max_try: must be an integer, not a boolean (True)' % path


@pytest.mark.parametrize('key,bad,expect', [
    ('type', '"htp"', "unknown target type 'htp' (did you mean 'http'?) (use one of: dir, http, "
                      "ftp, sftp, serial, s3)"),
])
def test_unknown_target_type(tmp_path, key, bad, expect):
    """An unknown target type is named with a suggestion and the list of types."""
    path, msg = error_of(tmp_path, GOOD.replace('type = "dir"', 'type = %s' % bad))
    assert msg == '%s: targets.usb.type: %s' % (path, expect)


def test_unknown_format_and_compress(tmp_path):
    """Unknown format / compress names are errors listing the valid ones."""
    path, msg = error_of(tmp_path, GOOD.replace('"jsonl"', '"json"'))
    assert msg.startswith("%s: jobs.daily.format: unknown format 'json' (did you mean 'jsonl'?)"
                          % path)
    path, msg = error_of(tmp_path, GOOD.replace('"gzip"', '"zip"'))
    assert msg == ("%s: jobs.daily.compress: unknown compression 'zip' (use one of: none, "
                   "gzip, zstd)" % path)


def test_dwh_zip_with_gzip(tmp_path):
    """dwh-zip is already a zip: compress = gzip is refused."""
    path, msg = error_of(tmp_path, GOOD.replace('"jsonl"', '"dwh-zip"'))
    assert msg == ('%s: jobs.daily.compress: format dwh-zip is already a compressed zip: '
                   'use compress = "none"' % path)


def test_parquet_with_gzip(tmp_path):
    """parquet compresses its own pages: compress = gzip is refused, saying so; none is fine."""
    path, msg = error_of(tmp_path, GOOD.replace('"jsonl"', '"parquet"'))
    assert msg == ('%s: jobs.daily.compress: format parquet is already compressed inside '
                   '(GZIP pages): use compress = "none"' % path)
    cfg = tmp_path / 'ok.toml'
    cfg.write_text(GOOD.replace('"jsonl"', '"parquet"').replace('"gzip"', '"none"'))
    assert load(str(cfg)).jobs['daily'].format == 'parquet'


def test_job_with_missing_target(tmp_path):
    """A job naming a target that does not exist lists the defined targets."""
    path, msg = error_of(tmp_path, GOOD.replace('target = "usb"', 'target = "usbb"'))
    assert msg == ("%s: jobs.daily.target: no target named 'usbb' (did you mean 'usb'?) "
                   "(defined targets: usb)" % path)


def test_missing_required_key(tmp_path):
    """A required option that is absent is named."""
    path, msg = error_of(tmp_path, GOOD.replace('path = "/media/usb"', ''))
    assert msg == '%s: targets.usb.path: missing (required)' % path


@pytest.mark.parametrize('text,seconds', [('15m', 900), ('1h', 3600), ('1d', 86400),
                                          ('30s', 30), ('1w', 604800), ('1h30m', 5400)])
def test_valid_durations(text, seconds):
    """Durations with a unit are accepted."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize('text', ['0', '-1h', '1x', '', '0s', '1.5h', 'h', 3600])
def test_invalid_durations(text):
    """Zero, negative, unitless, unknown units and empty durations are refused."""
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize('value', ['0', '-1h', '1x', ''])
def test_bad_duration_in_file(tmp_path, value):
    """A bad duration in a job is one line naming the key."""
    path, msg = error_of(tmp_path, GOOD + 'period = "%s"\n' % value)
    assert msg.startswith('%s: jobs.daily.period: invalid duration %r' % (path, value))


def test_period_must_align_on_days(tmp_path):
    """A period that neither divides a day nor is whole days is refused with the reason."""
    path, msg = error_of(tmp_path, GOOD + 'period = "7h"\n')
    assert msg.startswith('%s: jobs.daily.period: period 7h neither divides a day evenly '
                          'nor is whole days' % path)
    for ok in ('15m', '8h', '2d', '1w'):
        cfg = load(write(tmp_path, GOOD + 'period = "%s"\n' % ok), environ={})
        assert cfg.jobs['daily'].period == parse_duration(ok)


def test_delay_may_be_zero(tmp_path):
    """delay = "0s" is allowed (export as soon as the window closes)."""
    cfg = load(write(tmp_path, GOOD + 'delay = "0s"\n'), environ={})
    assert cfg.jobs['daily'].delay == timedelta(0)


def test_unknown_timezone(tmp_path):
    """An unknown time zone is named."""
    path, msg = error_of(tmp_path, GOOD.replace('Europe/Paris', 'Europe/Pariss'))
    assert msg == ("%s: timezone: unknown time zone 'Europe/Pariss' (use a name such as "
                   '"UTC" or "Europe/Paris")' % path)


HTTP = '''
[targets.dwh]
type = "http"
url = "https://dwh.example.org/x"
username = "gw"
'''


def test_password_file_read_and_hidden(tmp_path):
    """password_file is read into options['password']; repr/str never show it."""
    (tmp_path / 'secret').write_text('s3cr3t-pw\n')
    cfg = load(write(tmp_path, HTTP + 'password_file = "secret"\n'), environ={})
    target = cfg.targets['dwh']
    assert target.options['password'] == 's3cr3t-pw'
    assert target.options['password_file'] == str(tmp_path / 'secret')
    for text in (repr(target), str(target), repr(target.options), repr(cfg), str(cfg.targets)):
        assert 's3cr3t-pw' not in text
    assert "'password': '***'" in repr(target)


def test_unreadable_password_file(tmp_path):
    """An unreadable password_file is one line naming the secret file and the reason."""
    path, msg = error_of(tmp_path, HTTP + 'password_file = "/nonexistent/pw"\n')
    assert msg == ('%s: targets.dwh.password_file: cannot read /nonexistent/pw: '
                   'No such file or directory' % path)


def test_password_readable_by_others_warns(tmp_path, caplog):
    """A file with a password that others can read logs a warning (without the password)."""
    path = write(tmp_path, HTTP + 'password = "s3cr3t-pw"\n')
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.config.loader'):
        load(path, environ={})
    assert any('targets.dwh.password: the file is readable by other users' in r.getMessage()
               for r in caplog.records)
    assert 's3cr3t-pw' not in caplog.text
    os.chmod(path, 0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.config.loader'):
        load(path, environ={})
    assert not caplog.records


def test_dropins_add_and_override(tmp_path):
    """export.d/*.toml add targets/jobs and override top-level keys, in name order."""
    main = write(tmp_path, GOOD)
    write(tmp_path, '[targets.more]\ntype = "dir"\npath = "/x"\n', 'export.d/10-more.toml')
    write(tmp_path, 'site = "other"\n[eventstore]\nchannel = "sysmon"\n', 'export.d/20-site.toml')
    write(tmp_path, 'ignored', 'export.d/readme.txt')
    cfg = load(main, environ={})
    assert set(cfg.targets) == {'usb', 'more'} and cfg.site == 'other'
    assert cfg.eventstore.channel == 'sysmon' and cfg.eventstore.timeout == 5.0
    assert len(cfg.files) == 3


def test_same_target_in_two_files(tmp_path):
    """The same target defined in a drop-in and the main file is an error naming both files."""
    main = write(tmp_path, GOOD)
    dropin = write(tmp_path, '[targets.usb]\ntype = "dir"\npath = "/y"\n', 'export.d/a.toml')
    with pytest.raises(ConfigError) as info:
        load(main, environ={})
    assert str(info.value) == '%s: targets.usb: defined twice, here and in %s' % (dropin, main)


def test_sample_config_is_valid(tmp_path):
    """The shipped sample loads as is, and with every example setting uncommented."""
    sample = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'export.toml')
    text = open(sample, encoding='utf-8').read()
    cfg = load(write(tmp_path, text), environ={})
    assert cfg.timezone == 'UTC' and not cfg.jobs
    (tmp_path / 'pw').write_text('x')
    on = re.sub(r'(?m)^# ', '', text).replace('/etc/cstbox/secrets/warehouse', str(tmp_path / 'pw'))
    on = on.replace('/etc/cstbox/secrets/lake', str(tmp_path / 'pw'))
    cfg = load(write(tmp_path, on, 'full.toml'), environ={})
    assert set(cfg.targets) == {'warehouse', 'usb', 'ftpserver', 'archive', 'modem', 'lake'}
    assert cfg.targets['lake'].options['part_size'] == 8 * 1024 * 1024
    assert cfg.jobs['daily'].target == 'warehouse' and cfg.site == 'lyon-b12'


def test_cli_config_error_is_one_line_exit_2(tmp_path):
    """cbx-export with a bad config prints one line naming file and key, exit 2, no traceback."""
    path = write(tmp_path, GOOD + 'perod = "1d"\n')
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', path, 'export',
                        '--from', '2026-11-27', '--to', '2026-11-28'],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr == "%s: jobs.daily.perod: unknown key (did you mean 'period'?)\n" % path


def test_serial_protocols(tmp_path):
    """Serial targets take "ymodem" (the default, exact size) or "xmodem"; anything else is refused."""
    base = 'site = "s"\n[targets.m]\ntype = "serial"\nport = "/dev/ttyUSB0"\n'
    cfg = load(write(tmp_path, base), environ={})
    assert cfg.targets['m'].options['protocol'] == 'ymodem'
    cfg = load(write(tmp_path, base + 'protocol = "xmodem"\n'), environ={})
    assert cfg.targets['m'].options['protocol'] == 'xmodem'
    path, msg = error_of(tmp_path, base + 'protocol = "zmodem"\n')
    assert msg.startswith('%s: targets.m.protocol: must be "ymodem"' % path)


def test_ftp_verify_option(tmp_path):
    """FTP targets accept verify (bool or CA bundle path) for FTPS."""
    cfg = load(write(tmp_path, 'site = "s"\n[targets.f]\ntype = "ftp"\nhost = "h"\ntls = true\n'
                                'verify = "/etc/ssl/ca.pem"\n'), environ={})
    assert cfg.targets['f'].options['verify'] == '/etc/ssl/ca.pem'


# -- sane ranges (issue 10, defect 8): every value that could crash a run is refused at load --

@pytest.mark.parametrize('line,key,problem', [
    ('period = "100000w"', 'period', "invalid duration '100000w': too long (at most 366d)"),
    ('period = "30s"', 'period', '30s is too short (at least 1m'),
    ('period = "99999999999w"', 'period', "invalid duration '99999999999w': too long"),
    pytest.param('period = "%sw"' % ('9' * 5000), 'period', 'too long', id='5000 digits'),
    ('delay = "9999999w"', 'delay', 'too long'),
    ('max_age = "999999d"', 'max_age', "invalid duration '999999d': too long (at most 3660d)"),
    ('max_age = "1d"', 'max_age', '1d must be longer than period + delay (1d15m)'),
    ('start = 9999-12-31', 'start', 'must be between 2000-01-01 and 2099-12-31, not 9999-12-31'),
    ('start = 0001-01-01', 'start', 'must be between 2000-01-01 and 2099-12-31'),
    ('retry_delay = nan', 'retry_delay', 'must be a finite number, not nan'),
    ('retry_delay = inf', 'retry_delay', 'must be a finite number, not inf'),
    ('retry_delay = 1e9', 'retry_delay', 'must be between 0 s and 600 s, not 1000000000.0'),
    ('retry_delay = -1', 'retry_delay', 'must be between 0 s and 600 s'),
    ('max_try = 1000000000', 'max_try', 'must be between 1 and 20, not 1000000000'),
])
def test_job_values_out_of_range(tmp_path, line, key, problem):
    """Job values that would overflow or wedge a run are one line naming file and key."""
    path, msg = error_of(tmp_path, GOOD.replace('start = 2026-11-01', line)
                         if key == 'start' else GOOD + line + '\n')
    assert msg.startswith('%s: jobs.daily.%s: ' % (path, key)) and problem in msg, msg


@pytest.mark.parametrize('value,problem', [
    ('nan', 'must be a finite number, not nan'), ('inf', 'must be a finite number, not inf'),
    ('1e9', 'must be more than 0 s and at most 3600 s'), ('0', 'must be more than 0 s')])
def test_eventstore_timeout_out_of_range(tmp_path, value, problem):
    """eventstore.timeout must be a finite number of seconds in (0, 3600]."""
    path, msg = error_of(tmp_path, GOOD.replace('timeout = 5', 'timeout = %s' % value))
    assert msg.startswith('%s: eventstore.timeout: %s' % (path, problem)), msg


@pytest.mark.parametrize('extra,key,problem', [
    ('timeout = nan', 'timeout', 'must be a finite number, not nan'),
    ('connect_timeout = inf', 'connect_timeout', 'must be a finite number, not inf'),
    ('timeout = 1e12', 'timeout', 'must be more than 0 s and at most 3600 s'),
    ('url = "https://dwh.example.org:99999/x"', 'url', 'invalid URL'),
    ('url = "https:///x"', 'url', 'no host name'),
    ('headers = { "X-A" = "a\\r\\nX-Injected: 1" }', 'headers', 'control character'),
    ('headers = { "X A" = "b" }', 'headers', "invalid header name 'X A'"),
    ('headers = { "X-A" = "\u20ac" }', 'headers', 'only Latin-1'),
    ('password = "\u20ac-pw"', 'password', 'HTTP Basic authentication cannot carry'),
    ('field = "a\\"b"', 'field', 'invalid form field name'),
])
def test_http_target_values_out_of_range(tmp_path, extra, key, problem):
    """HTTP timeouts, URL and headers that would fail every upload are refused at load."""
    text = HTTP.replace('url = "https://dwh.example.org/x"\n', '') if key == 'url' else HTTP
    path, msg = error_of(tmp_path, 'site = "s"\n' + text + extra + '\n')
    assert msg.startswith('%s: targets.dwh.%s: ' % (path, key)) and problem in msg, msg


def test_eventstore_channel_is_a_path_element(tmp_path):
    """A channel that cannot be a D-Bus object path element is refused at load."""
    path, msg = error_of(tmp_path, GOOD.replace('timeout = 5', 'channel = "sen/sor"'))
    assert msg.startswith("%s: eventstore.channel: invalid channel 'sen/sor'" % path)


def test_serial_baudrate_range(tmp_path):
    """A serial baudrate outside 50..4000000 is refused at load."""
    path, msg = error_of(tmp_path, 'site = "s"\n[targets.m]\ntype = "serial"\n'
                                   'port = "/dev/ttyUSB0"\nbaudrate = 100000000000\n')
    assert msg == ('%s: targets.m.baudrate: must be between 50 and 4e+06, not 100000000000'
                   % path)


def test_extreme_accepted_values_never_overflow(tmp_path):
    """The largest and smallest accepted job values give windows and due times at any sane clock."""
    from pycstbox.export.process.process import ExportProcess
    from pycstbox.export.process.window import due_windows, next_due_time
    from datetime import datetime, timezone
    for extra in ('period = "366d"\ndelay = "366d"\nmax_age = "3660d"\n',
                  'period = "1m"\ndelay = "0s"\nmax_age = "2m"\n'):
        for start in ('2000-01-01', '2099-12-31'):
            cfg = load(write(tmp_path, GOOD.replace('2026-11-01', start) + extra), environ={})
            job = cfg.jobs['daily']
            for year in (2020, 2100, 2200):
                now = datetime(year, 1, 1, tzinfo=timezone.utc)
                due_windows(job.period, job.delay, cfg.tz, now=now, start_date=job.start,
                            limit=3)
                next_due_time(job.period, job.delay, cfg.tz, now=now)
                now - job.max_age - job.period - job.delay    # noqa: B018
    assert ExportProcess  # the process module imports with these values


@pytest.mark.parametrize('command', [['run'], ['check'], ['status'], ['backlog', 'list'],
                                     ['export', '--from', '2026-11-27', '--to', '2026-11-28']])
def test_out_of_range_value_is_exit_2_for_every_command(tmp_path, command):
    """A configuration with one out-of-range value is invalid for every command: one line, exit 2."""
    path = write(tmp_path, GOOD.replace('/tmp/state', str(tmp_path / 'state'))
                 + 'period = "100000w"\n')
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export', '-c', path] + command,
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (
        2, "%s: jobs.daily.period: invalid duration '100000w': too long (at most 366d)\n"
        % path)


def test_daemon_refuses_a_period_that_crashed_the_loader(tmp_path):
    """cbx-exportd with period = "99999999999w" exits 2 with one line (no traceback, no loop)."""
    path = write(tmp_path, GOOD + 'period = "99999999999w"\n')
    r = subprocess.run([sys.executable, '-m', 'pycstbox.export.daemon', '-c', path],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, CBX_EXPORT_RUNTIME_DIR=str(tmp_path / 'run')))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith('%s: jobs.daily.period: invalid duration' % path)
    assert 'Traceback' not in r.stderr


def test_password_file_readable_by_others_warns(tmp_path, caplog):
    """A password_file that group or others can read logs a warning naming it (not its content)."""
    secret = tmp_path / 'secret'
    secret.write_text('s3cr3t-pw\n')
    secret.chmod(0o644)
    path = write(tmp_path, HTTP + 'password_file = "secret"\n')
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.config.loader'):
        load(path, environ={})
    assert any(r.getMessage() == '%s: targets.dwh.password_file: %s is readable by other users '
               '(mode 0644): chmod 600 it' % (path, secret) for r in caplog.records)
    assert 's3cr3t-pw' not in caplog.text
    secret.chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.config.loader'):
        load(path, environ={})
    assert not caplog.records


def test_secrets_outside_password_are_not_shown(tmp_path):
    """URL credentials, secret query values and secret headers never show in repr() nor errors."""
    cfg = load(write(tmp_path, 'site = "s"\n[targets.dwh]\ntype = "http"\n'
                     'url = "https://gw:UrlPassw0rd@dwh.example.org/x?api_key=K3y&site={site}"\n'
                     'headers = { Authorization = "Bearer T0ken", X-Gw = "b12" }\n'),
               environ={})
    text = repr(cfg.targets) + str(cfg.targets['dwh'])
    for secret in ('UrlPassw0rd', 'K3y', 'T0ken'):
        assert secret not in text
    assert 'site={site}' in text and 'b12' in text
    path, msg = error_of(tmp_path, 'site = "s"\n[targets.dwh]\ntype = "http"\n'
                                   'url = "ftp://gw:UrlPassw0rd@dwh.example.org/x"\n')
    assert 'UrlPassw0rd' not in msg and 'ftp://***@dwh.example.org/x' in msg
    path, msg = error_of(tmp_path, HTTP + 'password = 12345678\n')
    assert msg == '%s: targets.dwh.password: must be a string, not an integer' % path


def test_sample_documents_every_url_placeholder():
    """The sample's http target documents each placeholder the transport fills in url."""
    sample = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'export.toml')
    text = open(sample, encoding='utf-8').read()
    http_part = text[text.index('# type = "http"'):text.index('# [targets.usb]')]
    src = os.path.join(os.path.dirname(__file__), '..', '..', 'pycstbox', 'export', 'transports',
                       'http.py')
    filled = set(re.findall(r"'(\{[a-z]+\})'", open(src, encoding='utf-8').read()))
    assert filled == {'{site}', '{job}', '{name}'}
    for placeholder in filled:
        assert '"%s"' % placeholder in http_part, placeholder
    assert 'PUT' in http_part and 'every window' in http_part


def test_url_or_header_secret_in_a_readable_file_warns(tmp_path, caplog):
    """Credentials in a URL or a secret header, in a file others can read, log a warning."""
    path = write(tmp_path, 'site = "s"\n[targets.dwh]\ntype = "http"\n'
                           'url = "https://dwh.example.org/x?token=T0k"\n'
                           'headers = { Authorization = "Bearer B3arer" }\n')
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger='pycstbox.export.config.loader'):
        load(path, environ={})
    messages = [r.getMessage() for r in caplog.records]
    assert any('targets.dwh.url: the file is readable by other users' in m for m in messages)
    assert any('targets.dwh.headers: the file is readable by other users' in m for m in messages)
    assert 'T0k' not in caplog.text and 'B3arer' not in caplog.text
