#!/bin/sh
# Debian package test of cstbox-export, run as root (tests/debian/test_package.py
# runs it under pytest):
#
#   1. builds the .deb from a scratch copy of the work tree (build-deb.sh);
#   2. checks its file list, control fields and dependencies; runs lintian;
#   3. installs it with dpkg -i (while another process holds dpkg's lock for a
#      moment: dpkg is retried until the lock is free, up to DPKG_LOCK_WAIT s),
#      reinstalls it (postinst is idempotent), removes it (state and conffile
#      kept) and installs it again;
#   4. drives the service through /etc/init.d/cstbox-export (this machine's
#      invoke-rc.d refuses service actions): status 3 when stopped, start,
#      [daemon] export of a window from a private D-Bus bus + cbx-evtdb to a
#      local HTTP receiver, upload of a file dropped in an outbox,
#      cbx-export status, reload; restart, two starts at once (RACE_ROUNDS
#      rounds: both succeed, one daemon, named by the pid file), stop (waiting
#      until the process is gone), [daemon] start refused with a broken configuration;
#   5. purges the package (again while dpkg's lock is held for a moment) and checks
#      that the machine is as it was (file lists of /etc /usr /var/lib, dpkg and
#      apt bookkeeping excepted);
#   6. meanwhile, in the background, fresh_install.sh installs the .deb with apt
#      into a fresh minimal Debian 12 chroot and runs it there (skipped, with the
#      reason, when mmdebstrap or the Debian mirror is unavailable).
#
# Steps marked [daemon] need pycstbox/export/daemon/daemon.py: while it is not in the
# tree, the init script is exercised with a stand-in daemon instead and the
# [daemon] steps are skipped with a message; once it exists they are mandatory.
# Whatever happens, the EXIT trap stops what was started and purges the package
# (waiting for dpkg's lock if another process holds it).
# Exit status: 0 passed, 1 failed, 2 cannot run here (not root, tools missing,
# package already installed).
set -eu

# Run like init does: a clean environment (no PYTHONPATH pointing at the tree,
# no pyenv python3 first in PATH).
if [ -z "${CBX_PKGTEST_CLEAN_ENV:-}" ]; then
    exec env -i CBX_PKGTEST_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME="${HOME:-/root}" LC_ALL=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" sh "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PKG=cstbox-export
INIT=/etc/init.d/cstbox-export
DEFAULTS=/etc/default/cstbox-export
STATE_DIR=/var/lib/cstbox/export
RUN_DIR=/run/cstbox-export
PIDFILE=$RUN_DIR/cbx-exportd.pid
LOGFILE=/var/log/cstbox/cstbox-export.log
PY=/usr/bin/python3
DPKG_LOCK_WAIT=120       # seconds dpkg waits for another process's lock
RACE_ROUNDS=4
FRESH_WAIT=300           # seconds the fresh-chroot install may take in all (from its start)
PROM=/var/lib/prometheus/node-exporter/cstbox_export.prom
T0=$(date +%s)

say() { echo "package_test: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip_all() { say "cannot run: $*"; exit 2; }

[ "$(id -u)" = 0 ] || skip_all "must run as root (it installs and purges the package)"
for tool in dpkg-buildpackage lintian dpkg-deb flock; do
    command -v $tool >/dev/null 2>&1 || skip_all "$tool is missing (sh .ci/install-deps)"
done
if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -qv 'not-installed'; then
    skip_all "$PKG is already installed (or its conffiles remain): this test would purge it"
fi

WORK=$(mktemp -d "$TMPDIR/cbx-pkgtest.XXXXXX")
chmod 0755 "$WORK"
HELPER_PIDS=""
INSTALLED=0
FRESH_PID=""

# Only one package test at a time on a machine.
exec 9>"$TMPDIR/cstbox-export-package-test.lock"
flock -w 300 9 || fail "another package test holds $TMPDIR/cstbox-export-package-test.lock"

# init: the init script with the environment init gives it.
init() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 $INIT "$@"; }

# daemon_pid: pid of a live (not zombie) cbx-exportd from the pid file, or nothing.
daemon_pid() {
    p=$(cat "$PIDFILE" 2>/dev/null) || return 0
    st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$p/status" 2>/dev/null) || return 0
    case "$st" in ''|Z|X) ;; *) echo "$p" ;; esac
}

# wait_gone PID SECONDS: until the process is gone (or only a zombie).
wait_gone() {
    n=0
    while [ $n -lt $(($2 * 10)) ]; do
        st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || st=""
        case "$st" in ''|Z|X) return 0 ;; esac
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

# live_daemons: pids of the live (not zombie) cbx-exportd processes of this system.
live_daemons() {
    for d in /proc/[0-9]*; do
        [ "$(cat $d/comm 2>/dev/null)" = cbx-exportd ] && [ "$(readlink $d/root)" = / ] || continue
        st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' $d/status 2>/dev/null)
        case "$st" in ''|Z|X) ;; *) echo "${d#/proc/}" ;; esac
    done
}

# daemon_running_says true|false: cbx-export status --json reports daemon.running so.
daemon_running_says() {
    /usr/bin/cbx-export -c "$CONF" status --json >"$WORK/status.json" 2>"$WORK/status.err" \
        || { cat "$WORK/status.err" >&2; return 1; }
    $PY -c 'import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if doc["daemon"]["running"] is (sys.argv[2] == "true") else 1)' "$WORK/status.json" "$1" \
        || { cat "$WORK/status.json" >&2; return 1; }
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    limit=$(($1 * 10)); shift
    n=0
    while [ $n -lt $limit ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

snapshot() {
    find /etc /usr /var/lib -xdev \
        \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/ucf -o -path $PROM \
           -o -path /etc/ld.so.cache -o -name __pycache__ \) -prune -o -print 2>/dev/null | sort
    for p in $RUN_DIR /usr/lib/python3/dist-packages/pycstbox $LOGFILE; do
        [ -e "$p" ] && echo "exists: $p"
    done
    true
}

# dpkg_w ARGS...: dpkg ARGS, waiting (up to DPKG_LOCK_WAIT s) while another process
# (apt, unattended-upgrades, another test) holds dpkg's lock: dpkg itself does not wait.
dpkg_w() {
    waited=0
    while :; do
        if dpkg "$@" >"$WORK/dpkg.out" 2>&1; then
            cat "$WORK/dpkg.out"
            return 0
        fi
        if grep -Eq 'lock was locked by another|status database is locked|lock.*another process' \
                "$WORK/dpkg.out" && [ "$waited" -lt $((DPKG_LOCK_WAIT * 2)) ]; then
            sleep 0.5
            waited=$((waited + 1))
            continue
        fi
        cat "$WORK/dpkg.out"
        return 1
    done
}

# hold_dpkg_lock SECONDS: another process holds dpkg's frontend lock for a while, as
# apt would; returns once the lock is held.
hold_dpkg_lock() {
    rm -f "$WORK/dpkg-lock-held"
    $PY -c 'import fcntl, os, sys, time
fd = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
fcntl.lockf(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[1]))' "$1" "$WORK/dpkg-lock-held" &
    HELPER_PIDS="$HELPER_PIDS $!"
    wait_for 30 test -e "$WORK/dpkg-lock-held" || fail "could not take dpkg's lock for the test"
}

cleanup() {
    rc=$?
    set +e
    trap - EXIT INT TERM HUP
    # Ours whatever its state: the test refuses to start when dpkg knows the package.
    if [ "$INSTALLED" = 1 ] || dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -qv 'not-installed'; then
        if [ -x $INIT ]; then
            pid=$(daemon_pid)
            init stop >/dev/null 2>&1
            [ -n "$pid" ] && { wait_gone "$pid" 20 || kill -KILL "$pid"; }
        fi
        # a daemon that escaped the init script (a lost race): ours if it runs our config
        for p in $(live_daemons); do
            tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-c $WORK/" && kill -KILL "$p"
        done
        dpkg_w --purge $PKG >"$WORK/purge-cleanup.log" 2>&1 || cat "$WORK/purge-cleanup.log" >&2
    fi
    if [ -n "$FRESH_PID" ]; then
        kill "$FRESH_PID" 2>/dev/null
        wait "$FRESH_PID" 2>/dev/null
    fi
    for pid in $HELPER_PIDS; do
        kill "$pid" 2>/dev/null
    done
    for pid in $HELPER_PIDS; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
    say "finished in $(($(date +%s) - T0)) s, exit $rc"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- 1. build
t=$(date +%s)
DEB=$(sh "$HERE/build-deb.sh" "$WORK/out" | tail -n 1) || fail "the package does not build"
say "built $(basename "$DEB") in $(($(date +%s) - t)) s"
CHANGES=$(ls "$WORK"/out/*.changes)

# ---------------------------------------------------------------- 6. (background) fresh chroot
sh "$HERE/fresh_install.sh" "$DEB" >"$WORK/fresh.log" 2>&1 &
FRESH_PID=$!
FRESH_T0=$(date +%s)

# ---------------------------------------------------------------- 2. contents
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' >"$WORK/files"
for f in /usr/bin/cbx-export /usr/bin/cbx-exportd /usr/bin/cbx-evtdb \
         /etc/init.d/cstbox-export /lib/systemd/system/cstbox-export.service \
         /etc/cstbox/export.toml /etc/default/cstbox-export /etc/logrotate.d/cstbox-export \
         /usr/share/man/man1/cbx-export.1.gz /usr/share/man/man8/cbx-exportd.8.gz \
         /usr/share/man/man1/cbx-evtdb.1.gz /usr/share/doc/cstbox-export/copyright \
         /usr/lib/python3/dist-packages/pycstbox/export/__init__.py \
         /usr/lib/python3/dist-packages/pycstbox/export/errors.py \
         /usr/lib/python3/dist-packages/pycstbox/export/status.schema.json \
         /usr/lib/python3/dist-packages/pycstbox/evtdb; do
    grep -qx "$f" "$WORK/files" || fail "$f is missing from the package"
done
grep -q '^/usr/lib/python3/dist-packages/cstbox_export-[^/]*\.egg-info$' "$WORK/files" \
    || fail "the egg-info directory is missing (console scripts look up their distribution)"
grep -qx '/usr/lib/python3/dist-packages/pycstbox/__init__.py' "$WORK/files" \
    && fail "pycstbox/__init__.py is packaged: pycstbox must stay a namespace package"
grep -Eq '(__pycache__|\.pyc$|/tests?/|/\.git)' "$WORK/files" \
    && fail "build debris or tests are packaged: $(grep -E '(__pycache__|\.pyc$|/tests?/|/\.git)' "$WORK/files" | head -3)"
mkdir "$WORK/x"
dpkg-deb -x "$DEB" "$WORK/x"
dpkg-deb -e "$DEB" "$WORK/x/DEBIAN"
cmp -s "$WORK/x/etc/init.d/cstbox-export" "$REPO/init.d/cstbox-export" \
    || fail "/etc/init.d/cstbox-export is not init.d/cstbox-export of the tree"
[ ! -f "$REPO/etc/export.toml" ] || cmp -s "$WORK/x/etc/cstbox/export.toml" "$REPO/etc/export.toml" \
    || fail "/etc/cstbox/export.toml is not etc/export.toml of the tree"
for c in cbx-export cbx-exportd cbx-evtdb; do
    [ "$(head -n 1 "$WORK/x/usr/bin/$c")" = "#!/usr/bin/python3" ] \
        || fail "/usr/bin/$c does not start with #!/usr/bin/python3: $(head -n 1 "$WORK/x/usr/bin/$c")"
done
grep -qx /etc/cstbox/export.toml "$WORK/x/DEBIAN/conffiles" || fail "/etc/cstbox/export.toml is not a conffile"

field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = $PKG ] || fail "package name is $(field Package)"
[ "$(field Architecture)" = all ] || fail "Architecture is $(field Architecture), not all"
DEPENDS=$(field Depends)
for d in python3-dbus python3-pyinotify python3-requests; do
    echo "$DEPENDS" | grep -Eq "(^|, )$d( |,|$)" || fail "Depends lacks $d: $DEPENDS"
done
echo "$DEPENDS" | grep -Eq '(^|, )python3(:any)? ' || fail "Depends lacks python3: $DEPENDS"
RECOMMENDS=$(field Recommends)
for d in python3-gi python3-paramiko python3-serial python3-xmodem python3-zstandard; do
    echo "$DEPENDS, $RECOMMENDS" | grep -Eq "(^|, )$d( |,|$)" || fail "neither Depends nor Recommends has $d"
done
# Only Debian's python3 packages (and debhelper's own helpers): no pip, no vendored libraries.
for d in $(printf '%s, %s, %s' "$DEPENDS" "$RECOMMENDS" "$(field Pre-Depends)" \
           | tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/ //g' | grep -v '^$'); do
    case "$d" in
        python3|python3-*|init-system-helpers|lsb-base|sysvinit-utils|tzdata) ;;
        *) fail "unexpected dependency $d" ;;
    esac
    dpkg-query -W "$d" >/dev/null 2>&1 || apt-cache show "$d" >/dev/null 2>&1 \
        || fail "dependency $d is not a Debian package known here"
done
echo "$DEPENDS" | grep -Eq '(^|, )tzdata( |,|$)' \
    || fail "Depends lacks tzdata (Priority required, not Essential: a minimal system may lack it)"
owner_of() { dpkg-query -S "$1" 2>/dev/null | grep -v '^diversion by' | sed -n 's/^\([^:,]*\)[:,].*/\1/p' | head -n 1; }
# Every program the systemd unit runs is Essential or a declared dependency
# (/bin/kill is procps: neither).
for prog in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$WORK/x/lib/systemd/system/cstbox-export.service"); do
    case "$prog" in /usr/bin/cbx-export*) continue ;; esac
    owner=$(owner_of "$prog")
    [ -n "$owner" ] || owner=$(owner_of "$(readlink -f "$prog")")
    [ -n "$owner" ] || fail "the systemd unit runs $prog, which no package here provides"
    [ "$(dpkg-query -W -f='${Essential}' "$owner")" = yes ] \
        || echo "$DEPENDS" | grep -Eq "(^|, )$owner( |,|$)" \
        || fail "the systemd unit runs $prog (package $owner), neither Essential nor in Depends"
done
say "contents, control fields and dependencies: ok"

t=$(date +%s)
lintian --fail-on error,warning "$CHANGES" >"$WORK/lintian.log" 2>&1 \
    || { grep -v 'running with root privileges' "$WORK/lintian.log" >&2; fail "lintian reports errors or warnings"; }
say "lintian --fail-on error,warning: clean ($(($(date +%s) - t)) s)"

# ---------------------------------------------------------------- 3. install
snapshot >"$WORK/before"
INSTALLED=1
hold_dpkg_lock 2
dpkg_w -i "$DEB" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "dpkg -i failed"; }
echo kept >$STATE_DIR/pkgtest-marker
dpkg_w -i "$DEB" >"$WORK/reinstall.log" 2>&1 || { cat "$WORK/reinstall.log" >&2; fail "reinstalling failed (postinst not idempotent?)"; }
dpkg_w -r $PKG >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log" >&2; fail "dpkg -r failed"; }
[ -f $STATE_DIR/pkgtest-marker ] || fail "dpkg -r (without purge) removed the state in $STATE_DIR"
[ -f /etc/cstbox/export.toml ] || fail "dpkg -r (without purge) removed the conffile"
[ ! -e /usr/bin/cbx-export ] || fail "dpkg -r left /usr/bin/cbx-export"
dpkg_w -i "$DEB" >"$WORK/install2.log" 2>&1 || { cat "$WORK/install2.log" >&2; fail "install after remove failed"; }
rm -f $STATE_DIR/pkgtest-marker
dpkg-query -W -f='${Status}' $PKG | grep -q 'install ok installed' || fail "$PKG is not installed after dpkg -i"
[ "$(stat -c '%U:%G %a' $STATE_DIR)" = "root:root 700" ] \
    || fail "$STATE_DIR is $(stat -c '%U:%G %a' $STATE_DIR 2>&1), expected root:root 700"
ls /etc/rc2.d/S*cstbox-export >/dev/null 2>&1 || fail "update-rc.d did not enable the init script"
(cd "$WORK" && $PY -c 'import pycstbox, pycstbox.export, pycstbox.evtdb
assert getattr(pycstbox, "__file__", None) is None, "pycstbox is not a namespace package"
assert pycstbox.export.__file__.startswith("/usr/lib/python3/dist-packages/pycstbox/"), pycstbox.export.__file__
') || fail "the installed pycstbox does not import from /usr/lib/python3/dist-packages"
for c in cbx-export cbx-evtdb; do
    /usr/bin/$c --help >"$WORK/help.out" 2>&1 || { cat "$WORK/help.out" >&2; fail "$c --help failed"; }
done
say "installed: state dir, rc links, imports and commands ok"

# ---------------------------------------------------------------- 4. service
set +e; init status >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 3 ] || fail "'$INIT status' exits $rc when stopped, expected 3"

if [ -f "$REPO/pycstbox/export/daemon/daemon.py" ]; then
    REAL_DAEMON=1
else
    REAL_DAEMON=0
    say "SKIPPED [daemon] steps: pycstbox/export/daemon/daemon.py is not in the tree yet;"
    say "        the init script is exercised with a stand-in cbx-exportd instead"
fi

CONF=$WORK/export.toml
if [ $REAL_DAEMON = 1 ]; then
    # ---- [daemon] peers: a private D-Bus bus, cbx-evtdb on generated day files, an HTTP receiver.
    mkdir "$WORK/bus" "$WORK/events" "$WORK/recv"
    cat >"$WORK/bus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$WORK/bus/socket</listen>
  <policy context="default">
    <allow send_destination="*"/><allow receive_sender="*"/>
    <allow own="*"/><allow user="*"/>
  </policy>
</busconfig>
EOF
    BUS=unix:path=$WORK/bus/socket
    dbus-daemon --config-file="$WORK/bus/bus.conf" --nofork >"$WORK/bus/log" 2>&1 &
    HELPER_PIDS="$HELPER_PIDS $!"
    wait_for 10 test -S "$WORK/bus/socket" || fail "the private dbus-daemon did not start"
    FIRST=$(date -u -d '2 days ago' +%Y-%m-%d)
    /usr/bin/cbx-evtdb generate --root "$WORK/events" --from "$FIRST" --days 3 \
        --sensors 2 --interval 600 >"$WORK/generate.log" 2>&1 \
        || { cat "$WORK/generate.log" >&2; fail "cbx-evtdb generate failed"; }
    /usr/bin/cbx-evtdb --address "$BUS" --root "$WORK/events" >"$WORK/evtdb.log" 2>&1 &
    HELPER_PIDS="$HELPER_PIDS $!"
    wait_for 15 sh -c "dbus-send --bus='$BUS' --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.NameHasOwner string:fr.cstb.cstbox.EventDatabase | grep -q 'boolean true'" \
        || { cat "$WORK/evtdb.log" >&2; fail "cbx-evtdb did not take its bus name"; }
    $PY "$HERE/http_receiver.py" "$WORK/recv" 240 &
    HELPER_PIDS="$HELPER_PIDS $!"
    wait_for 10 test -s "$WORK/recv/port" || fail "the HTTP receiver did not start"
    PORT=$(cat "$WORK/recv/port")
    cat >"$CONF" <<EOF
site = "pkgtest"
state_dir = "$STATE_DIR"
timezone = "UTC"

[eventstore]
address = "$BUS"
channel = "sensor"

[targets.recv]
type = "http"
url = "http://127.0.0.1:$PORT/upload/{site}"
method = "POST"
field = "file"
timeout = 10

[jobs.daily]
target = "recv"
period = "1d"
delay = "1m"
format = "csv"
compress = "none"
start = $FIRST
EOF
    install -d -m 0700 "$STATE_DIR/outbox/recv"
    sed -i "s#^CONFIG=.*#CONFIG=$CONF#; s#^DAEMON_OPTS=.*#DAEMON_OPTS=\"-L DEBUG\"#" $DEFAULTS
else
    # ---- stand-in daemon: same process name, logs its arguments, stops on SIGTERM.
    mkdir "$WORK/stub"
    cat >"$WORK/stub/cbx-exportd" <<'EOF'
#!/usr/bin/python3
import signal, sys, time
print("stand-in cbx-exportd:", " ".join(sys.argv[1:]), flush=True)
signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
while True:
    time.sleep(1)
EOF
    chmod 0755 "$WORK/stub/cbx-exportd"
    printf '## stand-in configuration\n' >"$CONF"
    sed -i "s#^CONFIG=.*#CONFIG=$CONF#; s#^DAEMON_OPTS=.*#DAEMON_OPTS=\"-L DEBUG\"#" $DEFAULTS
    echo "DAEMON=$WORK/stub/cbx-exportd" >>$DEFAULTS
fi

init start >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" "$LOGFILE" >&2; fail "'$INIT start' failed"; }
PID1=$(daemon_pid)
[ -n "$PID1" ] || { cat "$LOGFILE" >&2; fail "no live cbx-exportd after '$INIT start'"; }
[ "$(cat /proc/$PID1/comm)" = cbx-exportd ] || fail "pid $PID1 is $(cat /proc/$PID1/comm), not cbx-exportd"
set +e; init status >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 0 ] || fail "'$INIT status' exits $rc while running, expected 0"
init start >/dev/null 2>&1 || fail "a second '$INIT start' fails"
[ "$(daemon_pid)" = "$PID1" ] || fail "a second start replaced the running daemon"
tr '\0' ' ' </proc/$PID1/cmdline | grep -q -- "-c $CONF -L DEBUG" \
    || fail "CONFIG/DAEMON_OPTS of $DEFAULTS not passed: $(tr '\0' ' ' </proc/$PID1/cmdline)"
say "started through $INIT (pid $PID1)"

if [ $REAL_DAEMON = 1 ]; then
    # ---- [daemon] a window is exported at its slot.
    wait_for 120 sh -c "grep -l 'timestamp,msec,var_type,var_name,value,units' '$WORK'/recv/*.body" \
        || { tail -n 40 "$LOGFILE" >&2; fail "no exported window reached the HTTP receiver within 120 s"; }
    say "[daemon] a window was exported to the HTTP receiver"
    # ---- [daemon] a file renamed into the outbox is uploaded, then removed.
    MARK="outbox-marker-$$-$(date +%s)"
    echo "$MARK" >"$STATE_DIR/outbox/recv/.drop.tmp"
    mv "$STATE_DIR/outbox/recv/.drop.tmp" "$STATE_DIR/outbox/recv/dropped.txt"
    wait_for 20 sh -c "grep -l '$MARK' '$WORK'/recv/*.body" \
        || { tail -n 40 "$LOGFILE" >&2; fail "the file dropped in the outbox was not uploaded within 20 s"; }
    wait_for 10 test ! -e "$STATE_DIR/outbox/recv/dropped.txt" \
        || fail "the uploaded outbox file was not removed"
    say "[daemon] a file dropped in the outbox was uploaded"
    # ---- [daemon] status: the CLI and the status file see the running daemon.
    wait_for 10 test -s $RUN_DIR/status.json || fail "$RUN_DIR/status.json was not written"
    $PY -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["pid"] == int(sys.argv[2]), s' \
        $RUN_DIR/status.json "$PID1" || fail "$RUN_DIR/status.json does not name pid $PID1"
    /usr/bin/cbx-export -c "$CONF" status >"$WORK/status.out" 2>&1 \
        || { cat "$WORK/status.out" >&2; fail "cbx-export status failed"; }
    daemon_running_says true || fail "cbx-export status --json does not see the running daemon"
    say "[daemon] cbx-export status: ok"
    # ---- [daemon] metrics: node_exporter's default textfile, when node_exporter is installed.
    if [ -d "$(dirname $PROM)" ] && $PY -c 'import prometheus_client' 2>/dev/null; then
        wait_for 10 grep -q '^cstbox_export_daemon_up{site="pkgtest"} 1.0$' $PROM \
            || { tail -n 20 "$LOGFILE" >&2; fail "$PROM does not say that the daemon is up"; }
        say "[daemon] metrics written to $PROM"
    fi
    # ---- [daemon] reload = SIGHUP: the same daemon re-reads its configuration.
    init reload >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" >&2; fail "'$INIT reload' failed"; }
    wait_for 10 grep -q 'configuration reloaded' "$LOGFILE" \
        || { tail -n 10 "$LOGFILE" >&2; fail "the daemon did not log a reload after '$INIT reload'"; }
    [ "$(daemon_pid)" = "$PID1" ] || fail "reload replaced the daemon"
    say "[daemon] reload: ok"
else
    grep -q "stand-in cbx-exportd: -c $CONF -L DEBUG" "$LOGFILE" \
        || { cat "$LOGFILE" >&2; fail "the daemon output does not reach $LOGFILE"; }
fi

init restart >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" >&2; tail -n 30 "$LOGFILE" >&2; fail "'$INIT restart' failed"; }
PID2=$(daemon_pid)
[ -n "$PID2" ] && [ "$PID2" != "$PID1" ] || fail "restart did not start a new daemon (old $PID1, new '$PID2')"
wait_gone "$PID1" 5 || fail "the old daemon $PID1 survived the restart"
say "restarted (pid $PID2)"

# Two starts at once: both succeed (LSB: already running is success), one daemon runs
# and the pid file names it.
t=$(date +%s)
round=0
while [ $round -lt $RACE_ROUNDS ]; do
    round=$((round + 1))
    init stop >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" >&2; fail "race round $round: stop failed"; }
    for p in $(live_daemons); do wait_gone "$p" 20 || true; done
    init start >"$WORK/race1.out" 2>&1 & r1=$!
    init start >"$WORK/race2.out" 2>&1 & r2=$!
    set +e; wait $r1; rc1=$?; wait $r2; rc2=$?; set -e
    [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] \
        || { cat "$WORK/race1.out" "$WORK/race2.out" >&2; tail -n 5 "$LOGFILE" >&2; \
             fail "race round $round: two starts at once exit $rc1 and $rc2, expected 0 and 0"; }
    sleep 0.3     # a loser would be exiting now
    running=$(live_daemons)
    [ "$(echo $running | wc -w)" -eq 1 ] && [ "$running" = "$(daemon_pid)" ] \
        || fail "race round $round: running cbx-exportd: '$(echo $running)', the pid file names '$(daemon_pid)'"
    set +e; init status >/dev/null 2>&1; rc=$?; set -e
    [ $rc -eq 0 ] || fail "race round $round: '$INIT status' exits $rc while the daemon runs"
done
PID2=$(daemon_pid)
say "$RACE_ROUNDS rounds of two starts at once: one daemon, named by the pid file ($(($(date +%s) - t)) s)"

t=$(date +%s)
init stop >"$WORK/init.out" 2>&1 || { cat "$WORK/init.out" >&2; fail "'$INIT stop' failed"; }
wait_gone "$PID2" 20 || fail "cbx-exportd $PID2 still runs 20 s after '$INIT stop'"
set +e; init status >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 3 ] || fail "'$INIT status' exits $rc after stop, expected 3"
if [ $REAL_DAEMON = 1 ]; then
    daemon_running_says false || fail "cbx-export status --json still sees a daemon after stop"
fi
say "stopped in $(($(date +%s) - t)) s; status 3"

if [ $REAL_DAEMON = 1 ]; then
    # ---- [daemon] a configuration error makes start fail (not hidden by --background).
    printf 'site = [\n' >"$WORK/broken.toml"
    sed -i "s#^CONFIG=.*#CONFIG=$WORK/broken.toml#" $DEFAULTS
    set +e; init start >"$WORK/init.out" 2>&1; rc=$?; set -e
    [ $rc -ne 0 ] || fail "'$INIT start' succeeds with a broken configuration"
    [ -z "$(daemon_pid)" ] || fail "a daemon runs with a broken configuration"
    grep -q "broken.toml" "$LOGFILE" || { tail -n 5 "$LOGFILE" >&2; fail "$LOGFILE does not name the broken file"; }
    set +e; init status >/dev/null 2>&1; rc=$?; set -e
    [ $rc -eq 1 ] || [ $rc -eq 3 ] || fail "'$INIT status' exits $rc after a failed start, expected 1 or 3"
    say "[daemon] a broken configuration makes '$INIT start' fail"
fi

# ---------------------------------------------------------------- 5. purge
hold_dpkg_lock 1
dpkg_w --purge $PKG >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "dpkg --purge failed"; }
[ ! -e $PROM ] || fail "$PROM is left behind: node_exporter would serve a removed program's metrics"
INSTALLED=0
dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -qv 'not-installed' && fail "$PKG is still known to dpkg after purge"
snapshot >"$WORK/after"
if ! diff -u "$WORK/before" "$WORK/after" >"$WORK/snapshot.diff"; then
    head -n 40 "$WORK/snapshot.diff" >&2
    fail "the machine is not as it was before the install (diff above)"
fi
say "purged: machine as it was"

# ---------------------------------------------------------------- 6. fresh chroot (result)
t=$(date +%s)
while kill -0 "$FRESH_PID" 2>/dev/null && [ $(($(date +%s) - FRESH_T0)) -lt $FRESH_WAIT ]; do
    sleep 0.1
done
if kill -0 "$FRESH_PID" 2>/dev/null; then
    cat "$WORK/fresh.log" >&2
    fail "the install into a fresh Debian 12 chroot did not finish within $FRESH_WAIT s"
fi
set +e; wait "$FRESH_PID"; rc=$?; set -e
FRESH_PID=""
case $rc in
    0) say "fresh Debian 12: $(tail -n 1 "$WORK/fresh.log" | sed 's/^fresh_install: //'), waited $(($(date +%s) - t)) s for it" ;;
    2) say "SKIPPED [fresh chroot]: $(tail -n 1 "$WORK/fresh.log" | sed 's/^fresh_install: SKIPPED: //')" ;;
    *) cat "$WORK/fresh.log" >&2; fail "the package does not install and run in a fresh Debian 12 (above)" ;;
esac
say "PASS"
