#!/usr/bin/env bash
# Runs every query of a directory twice with the rask CLI, without and with a memory limit,
# and prints per query: time, peak RSS (from /usr/bin/time -v), spilled bytes (from .timer),
# and whether the two answers are identical. A benchmark, not a test.
#
#   benches/scripts/memory_limit.sh RASK DATA_DIR QUERY_DIR LIMIT [THREADS]
#   benches/scripts/memory_limit.sh target/release/rask ~/tpch-sf10 tests/expected/tpch/queries 1GB
#
# Data: `rask datagen tpch --sf 10 --out ~/tpch-sf10 --parts 8`.
set -euo pipefail
rask=$1 data=$2 queries=$3 limit=$4 threads=${5:-$(nproc)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-6s %10s %10s %12s %10s %10s %14s %s\n' query t_nolimit rss_nolimit t_limit rss_limit spilled files same
for q in "$queries"/*.sql; do
  name=$(basename "$q" .sql)
  run() { # $1: tag, rest: extra flags
    local tag=$1; shift
    { echo ".timer on"; cat "$q"; } | /usr/bin/time -v "$rask" sql --data "$data" --threads "$threads" \
      --format csv "$@" >"$out/$name.$tag.csv" 2>"$out/$name.$tag.err" || echo "FAILED" >>"$out/$name.$tag.csv"
  }
  run free
  run limit --memory-limit "$limit"
  rss() { grep 'Maximum resident' "$out/$name.$1.err" | awk '{printf "%.0fMB", $6/1024}'; }
  wall() { grep 'Elapsed (wall' "$out/$name.$1.err" | awk '{print $8}'; }
  timer=$(grep -h 'Run Time' "$out/$name.limit.csv" "$out/$name.limit.err" 2>/dev/null | tail -1 || true)
  spilled=$(echo "$timer" | sed -n 's/.*spilled \([0-9.]* [KMGT]*i*B\) in \([0-9]*\) files.*/\1/p')
  files=$(echo "$timer" | sed -n 's/.*spilled .* in \([0-9]*\) files.*/\1/p')
  same=no
  if diff <(grep -v 'Run Time' "$out/$name.free.csv") <(grep -v 'Run Time' "$out/$name.limit.csv") >/dev/null; then
    same=yes
  fi
  if grep -q FAILED "$out/$name.limit.csv"; then
    same="FAILED: $(grep -v 'Command being timed' "$out/$name.limit.err" | grep -m1 -i 'error' | cut -c1-150)"
  fi
  printf '%-6s %10s %10s %12s %10s %10s %14s %s\n' "$name" "$(wall free)" "$(rss free)" \
    "$(wall limit)" "$(rss limit)" "${spilled:-0}" "${files:-0}" "$same"
done
