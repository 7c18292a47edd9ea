#!/usr/bin/env python3
"""Generate the expected TPC-H answers in tests/expected/tpch/ with DuckDB (an independent engine).

Usage (from anywhere; paths default relative to the repo root):

    python3 tests/tools/gen_tpch_expected.py            # (re)write answers
    python3 tests/tools/gen_tpch_expected.py --check    # compare only, exit 1 on any difference

DuckDB's Python package is needed. If `import duckdb` fails in the interpreter running this
script, the script re-executes itself with $DUCKDB_PYTHON (default: ~/peers-venv/bin/python,
created by /work/shared/peers/setup_env.sh), e.g.

    DUCKDB_PYTHON=/path/to/venv/bin/python python3 tests/tools/gen_tpch_expected.py

Inputs:
  tests/expected/tpch/queries/qNN.sql   the 22 TPC-H queries (validation parameters)
  datasets/tpch-sf0.01/<table>/*.parquet
Outputs:
  tests/expected/tpch/answers/qNN.csv   header + rows, RFC 4180 (quote only when needed), '\n'
  tests/expected/tpch/answers/qNN.types DuckDB type of each result column, comma-separated, 1 line

Value rendering in the CSV:
  NULL -> empty field; DECIMAL(p,s) -> exact decimal text with exactly s fractional digits
  (e.g. 1234.50); DOUBLE/FLOAT -> Python repr (shortest round-trip); DATE -> YYYY-MM-DD;
  TIMESTAMP -> YYYY-MM-DD HH:MM:SS[.ffffff]; integers -> decimal digits; BOOLEAN -> true/false;
  strings as-is.
"""
import argparse
import csv
import datetime
import decimal
import io
import os
import re
import sys


def _ensure_duckdb():
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    py = os.environ.get("DUCKDB_PYTHON", os.path.expanduser("~/peers-venv/bin/python"))
    if os.environ.get("_RASK_DUCKDB_REEXEC") or not os.path.exists(py):
        sys.exit(f"duckdb not importable here and DUCKDB_PYTHON={py!r} is not usable; "
                 "set DUCKDB_PYTHON to a python with duckdb installed")
    os.environ["_RASK_DUCKDB_REEXEC"] = "1"
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


_ensure_duckdb()
import duckdb  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]
_DEC_RE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def render(value, typ):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        m = _DEC_RE.fullmatch(typ)
        if m:
            value = value.quantize(decimal.Decimal(1).scaleb(-int(m.group(2))))
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime.datetime):
        s = value.strftime("%Y-%m-%d %H:%M:%S")
        return s + (".%06d" % value.microsecond if value.microsecond else "")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def run_query(con, sql):
    rel = con.sql(sql)
    names = rel.columns
    types = [str(t) for t in rel.types]
    rows = rel.fetchall()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(names)
    for row in rows:
        w.writerow([render(v, t) for v, t in zip(row, types)])
    return buf.getvalue(), ",".join(types) + "\n", len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "datasets/tpch-sf0.01"))
    ap.add_argument("--queries", default=os.path.join(REPO, "tests/expected/tpch/queries"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests/expected/tpch/answers"))
    ap.add_argument("--check", action="store_true", help="compare with the files, write nothing")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("only", nargs="*", help="query ids (e.g. q01 q17); default all")
    args = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"SET threads={args.threads}")
    for t in TABLES:
        pattern = os.path.join(args.data, t, "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{pattern}')")

    qfiles = sorted(f for f in os.listdir(args.queries) if re.fullmatch(r"q\d\d\.sql", f))
    if args.only:
        qfiles = [f for f in qfiles if f[:-4] in args.only]
    os.makedirs(args.out, exist_ok=True)
    bad = 0
    for f in qfiles:
        qid = f[:-4]
        with open(os.path.join(args.queries, f)) as fh:
            sql = fh.read()
        csv_text, types_text, n = run_query(con, sql)
        outs = {qid + ".csv": csv_text, qid + ".types": types_text}
        if args.check:
            for name, text in outs.items():
                p = os.path.join(args.out, name)
                old = open(p).read() if os.path.exists(p) else None
                if old != text:
                    bad += 1
                    print(f"DIFF {name}")
        else:
            for name, text in outs.items():
                with open(os.path.join(args.out, name), "w", newline="") as fh:
                    fh.write(text)
        print(f"{qid}: {n} rows  [{types_text.strip()}]")
    if args.check:
        print("OK" if not bad else f"{bad} file(s) differ")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
