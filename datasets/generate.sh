#!/usr/bin/env bash
# Regenerate the committed TPC-H SF 0.01 datasets with tpchgen-cli.
#   bash datasets/generate.sh [OUT_DIR]      (OUT_DIR defaults to this script's directory)
# Uses tpchgen-cli from $TPCHGEN, else from PATH, else installs it with pip into a temporary
# venv that is deleted afterwards. The committed files were made with tpchgen-cli 4.0.0.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
SF=0.01

TMPVENV=""
cleanup() { if [ -n "$TMPVENV" ]; then rm -rf "$TMPVENV"; fi; }
trap cleanup EXIT

TPCHGEN=${TPCHGEN:-$(command -v tpchgen-cli || true)}
if [ -z "$TPCHGEN" ]; then
  TMPVENV=$(mktemp -d)
  python3 -m venv "$TMPVENV"
  "$TMPVENV/bin/pip" install -q tpchgen-cli
  TPCHGEN="$TMPVENV/bin/tpchgen-cli"
fi
echo "using $("$TPCHGEN" --version)"

# Parquet: all 8 tables, one directory per table, 2 files each (nation and region are too
# small to split and come out as 1 file). Snappy, Decimal128(15,2), Date32, Utf8View strings.
rm -rf "$OUT/tpch-sf$SF"
"$TPCHGEN" parquet -s $SF --parts=2 --output-dir="$OUT/tpch-sf$SF" --no-progress

# CSV (header, comma, text fields with free text quoted): lineitem and orders in 2 files,
# customer, nation and region in 1 file, one directory per table.
rm -rf "$OUT/tpch-sf$SF-csv"
"$TPCHGEN" csv -s $SF --tables=lineitem,orders --parts=2 --output-dir="$OUT/tpch-sf$SF-csv" --no-progress
"$TPCHGEN" csv -s $SF --tables=customer,nation,region --parts=1 --output-dir="$OUT/tpch-sf$SF-csv" --no-progress

# Taxi-style trips for the examples (crates/rask/examples): rask's own generator, seeded,
# 20,000 rows in 2 Parquet files. RASK=/path/to/rask picks a built binary.
if [ -n "${RASK:-}" ]; then
  "$RASK" datagen trips --rows 20000 --parts 2 --out "$OUT/trips"
else
  cargo run --quiet --release -p rask-cli -- datagen trips --rows 20000 --parts 2 --out "$OUT/trips"
fi

du -sh "$OUT/tpch-sf$SF" "$OUT/tpch-sf$SF-csv" "$OUT/trips"
