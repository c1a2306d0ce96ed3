# Performance bench: personalizer-load against personalizerd and against a raw Unix-socket echo.
# Included by the top-level Makefile, which provides release, deps-deb and deps-python.
#   make bench                   the matrix (3-4 minutes): bench/results/perf.{txt,json}, perf-latency.png
#   make bench-soak-throughput   60 s Rank+Reward: pairs/s, server RSS, trainer lag
#   make bench-echo              just the echo server (bench/build/personalizer-echo)
# BENCH_RUNS, BENCH_DURATION, BENCH_WARMUP and BENCH_SOAK_DURATION shorten or lengthen a run;
# BENCH_CASES (e.g. ad) and BENCH_PLACEMENTS (pinned or unpinned) run a part of the matrix.

CC ?= cc
BENCH_ECHO := bench/build/personalizer-echo

.PHONY: bench bench-soak-throughput bench-echo

bench-echo: $(BENCH_ECHO)

$(BENCH_ECHO): bench/echo/echo.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -o $@ $<

bench: release deps-python $(BENCH_ECHO)
	PYTHON=$(PYTHON) bench/run-bench.sh

bench-soak-throughput: release deps-python $(BENCH_ECHO)
	PYTHON=$(PYTHON) bench/run-bench.sh --soak
