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
                      "ftp, sftp, serial)"),
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
    assert msg == "%s: jobs.daily.compress: unknown compression 'zip' (use one of: none, gzip)" \
        % path


def test_dwh_zip_with_gzip(tmp_path):
    """dwh-zip is already a zip: compress = gzip is refused."""
    path, msg = error_of(tmp_path, GOOD.replace('"jsonl"', '"dwh-zip"'))
    assert msg == ('%s: jobs.daily.compress: format dwh-zip is already a compressed zip: '
                   'use compress = "none"' % path)


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
    cfg = load(write(tmp_path, on, 'full.toml'), environ={})
    assert set(cfg.targets) == {'warehouse', 'usb', 'ftpserver', 'archive', 'modem'}
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
