#!/usr/bin/env python3
"""Expected answers of the examples in crates/rask/examples/, computed by DuckDB.

Writes tests/expected/examples/{trip_summary,sales_cube,time_series}.csv (header first,
NULL as an empty field, floats at full precision), which tests/it/examples.rs compares with
rask's API and SQL answers. The queries are DuckDB's own formulation of each example, not
rask's SQL.

    python3 -m venv /tmp/duck && /tmp/duck/bin/pip install duckdb
    /tmp/duck/bin/python tests/tools/examples_expected.py
"""
import csv
import pathlib

import duckdb

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRIPS = ROOT / "datasets/trips/*.parquet"
TPCH = ROOT / "datasets/tpch-sf0.01"
OUT = ROOT / "tests/expected/examples"

QUERIES = {
    "trip_summary": f"""
        WITH t AS (
            SELECT *,
                   (epoch_us(dropoff_at) - epoch_us(pickup_at)) / 60e6 AS minutes,
                   CASE WHEN hour(pickup_at) IN (7, 8, 9, 16, 17, 18, 19)
                        THEN 'rush' ELSE 'off-peak' END AS period
            FROM read_parquet('{TRIPS}')
            WHERE trip_distance > 0 AND fare_amount > 0)
        SELECT pickup_zone, period, count(*) AS trips,
               avg(trip_distance) AS avg_miles, avg(minutes) AS avg_minutes,
               quantile_cont(fare_amount, 0.5) AS median_fare,
               sum(tip_amount) / sum(fare_amount) AS tip_rate,
               avg(trip_distance) / (avg(minutes) / 60) AS mph
        FROM t GROUP BY ALL ORDER BY trips DESC, pickup_zone, period""",
    "sales_cube": f"""
        PIVOT (
            SELECT r_name, year(o_orderdate) AS year,
                   l_extendedprice * (1 - l_discount) AS revenue
            FROM read_parquet('{TPCH}/lineitem/*.parquet')
            JOIN read_parquet('{TPCH}/orders/*.parquet') ON l_orderkey = o_orderkey
            JOIN read_parquet('{TPCH}/customer/*.parquet') ON o_custkey = c_custkey
            JOIN read_parquet('{TPCH}/nation/*.parquet') ON c_nationkey = n_nationkey
            JOIN read_parquet('{TPCH}/region/*.parquet') ON n_regionkey = r_regionkey)
        ON year USING sum(revenue) GROUP BY r_name ORDER BY r_name""",
    "time_series": f"""
        WITH hourly AS (
            SELECT time_bucket(INTERVAL 1 HOUR, pickup_at) AS pickup_at,
                   sum(fare_amount) AS revenue, count(*) AS rides
            FROM read_parquet('{TRIPS}') GROUP BY 1)
        SELECT pickup_at, revenue, rides,
               CASE WHEN count(revenue) OVER w = 24 THEN avg(revenue) OVER w END AS revenue_24h
        FROM hourly
        WINDOW w AS (ORDER BY pickup_at ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
        ORDER BY pickup_at""",
}


def cell(v):
    # str() of a datetime is "2024-01-01 08:00:00", rask's test formatting.
    return "" if v is None else str(v)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for name, sql in QUERIES.items():
        rel = con.sql(sql)
        rows = rel.fetchall()
        with open(OUT / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(rel.columns)
            for r in rows:
                w.writerow([cell(v) for v in r])
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
