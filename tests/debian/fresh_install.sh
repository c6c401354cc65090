#!/bin/sh
# Installs a cstbox-export .deb with apt into a fresh minimal Debian 12 chroot (the
# `mmdebstrap --variant=apt` system: Essential packages and apt, no tzdata, no python3)
# and runs it there: a missing dependency cannot hide behind what a developer machine
# happens to have (issue 10, defect 18: tzdata).  Run by package_test.sh, as root:
#
#   sh tests/debian/fresh_install.sh DEB
#
# Steps, each bounded in time: a fresh chroot (extracted from a cached mmdebstrap
# tarball, rebuilt when older than CBX_FRESH_MAX_AGE days), apt-get update, download of
# the dependencies, `apt-get install ./DEB` (exit 0), then in the chroot: a configuration
# with timezone "Europe/Paris" loads (zone files come from Depends), the init script
# starts the daemon with the shipped configuration, `status` says it runs, `stop` stops it.
# Cache (outside the checkout, reused between runs): CBX_FRESH_CACHE, default
# /var/cache/cstbox-export-test: the base tarball and apt's downloaded .debs.
# Exit: 0 passed, 1 failed, 2 skipped (not root, mmdebstrap missing, mirror unreachable:
# the reason is on the last line).
set -eu

DEB=$(readlink -f "$1")
CACHE=${CBX_FRESH_CACHE:-/var/cache/cstbox-export-test}
MAX_AGE=${CBX_FRESH_MAX_AGE:-7}
BASE=$CACHE/bookworm-apt.tar
T0=$(date +%s)

say() { echo "fresh_install: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIPPED: $*"; exit 2; }

[ "$(id -u)" = 0 ] || skip "must run as root (chroot, mounts)"
[ -f "$DEB" ] || fail "no .deb at $1"
command -v mmdebstrap >/dev/null 2>&1 \
    || skip "mmdebstrap is not installed (apt-get install mmdebstrap, or sh .ci/install-deps)"
for tool in mount umount mountpoint chroot timeout tar flock; do
    command -v $tool >/dev/null 2>&1 || skip "$tool is missing here"
done

mkdir -p "$CACHE/archives/partial"
exec 7>>"$CACHE/lock"
flock -w 300 7 || skip "another fresh install holds $CACHE/lock for more than 300 s"

R=$(mktemp -d /var/tmp/cbx-fresh-install.XXXXXX)
LOG=$R.log
cleanup() {
    rc=$?
    set +e
    trap - EXIT INT TERM HUP
    # whatever still runs inside the chroot (a daemon left by a failed step)
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for m in "$R/var/cache/apt/archives" "$R/proc"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    rm -rf --one-file-system "$R" "$LOG"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# in_chroot SECONDS CMD...: CMD in the chroot with init's environment, bounded in time.
in_chroot() {
    limit=$1; shift
    timeout -k 5 "$limit" chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
tail_log() { tail -n "${1:-15}" "$LOG" | sed 's/^/    /' >&2; }

# ---- the base system: cached tarball of `mmdebstrap --variant=apt bookworm`
if [ ! -s "$BASE" ] || [ -n "$(find "$BASE" -mtime +"$MAX_AGE" 2>/dev/null)" ]; then
    t=$(date +%s)
    rm -f "$CACHE/new.tar"
    if ! timeout -k 10 300 mmdebstrap --variant=apt --quiet --format=tar bookworm \
            "$CACHE/new.tar" >"$LOG" 2>&1; then
        tail_log
        rm -f "$CACHE/new.tar"
        skip "mmdebstrap could not build a Debian 12 system within 300 s (mirror unreachable?)"
    fi
    mv "$CACHE/new.tar" "$BASE"
    say "built the base system in $(($(date +%s) - t)) s (cached in $BASE)"
fi
tar -C "$R" -xf "$BASE" || { rm -f "$BASE"; fail "cannot extract $BASE (removed: rebuilt next time)"; }
mount -t proc proc "$R/proc"
mount --bind "$CACHE/archives" "$R/var/cache/apt/archives"
cp "$DEB" "$R/tmp/"
PKG=/tmp/$(basename "$DEB")

# ---- the network part: index and packages (a failure here is the mirror's)
APT="apt-get -q -o DPkg::Lock::Timeout=60 -o Acquire::Retries=2 -o Acquire::http::Timeout=30"
in_chroot 180 $APT update >"$LOG" 2>&1 || { tail_log; skip "apt-get update failed (mirror unreachable?)"; }
in_chroot 240 $APT install -y --no-install-recommends --download-only "$PKG" >"$LOG" 2>&1 \
    || { tail_log; grep -Eq 'unmet dependencies|not installable|Unable to correct' "$LOG" \
             && fail "apt cannot resolve the dependencies of $(basename "$DEB")"
         skip "downloading the dependencies failed (mirror unreachable?)"; }

# ---- the install: offline from here, every failure is the package's
in_chroot 240 $APT install -y --no-install-recommends "$PKG" >"$LOG" 2>&1 \
    || { tail_log 25; fail "apt-get install ./$(basename "$DEB") failed in a fresh Debian 12"; }
in_chroot 20 dpkg-query -W -f='${Status}' cstbox-export | grep -q 'install ok installed' \
    || fail "cstbox-export is not installed after apt-get install"

cat >"$R/tmp/paris.toml" <<'EOF'
site = "fresh"
state_dir = "/tmp/state"
timezone = "Europe/Paris"

[targets.usb]
type = "dir"
path = "/tmp/usb"

[jobs.daily]
target = "usb"
period = "1d"
EOF
in_chroot 60 cbx-export -c /tmp/paris.toml backlog list >"$LOG" 2>&1 \
    || { tail_log; fail "a configuration with timezone \"Europe/Paris\" does not load (tzdata?)"; }

in_chroot 60 /etc/init.d/cstbox-export start >"$LOG" 2>&1 \
    || { tail_log; tail -n 10 "$R/var/log/cstbox/cstbox-export.log" >&2; \
         fail "the init script cannot start the daemon with the shipped configuration"; }
in_chroot 20 /etc/init.d/cstbox-export status >"$LOG" 2>&1 \
    || { tail_log; fail "'status' does not see the daemon started in the fresh system"; }
in_chroot 60 /etc/init.d/cstbox-export stop >"$LOG" 2>&1 || { tail_log; fail "'stop' failed"; }
say "PASS: installed with apt in a fresh Debian 12 and ran there ($(($(date +%s) - T0)) s)"
