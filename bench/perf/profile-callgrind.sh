#!/usr/bin/env bash
# Where personalizerd's time goes, in instructions per call: independent of whatever else the
# machine is doing (callgrind counts instructions, not seconds).
#
#   bench/perf/profile-callgrind.sh [SECONDS] [personalizer-load options...]
#   e.g. bench/perf/profile-callgrind.sh 30 --actions 10          (case (a), the default)
#        bench/perf/profile-callgrind.sh 30 --mix status
#
# Runs the release server under valgrind --tool=callgrind with bench/perf/bench-config.json,
# drives it with personalizer-load (1 connection, 1 in flight) and prints instructions per call
# for the functions that matter, all threads together. Valgrind 3.19 cannot read the DWARF 5
# that Swift's toolchain writes, so the profiled copy has its debug info stripped (symbols stay).
# PERSONALIZERD and PERSONALIZER_LOAD override the binaries; the raw profile is kept in
# bench/build/callgrind/.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN="${1:-30}"
shift || true
SERVER="${PERSONALIZERD:-.build/release/personalizerd}"
LOAD="${PERSONALIZER_LOAD:-.build/release/personalizer-load}"
OUT=bench/build/callgrind
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)"; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
cp "$SERVER" "$OUT/personalizerd" && strip --strip-debug "$OUT/personalizerd"
WORK=$(mktemp -d /tmp/pz-callgrind-XXXXXX)
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$OUT/personalizerd" \
  --socket "$WORK/s.sock" --data-dir "$WORK/data" --config bench/perf/bench-config.json > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill -INT $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do grep -q listening "$OUT/server.log" && break; sleep 0.5; done
grep -q listening "$OUT/server.log" || { cat "$OUT/server.log"; exit 1; }
# No warm-up and no Status polling: every call the server sees is counted in the summary.
"$LOAD" --socket "$WORK/s.sock" --duration "$SECONDS_TO_RUN" --warmup 0 --no-status --json "$@" > "$OUT/load.json"
read -r CALLS KIND < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["calls"]; k="status" if d["config"]["mix"]=="status" else "rank"; print(max(1, c[k]), k)' "$OUT/load.json")
kill -INT $SERVER_PID; wait $SERVER_PID || true
trap 'rm -rf "$WORK"' EXIT
echo "personalizerd under callgrind: $CALLS $KIND calls; instructions per call, all threads (start-up included)"
callgrind_annotate --inclusive=yes --threshold=100 "$OUT/callgrind.out" 2>/dev/null |
  (command -v swift >/dev/null && swift demangle --simplified || cat) > "$OUT/inclusive.txt"
python3 - "$OUT/inclusive.txt" "$CALLS" <<'PY'
import re, sys
path, calls = sys.argv[1], int(sys.argv[2])
wanted = [
    ("PROGRAM TOTALS", "everything, all threads"),
    ("RequestProcessor.process(", "I/O thread: one request frame"),
    ("RequestWireReader.read(", "  read the Rank's wire bytes"),
    ("personalizer__v1__request__unpack", "  protobuf-c unpack (other calls)"),
    ("personalizer__v1__request__free_unpacked", "  protobuf-c free_unpacked"),
    ("RequestProcessor.rank(", "  Rank"),
    ("RequestProcessor.prepareRank(", "    validate + hash features"),
    ("ScoringModel.predictRelativeCosts(", "    scoring"),
    ("LoopProducer.submitRank(", "    encode the event into the ring"),
    ("RankResponseEncoder.write(", "    response"),
    ("Connection.flush(", "  write to the socket"),
    ("Trainer.step(", "trainer thread: drain, join, learn, log, publish"),
    ("LogRecord.decode(", "  decode events"),
    ("EventLog.append(", "  event log append"),
    ("pz_crc32c_hardware_update", "    CRC32C"),
    ("Trainer.learn(", "  learn"),
    ("LinearLearner.makeScoringModel(", "  publish a snapshot"),
    ("malloc.c:malloc ", "malloc (everyone)"),
    ("malloc.c:free ", "free (everyone)"),
]
rows = {}
for line in open(path):
    m = re.match(r"\s*([\d,]+)\s", line)
    if not m or "'2" in line:
        continue
    for key, _ in wanted:
        if key in line and key not in rows:
            rows[key] = int(m.group(1).replace(",", ""))
for key, label in wanted:
    if key in rows:
        print(f"{rows[key] / calls:>12,.0f}  {label}")
PY
echo "(full listing: $OUT/inclusive.txt)"
