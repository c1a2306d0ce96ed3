# Personalizer — build, run, test.
#   make run    install what is missing, build, start the server on ./data
#   make test   install what is missing, build, run every test (Swift, C client, Python client)
#   make proto  regenerate the committed protobuf code from proto/

SHELL := /bin/bash
.DEFAULT_GOAL := build

SWIFT ?= swift
DATA_DIR ?= ./data
CONFIG ?=
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG),)
VENV := .venv
PYTHON := $(VENV)/bin/python
PROTO := proto/personalizer/v1/personalizer.proto
DEB_PACKAGES := libuv1-dev libprotobuf-c-dev protobuf-c-compiler pkg-config valgrind

.PHONY: build release run test test-swift test-generated test-export proto deps deps-deb deps-python clean

# --- installing what a fresh machine lacks ------------------------------------------------
deps: deps-deb deps-python

deps-deb:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

deps-python: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $@

# --- building -------------------------------------------------------------------------------
build: deps-deb
	$(SWIFT) build

release: deps-deb
	$(SWIFT) build -c release

run: release
	@mkdir -p $(DATA_DIR)
	.build/release/personalizerd --data-dir $(DATA_DIR) $(CONFIG_FLAG)

# --- tests ----------------------------------------------------------------------------------
test: deps test-generated fuzz-smoke test-swift test-allocations test-c-client test-python-client test-export

test-swift: deps-deb
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

# Exported events are read and learned from by Vowpal Wabbit itself.
test-export: deps-python build
	$(PYTHON) -m pip install -q --no-build-isolation ./Clients/python
	PERSONALIZER_BIN=$(CURDIR)/.build/debug $(PYTHON) -m pytest -q tests/export

# Generated code must match what `make proto` would write now.
test-generated: deps
	scripts/check-generated.sh

# --- generated code -------------------------------------------------------------------------
proto: deps
	scripts/generate-proto.sh .

clean:
	rm -rf .build
	$(MAKE) -C Clients/c clean
	rm -rf Clients/python/build

include mk/clients.mk
include mk/fuzz.mk
include mk/bench-durability.mk
include mk/bench-rank.mk
include mk/bench-learning.mk
include mk/bench.mk
include mk/soak.mk
