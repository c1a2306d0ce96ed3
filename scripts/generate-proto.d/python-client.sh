#!/usr/bin/env bash
# Generates the Python client's message module into
# $1/Clients/python/src/personalizer_client/_proto/ with the protoc bundled in grpcio-tools,
# taken from the repository's virtual environment (.venv, made by `make deps-python`).
set -euo pipefail
root=${1:?usage: python-client.sh ROOT}
here=$(cd "$(dirname "$0")/../.." && pwd)
python="$here/.venv/bin/python"
if [ ! -x "$python" ]; then
  echo "python-client.sh: $python not found; run 'make deps-python' first" >&2
  exit 1
fi
proto=personalizer/v1/personalizer.proto
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$python" -m grpc_tools.protoc -I"$here/proto" --python_out="$tmp" --pyi_out="$tmp" "$here/proto/$proto"
out="$root/Clients/python/src/personalizer_client/_proto"
mkdir -p "$out"
cp "$tmp/personalizer/v1/personalizer_pb2.py" "$tmp/personalizer/v1/personalizer_pb2.pyi" "$out/"
