#!/bin/sh
# Install-and-run check of cstbox-export on ARM gateways (arm64, armhf), under qemu-user:
#
#   sh tools/arm-check.sh [ARCH...]        (root; default: arm64 armhf)
#
# For each architecture: a Debian 12 chroot (`mmdebstrap --variant=apt`, cached as a tarball
# in CBX_ARM_CACHE, default /var/cache/cstbox-export-test), `apt-get install
# --no-install-recommends ./cstbox-export_*_all.deb` (its Depends only: exit 0), every command
# starts (--help, --version), then the test tools (dbus, python3-gi) and tools/arm-e2e.sh:
# the same windows exported over D-Bus (cbx-evtdb on a private bus) and from the day files,
# compared byte for byte with each other and with the same exports on this host; a run to a
# dir target (50 windows), status, audit --deep, the init script with an outbox file.
# Peak memory of cbx-export, cbx-evtdb and cbx-exportd is printed (qemu-user included).
#
# Needs: qemu-user-static, binfmt-support, arch-test, mmdebstrap (apt-get install them);
# binfmt_misc is mounted and enabled here when it is not. Exit 0 passed, 1 failed,
# 2 cannot run here (the reason on the last line). Time: ~1-1.5 min per chroot the first
# time (cached after), ~2-4 min per architecture for the install and the run.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${CBX_ARM_CACHE:-/var/cache/cstbox-export-test}
MAX_AGE=${CBX_FRESH_MAX_AGE:-7}
ARCHES=${*:-arm64 armhf}
T0=$(date +%s)
say() { echo "arm-check: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "cannot run here: $*"; exit 2; }

[ "$(id -u)" = 0 ] || skip "must run as root (chroot, mounts, binfmt)"
for tool in mmdebstrap arch-test qemu-aarch64-static qemu-arm-static update-binfmts chroot \
        mount umount mountpoint timeout tar flock; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is missing: apt-get install qemu-user-static binfmt-support arch-test mmdebstrap"
done
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
        || skip "binfmt_misc cannot be mounted (a container without it cannot run foreign binaries)"
fi
update-binfmts --enable >/dev/null 2>&1 || true
for arch in $ARCHES; do
    arch-test "$arch" >/dev/null 2>&1 || skip "this kernel cannot run $arch binaries (arch-test $arch: $(arch-test "$arch" 2>&1 | tail -n 1))"
done

W=$(mktemp -d /var/tmp/cbx-arm-check.XXXXXX)
ROOTS=""
cleanup() {
    rc=$?
    set +e
    trap - EXIT INT TERM HUP
    for R in $ROOTS; do
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null
        done
        for m in "$R/var/cache/apt/archives" "$R/proc" "$R/dev/pts" "$R/dev"; do
            mountpoint -q "$m" 2>/dev/null && umount -l "$m"
        done
        rm -rf --one-file-system "$R"
    done
    rm -rf "$W"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the package, and the host's exports (the reference bytes)
t=$(date +%s)
sh "$REPO/tests/debian/build-deb.sh" >"$W/build.log" 2>&1 || { tail -n 20 "$W/build.log" >&2; fail "the .deb does not build"; }
DEB=$(ls "$REPO"/build/deb/cstbox-export_*_all.deb | tail -n 1)
say "built $(basename "$DEB") in $(($(date +%s) - t)) s"
mkdir -p "$W/host/bin" "$W/host/run"
for cmd in cbx-export:pycstbox.export cbx-evtdb:pycstbox.evtdb; do
    printf '#!/bin/sh\nPYTHONPATH=%s exec /usr/bin/python3 -m %s "$@"\n' "$REPO" "${cmd#*:}" >"$W/host/bin/${cmd%%:*}"
    chmod +x "$W/host/bin/${cmd%%:*}"
done
PATH=$W/host/bin:$PATH cbx-evtdb generate --root "$W/events" --from 2026-11-20 --days 4 \
    --sensors 6 --interval 300 >/dev/null
cp -a "$W/events" "$W/host/run/events"
PATH=$W/host/bin:/usr/bin:/bin CBX_EXPORT_METRICS_TEXTFILE= sh "$HERE/arm-e2e.sh" exports "$W/host/run" \
    || fail "the exports fail on the host itself"

APT="apt-get -q -o DPkg::Lock::Timeout=60 -o Acquire::Retries=2 -o Acquire::http::Timeout=30"
for arch in $ARCHES; do
    ta=$(date +%s)
    BASE=$CACHE/bookworm-apt-$arch.tar
    mkdir -p "$CACHE/archives-$arch/partial"
    if [ ! -s "$BASE" ] || [ -n "$(find "$BASE" -mtime +"$MAX_AGE" 2>/dev/null)" ]; then
        rm -f "$BASE.new"
        timeout -k 10 900 mmdebstrap --variant=apt --quiet --architectures="$arch" --format=tar \
            bookworm "$BASE.new" >"$W/mmdebstrap-$arch.log" 2>&1 \
            || { tail -n 15 "$W/mmdebstrap-$arch.log" >&2; rm -f "$BASE.new"; skip "mmdebstrap $arch failed (mirror unreachable?)"; }
        mv "$BASE.new" "$BASE"
        say "$arch: built the base system in $(($(date +%s) - ta)) s (cached in $BASE)"
    fi
    R=$(mktemp -d /var/tmp/cbx-arm-$arch.XXXXXX)
    ROOTS="$ROOTS $R"
    tar -C "$R" -xf "$BASE" || { rm -f "$BASE"; fail "cannot extract $BASE (removed: rebuilt next time)"; }
    mount -t proc proc "$R/proc"
    mount --bind "$CACHE/archives-$arch" "$R/var/cache/apt/archives"
    cp "$DEB" "$R/tmp/"
    in_chroot() {
        limit=$1; shift
        timeout -k 5 "$limit" chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive CBX_EXPORT_METRICS_TEXTFILE= "$@"
    }
    LOG=$W/$arch.log
    [ "$(in_chroot 30 dpkg --print-architecture)" = "$arch" ] || fail "$arch: the chroot is not $arch"
    in_chroot 300 $APT update >"$LOG" 2>&1 || { tail -n 15 "$LOG" >&2; skip "$arch: apt-get update failed (mirror unreachable?)"; }
    ti=$(date +%s)
    in_chroot 900 $APT install -y --no-install-recommends "/tmp/$(basename "$DEB")" >"$LOG" 2>&1 \
        || { tail -n 25 "$LOG" >&2; fail "$arch: apt-get install ./$(basename "$DEB") (Depends only) failed"; }
    say "$arch: installed with its Depends only in $(($(date +%s) - ti)) s"
    for c in "cbx-export --help" "cbx-export --version" "cbx-exportd --help" "cbx-evtdb --help" \
            "cbx-evtdb generate --help"; do
        in_chroot 120 $c >"$LOG" 2>&1 || { cat "$LOG" >&2; fail "$arch: '$c' does not start"; }
    done
    in_chroot 900 $APT install -y --no-install-recommends dbus python3-gi >"$LOG" 2>&1 \
        || { tail -n 15 "$LOG" >&2; fail "$arch: cannot install the test tools (dbus python3-gi)"; }
    cp "$HERE/arm-e2e.sh" "$R/tmp/arm-e2e.sh"
    for part in exports service; do
        mkdir -p "$R/tmp/$part"
        cp -a "$W/events" "$R/tmp/$part/events"
        in_chroot 900 sh /tmp/arm-e2e.sh $part /tmp/$part >"$LOG" 2>&1 \
            || { tail -n 25 "$LOG" >&2; fail "$arch: the $part part failed"; }
        tail -n 1 "$LOG" >&2
    done
    for f in dbus.csv files.csv dbus.jsonl files.jsonl; do
        cmp "$W/host/run/out/$f" "$R/tmp/exports/out/$f" || fail "$arch: $f differs from the host's export"
    done
    say "$arch: exports byte-identical to the host's ($(cat "$W/host/run/out/dbus.csv" | wc -c) + $(cat "$W/host/run/out/dbus.jsonl" | wc -c) bytes)"
    sed "s/^/arm-check: $arch: peak memory (qemu included): /" "$R/tmp/exports/memory" "$R/tmp/service/memory" >&2
    say "$arch: PASS in $(($(date +%s) - ta)) s"
done
say "PASS: $ARCHES in $(($(date +%s) - T0)) s"
