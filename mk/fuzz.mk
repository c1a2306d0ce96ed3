# Fuzzing (libFuzzer) and the test suite under AddressSanitizer and ThreadSanitizer.
# Included by the top-level Makefile, which provides SWIFT and deps-deb. See fuzz/README.md.
#
#   make fuzz-smoke      ~25 s of fuzzing from the committed corpus; any finding fails (part of `make test`)
#   make fuzz            the long run: FUZZ_SECONDS (default 600) on FUZZ_JOBS processes (default 1)
#   make fuzz-replay     every committed input (fuzz/corpus, fuzz/regressions) through the plain-build replayer
#   make fuzz-seeds      rewrite fuzz/corpus/ from the generator in Sources/PersonalizerFuzz/SeedCorpus.swift
#   make sanitize        build and run the Swift tests under ASan, then under TSan; any report fails
#
# The fuzz binary is a release build with `-sanitize=fuzzer,address` in .build-fuzz; the sanitizer
# builds use .build-asan and .build-tsan. Fuzzing output (the growing corpus, crash inputs) lives
# in .build-fuzz/work/, never in the committed corpus.

FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 1
FUZZ_SMOKE_SECONDS ?= 25
FUZZ_SMOKE_RUNS ?= 200000
FUZZ_SEED ?= 1
FUZZ_MAX_LEN ?= 4096
FUZZ_RSS_MB ?= 2048
FUZZ_TIMEOUT ?= 10
FUZZ_ARGS ?=

FUZZ_SCRATCH := .build-fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/release/personalizer-fuzz
FUZZ_WORK := $(FUZZ_SCRATCH)/work
FUZZ_BUILD_FLAGS := -c release --scratch-path $(FUZZ_SCRATCH) --product personalizer-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address
# Leaks are findings (libFuzzer checks every input that allocates more than it frees).
FUZZ_ASAN_OPTIONS := detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=64:handle_abort=1
FUZZ_COMMON_ARGS := -max_len=$(FUZZ_MAX_LEN) -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT) \
	-dict=fuzz/personalizer.dict -print_final_stats=1 $(FUZZ_ARGS)

# Tests skipped under the sanitizers: assertions on wall-clock bounds that a 2-10x slower,
# sanitized server cannot meet (they run in `make test`). SANITIZE_SKIP= runs everything.
SANITIZE_SKIP ?= testKillNineInIntervalModeLosesAtMostTheLastInterval
SANITIZE_TEST_FLAGS ?= --disable-swift-testing $(if $(SANITIZE_SKIP),--skip '$(SANITIZE_SKIP)',)
SANITIZE_LOGS := $(CURDIR)/.build-sanitize-logs

.PHONY: fuzz-build fuzz-smoke fuzz fuzz-replay fuzz-seeds sanitize sanitize-asan sanitize-tsan

fuzz-build: deps-deb
	$(SWIFT) build $(FUZZ_BUILD_FLAGS)

# Short and bounded (time and runs), from a fresh copy of the committed corpus: libFuzzer first
# runs every committed input, then mutates. It exits non-zero on a crash, a broken invariant, a
# leak, a timeout or running out of memory, and so does this target.
fuzz-smoke: fuzz-build
	@rm -rf $(FUZZ_WORK)/smoke-corpus $(FUZZ_WORK)/smoke-artifacts
	@mkdir -p $(FUZZ_WORK)/smoke-corpus $(FUZZ_WORK)/smoke-artifacts
	ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) $(FUZZ_BIN) $(FUZZ_COMMON_ARGS) -seed=$(FUZZ_SEED) \
	  -max_total_time=$(FUZZ_SMOKE_SECONDS) -runs=$(FUZZ_SMOKE_RUNS) \
	  -artifact_prefix=$(FUZZ_WORK)/smoke-artifacts/ \
	  $(FUZZ_WORK)/smoke-corpus fuzz/corpus fuzz/regressions 2> $(FUZZ_WORK)/smoke.log \
	  || { tail -n 80 $(FUZZ_WORK)/smoke.log; echo "fuzz-smoke: FINDING (input saved in $(FUZZ_WORK)/smoke-artifacts/; see fuzz/README.md)"; exit 1; }
	@if [ -n "$$(ls -A $(FUZZ_WORK)/smoke-artifacts)" ]; then \
	  ls -l $(FUZZ_WORK)/smoke-artifacts; echo "fuzz-smoke: FINDING"; exit 1; fi
	@grep -E "^(INFO: seed corpus|#[0-9]+ +(INITED|DONE))|stat::number_of_executed_units|Done [0-9]+ runs" $(FUZZ_WORK)/smoke.log || true
	@echo "fuzz-smoke: no findings ($(FUZZ_SMOKE_SECONDS) s at most, log in $(FUZZ_WORK)/smoke.log)"

# The long run. Its corpus grows in $(FUZZ_WORK)/corpus from one run to the next; findings go to
# $(FUZZ_WORK)/artifacts/.
fuzz: fuzz-build
	@mkdir -p $(FUZZ_WORK)/corpus $(FUZZ_WORK)/artifacts
	ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) $(FUZZ_BIN) $(FUZZ_COMMON_ARGS) \
	  -max_total_time=$(FUZZ_SECONDS) $(if $(filter-out 1,$(FUZZ_JOBS)),-fork=$(FUZZ_JOBS) -ignore_crashes=1,) \
	  -artifact_prefix=$(FUZZ_WORK)/artifacts/ \
	  $(FUZZ_WORK)/corpus fuzz/corpus fuzz/regressions
	@if [ -n "$$(ls -A $(FUZZ_WORK)/artifacts)" ]; then \
	  ls -l $(FUZZ_WORK)/artifacts; echo "fuzz: FINDINGS in $(FUZZ_WORK)/artifacts/"; exit 1; fi
	@echo "fuzz: no findings in $(FUZZ_SECONDS) s; corpus: $$(ls $(FUZZ_WORK)/corpus | wc -l) inputs in $(FUZZ_WORK)/corpus"

# Without libFuzzer: the plain build's replayer (what FuzzRegressionTests runs).
fuzz-replay: deps-deb
	$(SWIFT) build --product personalizer-fuzz
	.build/debug/personalizer-fuzz fuzz/corpus fuzz/regressions

fuzz-seeds: deps-deb
	$(SWIFT) build --product personalizer-fuzz
	rm -f fuzz/corpus/raw-* fuzz/corpus/gen-*
	.build/debug/personalizer-fuzz --write-seeds fuzz/corpus

# --- sanitizers ------------------------------------------------------------------------------
# The whole Swift test suite, built with the sanitizer; the integration tests start the
# personalizerd next to the test bundle, which is then sanitized too. Reports of every process
# (tests and servers) go to files in $(SANITIZE_LOGS)/<kind>/; the target fails if a test fails
# or if any report file appears.
sanitize: sanitize-asan sanitize-tsan

sanitize-asan: deps-deb
	@rm -rf $(SANITIZE_LOGS)/asan && mkdir -p $(SANITIZE_LOGS)/asan
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:log_path=$(SANITIZE_LOGS)/asan/report \
	LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/sanitizers/lsan.supp:print_suppressions=0 \
	  $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan $(SANITIZE_TEST_FLAGS) \
	  || { fuzz/sanitizers/show-reports.sh $(SANITIZE_LOGS)/asan; exit 1; }
	@fuzz/sanitizers/show-reports.sh $(SANITIZE_LOGS)/asan

# TSan: every report is written (halt_on_error=0) and fails the target at the end. The shim makes
# TSan see Synchronization.Mutex's contended lock hand-over (fuzz/sanitizers/tsan-mutex-shim.c).
TSAN_SHIM := .build-tsan/libtsan-mutex-shim.so

$(TSAN_SHIM): fuzz/sanitizers/tsan-mutex-shim.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -o $@ $< -ldl

sanitize-tsan: deps-deb $(TSAN_SHIM)
	@rm -rf $(SANITIZE_LOGS)/tsan && mkdir -p $(SANITIZE_LOGS)/tsan
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	LD_PRELOAD=$(CURDIR)/$(TSAN_SHIM) \
	TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$(SANITIZE_LOGS)/tsan/report:suppressions=$(CURDIR)/fuzz/sanitizers/tsan.supp \
	  $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan $(SANITIZE_TEST_FLAGS) \
	  || { fuzz/sanitizers/show-reports.sh $(SANITIZE_LOGS)/tsan; exit 1; }
	@fuzz/sanitizers/show-reports.sh $(SANITIZE_LOGS)/tsan
