#!/usr/bin/env bash
# Runs the C client's test program and example under valgrind against a live personalizerd.
#   PERSONALIZERD=/path/to/personalizerd Clients/c/run-tests.sh      (after `make -C Clients/c`)
# The test program starts (and kills) its own servers; the example gets one started here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${PERSONALIZERD:?set PERSONALIZERD to the personalizerd binary}
[ -x "$binary" ] || { echo "run-tests.sh: $binary is not an executable" >&2; exit 1; }
valgrind=(valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=1
          --child-silent-after-fork=yes)

echo "== C client tests (valgrind)"
"${valgrind[@]}" "$here/build/test_client" "$binary"

echo "== C client example (valgrind)"
tmp=$(mktemp -d /tmp/pzc-example-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/data"
"$binary" --socket "$tmp/pz.sock" --data-dir "$tmp/data" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 600); do   # up to 60 s for the "listening" line naming the socket
  grep -qF "$tmp/pz.sock" "$tmp/server.log" 2>/dev/null && [ -S "$tmp/pz.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -S "$tmp/pz.sock" ] || { cat "$tmp/server.log" >&2; echo "server did not listen" >&2; exit 1; }
"${valgrind[@]}" "$here/build/rank_and_reward" "$tmp/pz.sock"
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || { cat "$tmp/server.log" >&2; echo "server exit status $status after SIGTERM" >&2; exit 1; }
echo "C client example: ok"
