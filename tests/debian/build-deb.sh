#!/bin/sh
# Builds the cstbox-export .deb from a scratch copy of the work tree.
#
#   sh tests/debian/build-deb.sh [OUTDIR]      (make deb)
#
# Copies the files git knows about (tracked, plus untracked ones that are not
# ignored) to a temporary directory, runs `dpkg-buildpackage -us -uc -b` there
# with PATH=/usr/sbin:/usr/bin:/sbin:/bin and a clean environment (pybuild runs
# a bare python3.X: it must be Debian's), and copies the .deb, .changes and
# .buildinfo to OUTDIR (default: build/deb in the work tree).
# The last line printed on stdout is the path of the .deb. Exit 0 on success.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUTDIR=${1:-$REPO/build/deb}
SAFE_PATH=/usr/sbin:/usr/bin:/sbin:/bin

for tool in dpkg-buildpackage dpkg-parsechangelog; do
    if ! PATH=$SAFE_PATH command -v $tool >/dev/null 2>&1; then
        echo "build-deb: $tool is missing: install dpkg-dev, debhelper and dh-python (sh .ci/install-deps)" >&2
        exit 2
    fi
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cbx-build-deb.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM HUP

VERSION=$(cd "$REPO" && PATH=$SAFE_PATH dpkg-parsechangelog -S Version)
SRC=$SCRATCH/cstbox-export-$VERSION
mkdir -p "$SRC"

# The copy: what git sees in the work tree (never .git, nor ignored build debris).
if [ -d "$REPO/.git" ] && command -v git >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$REPO" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done; true' sh) \
        | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
    (cd "$REPO" && tar --exclude=.git --exclude='*.egg-info' --exclude=__pycache__ \
        --exclude=./build -cf - .) | tar -xf - -C "$SRC"
fi

# The conffile's source is written by another part of the project: until it
# exists, build with a placeholder in the scratch copy only (never in the repo).
if [ ! -f "$SRC/etc/export.toml" ]; then
    echo "build-deb: etc/export.toml is missing: using a placeholder in the scratch copy" >&2
    mkdir -p "$SRC/etc"
    printf '## cstbox-export configuration (placeholder: etc/export.toml missing at build time)\n' \
        >"$SRC/etc/export.toml"
fi

start=$(date +%s)
if ! (cd "$SRC" && env -i PATH=$SAFE_PATH HOME="$SCRATCH" LC_ALL=C.UTF-8 \
        ${DEB_BUILD_OPTIONS:+DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS"} \
        dpkg-buildpackage -us -uc -b) >"$SCRATCH/build.log" 2>&1; then
    tail -n 60 "$SCRATCH/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (last lines above)" >&2
    exit 1
fi
end=$(date +%s)

mkdir -p "$OUTDIR"
deb=$(ls "$SCRATCH"/cstbox-export_"$VERSION"_all.deb)
cp "$deb" "$SCRATCH"/cstbox-export_"$VERSION"_*.changes "$SCRATCH"/cstbox-export_"$VERSION"_*.buildinfo "$OUTDIR"/
echo "build-deb: built in $((end - start)) s" >&2
echo "$OUTDIR/$(basename "$deb")"
