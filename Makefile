# cstbox-export — developer entry points. Everything runs with Debian's /usr/bin/python3.
PYTHON := /usr/bin/python3
export PYTHONPATH := $(CURDIR)

.PHONY: test deps deb bench demo

# The test command (README, CI): installs missing Debian packages, then runs the suite.
test:
	sh .ci/test

deps:
	sh .ci/install-deps

deb: deps
	sh tests/debian/build-deb.sh

bench: deps
	for b in bench/*.py; do echo "== $$b"; $(PYTHON) $$b; done

demo: deps
	sh tools/demo.sh
