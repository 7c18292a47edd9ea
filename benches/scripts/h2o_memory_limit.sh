#!/usr/bin/env bash
# h2o groupby q1-q10 under a memory limit, rask beside DuckDB under the same limit: one
# process per query each, wall time and peak RSS (/usr/bin/time). rask writes CSV to
# /dev/null (streamed); DuckDB runs COPY (q) TO '/dev/null' with 2 threads. A benchmark, not a
# test.
#
#   benches/scripts/h2o_memory_limit.sh DATA_DIR [LIMIT]
#   RASK=target/release/rask PY=~/peers-venv/bin/python \
#     benches/scripts/h2o_memory_limit.sh ~/peers-data/h2o/G1_1e8_1e2_0_0_parquet 2GB
#
# Data: `rask datagen h2o --rows 1e8 --groups 100 --parts 8 --out DIR`. DuckDB from the peers'
# virtualenv (../shared/peers/setup_env.sh).
set -u
dir=$1 limit=${2:-2GB}
rask=${RASK:-target/release/rask} py=${PY:-$HOME/peers-venv/bin/python}
queries=$(dirname "$0")/../queries/h2o.sql
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Both engines read a warm page cache: otherwise the one that runs first pays the disk reads
# of every column a query is the first to use.
cat "$dir"/*.parquet >/dev/null
printf '%-8s %10s %10s %10s %10s\n' query rask_s rask_MB duck_s duck_MB
for n in $(grep -- '-- name:' "$queries" | sed 's/-- name: //'); do
  sql=$(awk -v n="$n" '/^-- name:/{f=($3==n); next} f' "$queries")
  /usr/bin/time -f "%e %M" -o "$tmp/t_rask" "$rask" sql --no-progress --table "x=$dir" \
    --memory-limit "$limit" --format csv --output /dev/null "$sql" 2>"$tmp/err_rask"
  rc=$?; read -r rt rm < <(tail -1 "$tmp/t_rask")
  [ $rc -ne 0 ] && rt="FAIL($(tail -c 80 "$tmp/err_rask" | tr '\n' ' '))"
  /usr/bin/time -f "%e %M" -o "$tmp/t_duck" "$py" -c "
import duckdb, sys
con = duckdb.connect()
con.execute('SET threads=2'); con.execute(\"SET memory_limit='$limit'\")
con.execute(\"SET temp_directory='$tmp/duck'\")
con.execute(\"CREATE VIEW x AS SELECT * FROM read_parquet('$dir/*.parquet')\")
con.execute('SET enable_progress_bar=false')
con.execute('COPY (' + sys.argv[1] + \") TO '/dev/null' (FORMAT csv)\")
" "$sql" 2>"$tmp/err_duck"
  rc=$?; read -r dt dm < <(tail -1 "$tmp/t_duck")
  [ $rc -ne 0 ] && dt=FAIL
  printf '%-8s %10s %10s %10s %10s\n' "$n" "$rt" $((rm / 1024)) "$dt" $((dm / 1024))
done
