#!/usr/bin/env bash
# Regenerates every committed file derived from proto/ into the tree rooted at $1.
set -euo pipefail
root=${1:-.}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# C (protoc-c): the server's message code, flat in the target (SwiftPM allows no folders
# beside an umbrella header).
protoc-c --c_out="$tmp" -Iproto/personalizer/v1 proto/personalizer/v1/personalizer.proto
mkdir -p "$root/Sources/PersonalizerProto/include"
cp "$tmp/personalizer.pb-c.c" "$root/Sources/PersonalizerProto/"
cp "$tmp/personalizer.pb-c.h" "$root/Sources/PersonalizerProto/include/"

# Clients add their own generators here (scripts/generate-proto.d/*.sh, given the root).
for g in scripts/generate-proto.d/*.sh; do
  [ -e "$g" ] && bash "$g" "$root"
done
exit 0
