#!/bin/sh
# Quick start from a source checkout: installs what is missing, then runs the demo.
set -e
cd "$(dirname "$0")/.."
sh .ci/install-deps
exec /usr/bin/python3 tools/demo.py "$@"
