#!/usr/bin/env bash
# Prints every sanitizer report file in $1 (written through ASAN_OPTIONS/TSAN_OPTIONS log_path by
# the test processes and the personalizerd servers they start) and fails if there is any.
set -euo pipefail
dir=${1:?usage: show-reports.sh DIR}
shopt -s nullglob
reports=("$dir"/report*)
if [ ${#reports[@]} -eq 0 ]; then
  echo "sanitize: no reports in $dir"
  exit 0
fi
for report in "${reports[@]}"; do
  echo "=================== $report"
  cat "$report"
done
echo "sanitize: ${#reports[@]} report file(s) in $dir"
exit 1
