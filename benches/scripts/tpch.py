#!/usr/bin/env python3
"""TPC-H runner: rask beside DuckDB, Polars and DataFusion, same data, same run.

    python3 benches/scripts/tpch.py --sf 1 [--queries tests/expected/tpch/queries]
        [--reps 3] [--data DIR] [--threads N] [--only q01,q19] [--peers duckdb,polars,datafusion]

* Data: `--data DIR` (one subdirectory per table), or else `~/rask-bench-data/tpch-sf{SF}`,
  generated with `rask datagen tpch --sf SF --parts 4` the first time.
* rask runs in-process through `target/release/rask-bench` (built with
  `cargo build --release -p rask-cli -p rask-benches`): median of `--reps` after one warm-up.
* Each peer that imports (install them in a virtualenv outside the repo, see
  `../shared/peers/setup_env.sh`, and run this script with that venv's python) runs the same
  SQL text in this process over the same Parquet files, median of `--reps` after one warm-up,
  result materialised as Arrow. A peer that fails a query prints `-` for it.
* Prints one row per query (seconds), the totals, and rask's total over each peer's total.
  This is a benchmark, not a test: nothing fails because a machine is slow.
* Other benchmarks over a directory of tables run the same way, e.g. the h2o join benchmark:
  `rask datagen h2o-join --rows 1e7 --out DIR`, then
  `tpch.py --data DIR --queries benches/queries/h2o_join.sql`.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_queries(path, only):
    """`(name, sql)` of a directory of `.sql` files, or of a file of `-- name: NAME` blocks."""
    out = []
    if os.path.isdir(path):
        for f in sorted(f for f in os.listdir(path) if f.endswith(".sql")):
            with open(os.path.join(path, f)) as fh:
                out.append((f[:-4], fh.read()))
    else:
        for line in open(path):
            if line.startswith("-- name:"):
                out.append((line.split(":", 1)[1].strip(), ""))
            elif out and line.strip() != "-- ordered":
                out[-1] = (out[-1][0], out[-1][1] + line)
    return [(n, q.strip().rstrip(";")) for n, q in out if not only or n in only]


def median_time(fn, reps):
    fn()
    ts = []
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def tables_in(data):
    return {
        d: os.path.join(data, d)
        for d in sorted(os.listdir(data))
        if os.path.isdir(os.path.join(data, d)) and not d.startswith(".")
    }


def peer_duckdb(tables, threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    for n, p in tables.items():
        con.execute(f"CREATE VIEW {n} AS SELECT * FROM read_parquet('{p}/*.parquet')")
    return lambda sql: con.sql(sql).to_arrow_table()


def peer_polars(tables, threads):
    os.environ.setdefault("POLARS_MAX_THREADS", str(threads))
    import polars as pl

    ctx = pl.SQLContext({n: pl.scan_parquet(p + "/*.parquet") for n, p in tables.items()})
    return lambda sql: ctx.execute(sql, eager=False).collect()


def peer_datafusion(tables, threads):
    import datafusion

    cfg = datafusion.SessionConfig().with_target_partitions(threads)
    ctx = datafusion.SessionContext(cfg)
    for n, p in tables.items():
        ctx.register_parquet(n, p)
    return lambda sql: ctx.sql(sql).to_arrow_table()


PEERS = {"duckdb": peer_duckdb, "polars": peer_polars, "datafusion": peer_datafusion}


def run_rask(bench, data, qdir, reps, threads, only):
    cmd = [bench, "--data", data, "--queries", qdir, "--reps", str(reps)]
    if threads:
        cmd += ["--threads", str(threads)]
    if only:
        cmd += ["--only", ",".join(only)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"rask-bench failed: {p.stderr.strip()}")
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\| (\S+) \| (\d+) \| ([0-9.]+) \|", line)
        if m:
            out[m.group(1)] = float(m.group(3))
        elif line.startswith("| ") and "error" in line:
            print(line, file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sf", default="1")
    ap.add_argument("--queries", default=os.path.join(ROOT, "tests/expected/tpch/queries"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--data")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--only", default="")
    ap.add_argument("--peers", default="duckdb,polars,datafusion")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release"))
    a = ap.parse_args()
    only = [q for q in a.only.split(",") if q]

    data = a.data or os.path.expanduser(f"~/rask-bench-data/tpch-sf{a.sf}")
    if not a.data and not os.path.isdir(os.path.join(data, "lineitem")):
        print(f"generating TPC-H SF{a.sf} into {data}", file=sys.stderr)
        subprocess.run(
            [os.path.join(a.bin, "rask"), "datagen", "tpch", "--sf", str(a.sf), "--out", data, "--parts", "4"],
            check=True,
        )
    tables = tables_in(data)
    queries = load_queries(a.queries, only)

    rask = run_rask(os.path.join(a.bin, "rask-bench"), data, a.queries, a.reps, a.threads, only)
    peers = {}
    for name in [p for p in a.peers.split(",") if p]:
        try:
            peers[name] = PEERS[name](tables, a.threads)
        except ImportError:
            print(f"{name}: not installed, skipped", file=sys.stderr)

    what = f"TPC-H SF{a.sf}" if not a.data else a.data
    print(f"{what}, {a.threads} threads, median of {a.reps} after a warm-up, seconds")
    print(f"{'query':<8}{'rask':>9}" + "".join(f"{k:>11}" for k in peers) + f"{'rask/best':>11}")
    tot = {"rask": 0.0, **{k: 0.0 for k in peers}}
    complete = {k: True for k in tot}
    for name, sql in queries:
        r = rask.get(name)
        row = {}
        for k, fn in peers.items():
            try:
                row[k] = median_time(lambda: fn(sql), a.reps)
            except Exception:  # noqa: BLE001 - a peer's failure is reported as '-'
                row[k] = None
        for k, v in [("rask", r), *row.items()]:
            if v is None:
                complete[k] = False
            else:
                tot[k] += v
        best = min((v for v in row.values() if v is not None), default=None)
        ratio = f"{r / best:11.2f}" if (r is not None and best) else f"{'-':>11}"
        print(
            f"{name:<8}"
            + (f"{r:9.3f}" if r is not None else f"{'fail':>9}")
            + "".join(f"{v:11.3f}" if v is not None else f"{'-':>11}" for v in row.values())
            + ratio
        )
    print(
        f"{'total':<8}{tot['rask']:9.3f}"
        + "".join(f"{tot[k]:11.3f}" + ("" if complete[k] else "*") for k in peers)
    )
    for k in peers:
        note = "" if complete[k] else f" ({k} failed some queries; its total leaves them out)"
        if tot[k] > 0:
            print(f"rask/{k} total: {tot['rask'] / tot[k]:.2f}x{note}")


if __name__ == "__main__":
    main()
