#!/usr/bin/env bash
# Fails when an in-process Rank allocates on the heap in steady state (the I/O thread's path,
# release build), counted by the malloc-counting preload: a few thousand Ranks each with 10 and
# with 50 actions. Part of `make test`.
#
#   bench/malloc-count/check-rank.sh PRELOAD BENCH_RANK_BINARY
set -euo pipefail
preload=$1 bench=$2
for actions in 10 50; do
  LD_PRELOAD="$preload" "$bench" --actions "$actions" --batches 2 --per-batch 3000 --json |
    python3 -c '
import json, sys
report = json.load(sys.stdin)
per_rank = report["mallocs_per_rank"]
actions = report["actions"]
print(f"{actions} actions: {per_rank} heap allocations per Rank on the ranking thread")
# One allocation per Rank would read 1.0; a rare growth of a reused buffer, a few thousandths.
sys.exit(1 if per_rank >= 0.05 else 0)
'
done
