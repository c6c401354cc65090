#!/bin/sh
# The end-to-end part of tools/arm-check.sh, run inside an arm64/armhf chroot (and, for the
# byte comparison, on the host with the checkout's commands in PATH):
#
#   sh arm-e2e.sh exports DIR    day files in DIR/events -> DIR/out/*: the same windows
#                                exported over D-Bus (cbx-evtdb on a private bus) and from
#                                the day files, csv.gz and jsonl
#   sh arm-e2e.sh service DIR    cbx-export run to a dir target, status, audit --deep, and the
#                                init script with a file dropped in an outbox
#
# Prints "arm-e2e: ..." lines; the last one is "arm-e2e: PASS ..." or "arm-e2e: FAIL ...".
# Peak memory (VmHWM; under qemu-user it includes the emulator) goes to DIR/memory.
set -eu
PART=$1
W=$(cd "$2" && pwd)
DAY=2026-11-21
say() { echo "arm-e2e: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
wait_for() { n=$1; shift; i=0; while [ $i -lt $((n * 10)) ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done; return 1; }

BUS=$W/bus
start_bus() {
    mkdir -p "$BUS"
    cat >"$BUS/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$BUS/socket</listen>
  <policy context="default">
    <allow send_destination="*"/><allow receive_sender="*"/>
    <allow own="*"/><allow user="*"/>
  </policy>
</busconfig>
EOF
    rm -f "$BUS/socket"
    dbus-daemon --config-file="$BUS/bus.conf" --nofork >"$BUS/log" 2>&1 &
    echo $! >"$BUS/dbus.pid"
    wait_for 30 test -S "$BUS/socket" || fail "the private dbus-daemon did not start"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$BUS/socket"
    cbx-evtdb --root "$W/events" >"$BUS/evtdb.log" 2>&1 &
    echo $! >"$BUS/evtdb.pid"
    cat >"$W/ping.toml" <<EOF
site = "arm"
state_dir = "$W/ping-state"
[eventstore]
address = "unix:path=$BUS/socket"
read = "dbus"
EOF
    wait_for 60 sh -c "cbx-export -c '$W/ping.toml' export --from $DAY --to 2026-11-21T00:01:00Z -o /dev/null \
        >/dev/null 2>&1" || { cat "$BUS/evtdb.log" >&2; fail "cbx-evtdb did not answer on the bus"; }
}
stop_bus() {
    pid=$(cat "$BUS/evtdb.pid")
    echo "cbx-evtdb $(grep VmHWM /proc/$pid/status | tr -s ' \t' ' ')" >>"$W/memory" || true
    kill "$pid" $(cat "$BUS/dbus.pid") 2>/dev/null || true
}

config() {  # config NAME READ
    cat >"$W/$1.toml" <<EOF
site = "arm"
state_dir = "$W/state-$1"
timezone = "Europe/Paris"

[eventstore]
address = "unix:path=$BUS/socket"
read = "$2"
root = "$W/events"

[targets.usb]
type = "dir"
path = "$W/usb"

[jobs.daily]
target = "usb"
period = "1d"
format = "csv"
compress = "gzip"
start = $DAY

[jobs.hourly]
target = "usb"
period = "1h"
format = "jsonl"
start = $DAY
EOF
}

peak() {  # peak LABEL CMD...: run CMD, append its peak RSS (KiB) to DIR/memory
    CBX_MEMORY_FILE="$W/memory" python3 -c 'import os, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(os.environ["CBX_MEMORY_FILE"], "a") as out:
    out.write("%s VmHWM: %d kB\n" % (sys.argv[1], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$@"
}

case $PART in
exports)
    start_bus
    mkdir -p "$W/out"
    for read in dbus files; do
        config $read $read
        for fmt in csv jsonl; do
            peak "cbx-export-export-$read-$fmt" cbx-export -c "$W/$read.toml" export \
                --from $DAY --to 2026-11-23 --format $fmt -o "$W/out/$read.$fmt" \
                || fail "export over $read ($fmt) failed"
        done
    done
    stop_bus
    cmp "$W/out/dbus.csv" "$W/out/files.csv" || fail "csv: D-Bus and day-file exports differ"
    cmp "$W/out/dbus.jsonl" "$W/out/files.jsonl" || fail "jsonl: D-Bus and day-file exports differ"
    say "PASS exports: $(wc -l <"$W/out/dbus.csv") csv lines, D-Bus = day files"
    ;;
service)
    start_bus
    config run auto
    mkdir -p "$W/usb"
    CBX_EXPORT_NOW=2026-11-23T06:00:00Z cbx-export -c "$W/run.toml" run 2>"$W/run.log" \
        || { tail -n 5 "$W/run.log" >&2; fail "cbx-export run failed"; }
    # 2 daily windows (Paris days 21, 22) and 54 hourly ones (Nov 20 23:00Z .. Nov 23 05:00Z)
    grep -q 'run: 56 queued, 56 delivered, 0 pending' "$W/run.log" \
        || { tail -n 3 "$W/run.log" >&2; fail "expected 56 windows delivered"; }
    n=$(ls "$W/usb" | wc -l)
    [ "$n" -ge 50 ] || fail "expected the non-empty windows at the dir target, found $n files"
    cbx-export -c "$W/run.toml" status >"$W/status.txt" || fail "status exit $?"
    CBX_EXPORT_NOW=2026-11-23T06:00:00Z cbx-export -c "$W/run.toml" audit --deep \
        >"$W/audit.txt" 2>&1 || { cat "$W/audit.txt" >&2; fail "audit --deep found gaps"; }
    grep -q 'hourly: 54 window.*54 ok' "$W/audit.txt" || { cat "$W/audit.txt" >&2; fail "audit did not say ok"; }
    # the init script, the shipped daemon, a file dropped in an outbox
    config svc auto
    mkdir -p "$W/state-svc/outbox/usb"
    echo "CONFIG=$W/svc.toml" >/etc/default/cstbox-export
    /etc/init.d/cstbox-export start || fail "the init script did not start the daemon"
    /etc/init.d/cstbox-export status >/dev/null || fail "init script status: not running"
    printf 'dropped\n' >"$W/state-svc/outbox/usb/.drop.tmp"
    mv "$W/state-svc/outbox/usb/.drop.tmp" "$W/state-svc/outbox/usb/dropped.txt"
    wait_for 120 test -f "$W/usb/dropped.txt" || {
        tail -n 20 /var/log/cstbox/cstbox-export.log >&2; fail "the outbox file was not delivered"; }
    pid=$(cat /run/cstbox-export/cbx-exportd.pid 2>/dev/null || echo)
    [ -n "$pid" ] && echo "cbx-exportd $(grep VmHWM /proc/$pid/status | tr -s ' \t' ' ')" >>"$W/memory"
    /etc/init.d/cstbox-export stop || fail "the init script did not stop the daemon"
    rm -f /etc/default/cstbox-export
    stop_bus
    say "PASS service: run (56 windows), status, audit --deep, init script + outbox"
    ;;
*)
    fail "usage: arm-e2e.sh exports|service DIR"
    ;;
esac
