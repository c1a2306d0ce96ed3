#!/usr/bin/env bash
# Generates the C client's protobuf-c message code into $1/Clients/c/generated/.
# Called by scripts/generate-proto.sh with the root of the tree to write (run from the repo root).
set -euo pipefail
root=${1:?usage: c-client.sh ROOT}
here=$(cd "$(dirname "$0")/../.." && pwd)
proto=personalizer/v1/personalizer.proto
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

protoc-c --c_out="$tmp" -I"$here/proto" "$here/proto/$proto"
out="$root/Clients/c/generated/personalizer/v1"
mkdir -p "$out"
cp "$tmp/personalizer/v1/personalizer.pb-c.c" "$tmp/personalizer/v1/personalizer.pb-c.h" "$out/"
