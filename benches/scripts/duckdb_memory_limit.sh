#!/usr/bin/env bash
# TPC-H (or any directory of queries) with DuckDB under a memory limit: one process per query,
# wall time and peak RSS (/usr/bin/time), so that DuckDB's figures can be put beside those of
# benches/scripts/memory_limit.sh. Tables are views over DATA_DIR/<table>/*.parquet. A
# benchmark, not a test.
#
#   PY=~/peers-venv/bin/python benches/scripts/duckdb_memory_limit.sh DATA_DIR QUERY_DIR LIMIT [THREADS]
#   benches/scripts/duckdb_memory_limit.sh ~/tpch-sf10 tests/expected/tpch/queries 1GB
#
# DuckDB from the peers' virtualenv (../shared/peers/setup_env.sh).
set -u
data=$1 queries=$2 limit=$3 threads=${4:-$(nproc)}
py=${PY:-$HOME/peers-venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-6s %10s %10s %s\n' query duck_s duck_MB status
for q in "$queries"/*.sql; do
  name=$(basename "$q" .sql)
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$py" -c "
import duckdb, os, sys
con = duckdb.connect()
con.execute('SET threads=$threads'); con.execute(\"SET memory_limit='$limit'\")
con.execute(\"SET temp_directory='$tmp/duck'\")
con.execute('SET enable_progress_bar=false')
for t in sorted(os.listdir('$data')):
    if os.path.isdir(os.path.join('$data', t)):
        con.execute(f\"CREATE VIEW {t} AS SELECT * FROM read_parquet('$data/{t}/*.parquet')\")
con.execute(open(sys.argv[1]).read()).fetchall()
" "$q" 2>"$tmp/err"
  rc=$?; read -r t m < <(tail -1 "$tmp/t")
  status=ok
  [ $rc -ne 0 ] && status="FAILED: $(grep -m1 -i error "$tmp/err" | cut -c1-120)"
  printf '%-6s %10s %10s %s\n' "$name" "$t" $((m / 1024)) "$status"
done
