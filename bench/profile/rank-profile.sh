#!/usr/bin/env bash
# Instructions per Rank on the ranking thread, by part, counted by callgrind over
# personalizer-bench-rank (deterministic: independent of what else the machine does).
#   bench/profile/rank-profile.sh [path to personalizer-bench-rank]
# The binary's debug information is stripped first: valgrind cannot read what Swift emits.
set -euo pipefail
binary="${1:-.build/release/personalizer-bench-rank}"
per_batch=2000
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cp "$binary" "$work/bench-rank"
strip --strip-debug "$work/bench-rank"
# One warm-up batch and one measured batch: 2 × per_batch Ranks.
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$work/bench-rank" --batches 1 --per-batch "$per_batch" >/dev/null 2>"$work/valgrind.log"
callgrind_annotate --inclusive=yes "$work/callgrind.out" >"$work/inclusive.txt" 2>/dev/null
python3 - "$work/inclusive.txt" "$((2 * per_batch))" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
ranks = int(sys.argv[2])

def cost(pattern):
    """Inclusive instructions of the first function whose name matches, per Rank."""
    for line in lines:
        match = re.match(r"\s*([\d,]+) \(", line)
        if match and re.search(pattern, line):
            return int(match.group(1).replace(",", "")) / ranks
    return 0.0

total = cost(r"RequestProcessorC7process_4into")
parts = [
    ("reading the request's wire bytes", cost(r"RankWireReaderO11readRequest")),
    ("validation and feature hashing", cost(r"RequestProcessorC11prepareRank")),
    ("scoring (shared part once, then each action's interactions)", cost(r"ScoringB0C12predictCosts6shared7actions4into.*tF ")),
    ("encoding the event into the trainer's ring", cost(r"submitRank7eventID") + cost(r"rankBytes7eventID")),
    ("the pending event-id check", cost(r"isPending_3now")),
    ("writing the response", cost(r"RankResponseEncoderO5write")),
]
parts.append(("the rest: exploration, sampling, ranking, dispatch", total - sum(c for _, c in parts)))
print(f"instructions per 10-action Rank on the ranking thread: {total:,.0f}")
for name, value in parts:
    print(f"  {value:>8,.0f}  {100 * value / total:4.1f}%  {name}")
PY
