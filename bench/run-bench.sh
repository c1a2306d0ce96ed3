#!/usr/bin/env bash
# The performance bench (see bench/README.md). Expects the release binaries and the echo built:
# `make bench` (or `make bench-soak-throughput`) builds them first and then runs this.
#   bench/run-bench.sh            the matrix: personalizerd vs raw echo, pinned and unpinned
#   bench/run-bench.sh --soak     60 s Rank+Reward throughput: pairs/s, server RSS, trainer lag
# Environment: BENCH_RUNS (5), BENCH_DURATION (2 s), BENCH_WARMUP (0.5 s), BENCH_SOAK_DURATION (60 s),
# BENCH_CASES (abcd), BENCH_PLACEMENTS (pinned,unpinned);
# PERSONALIZERD, PERSONALIZER_LOAD, PERSONALIZER_ECHO override the binaries' paths.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" bench/perf/bench.py "$@"
