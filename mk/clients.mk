# The C and Python clients (Clients/): build, and test against a live personalizerd.
# Included by the top-level Makefile, which provides PYTHON, deps-deb, deps-python and build.

PERSONALIZERD ?= $(CURDIR)/.build/debug/personalizerd

.PHONY: clients-build test-clients test-c-client test-python-client

clients-build: deps-deb
	$(MAKE) -C Clients/c

test-clients: test-c-client test-python-client

# The test program and the example, both under valgrind (leaks are errors).
test-c-client: clients-build build
	PERSONALIZERD=$(PERSONALIZERD) Clients/c/run-tests.sh

# Installs the package into the venv (as a user would), then runs its tests; any pytest exit
# status but 0 (failures, errors, no tests collected, interrupted) fails the target.
test-python-client: deps-python build
	rm -rf Clients/python/build
	$(PYTHON) -m pip install -q --no-build-isolation ./Clients/python
	PERSONALIZERD=$(PERSONALIZERD) $(PYTHON) -m pytest -q Clients/python
