#!/bin/sh
# Run the README's test command in a brand-new Debian 12 chroot (mmdebstrap minbase):
# the proof that `.ci/install-deps` installs everything the suite needs on a fresh machine
# (a green run on a developer machine can hide a missing install step).
# Usage (root): sh tools/fresh-check.sh [DIR]   (~12 s for the chroot, ~2 min of installs,
# then the suite). Everything is under DIR (default: a new /var/tmp/cbx-fresh.XXXXXX), removed
# at the end unless KEEP=1.
set -eu
[ "$(id -u)" = 0 ] || { echo "fresh-check: must run as root" >&2; exit 2; }
command -v mmdebstrap >/dev/null || apt-get install -y -qq mmdebstrap >/dev/null
REPO=$(cd "$(dirname "$0")/.." && pwd)
R=${1:-$(mktemp -d /var/tmp/cbx-fresh.XXXXXX)}
cleanup() {
    for m in run tmp sys dev proc; do umount -R "$R/$m" 2>/dev/null || true; done
    [ "${KEEP:-0}" = 1 ] || rm -rf --one-file-system "$R"
}
trap cleanup EXIT
rmdir "$R" 2>/dev/null || true
mmdebstrap --variant=minbase bookworm "$R" >/dev/null
git clone -q "$REPO" "$R/repo"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# this workplace reaches the package registries through a proxy whose CA is in the host's
# bundle (and named by PIP_CERT, as on every machine here): pip in the chroot needs it too
PIPCERT=
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
    cp "$PIP_CERT" "$R/root/registry-ca.crt"
    PIPCERT=/root/registry-ca.crt
fi
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t sysfs sys "$R/sys"
mount -t tmpfs tmpfs "$R/tmp"
mount -t tmpfs tmpfs "$R/run"
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root CI=true \
    ${PIPCERT:+PIP_CERT=$PIPCERT} \
    sh -c 'cd /repo && sh .ci/run'
