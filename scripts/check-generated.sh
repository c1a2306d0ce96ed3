#!/usr/bin/env bash
# Fails when committed generated code differs from what `make proto` writes now.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
fresh=$(mktemp -d); trap 'rm -rf "$fresh"' EXIT
scripts/generate-proto.sh "$fresh"
status=0
while IFS= read -r -d '' f; do
  rel=${f#"$fresh/"}
  if ! cmp -s "$f" "$rel"; then
    echo "stale generated file: $rel (run 'make proto')" >&2
    status=1
  fi
done < <(find "$fresh" -type f -print0)
[ $status = 0 ] && echo "generated code: up to date"
exit $status
