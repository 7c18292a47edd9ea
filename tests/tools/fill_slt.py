#!/usr/bin/env python3
"""Fill the expected results of sqllogictest (.slt) files with DuckDB as the oracle.

Usage (from anywhere; relative paths are taken from the current directory):

    python3 tests/tools/fill_slt.py                      # rewrite every tests/slt/*.slt in place
    python3 tests/tools/fill_slt.py tests/slt/foo.slt    # only these files (or directories)
    python3 tests/tools/fill_slt.py --check              # report differences, write nothing;
                                                         # exit 1 if any file would change

DuckDB's Python package is needed. If `import duckdb` fails in the interpreter running this
script, it re-executes itself with $DUCKDB_PYTHON (default ~/peers-venv/bin/python, created by
/work/shared/peers/setup_env.sh).

What it does, per file (one fresh in-memory DuckDB connection per file):
  * Views: lineitem, orders, customer, part, partsupp, supplier, nation, region over
    datasets/tpch-sf0.01/<table>/*.parquet; and for each entry directly under tests/data/: a file
    NAME.csv / NAME.parquet becomes view NAME (CSV: header row, DuckDB type auto-detection); a
    directory NAME holding *.parquet (or *.csv) files becomes view NAME over all of them.
  * Records are parsed as sqllogictest-rs 0.29 parses them (records end at an empty line; `#` lines
    between records are comments; `skipif`/`onlyif` lines attach to the next record).
  * `statement ok` / `statement count N`: executed in DuckDB (to create views/tables used later).
  * `statement error`, `query error`, `system`, `let`: not executed, left as they are.
  * `query <types> [nosort|rowsort|valuesort] [label]`: executed in DuckDB; the lines after
    `----` are replaced by the result (a `----` line is added when the query had none and the
    result is non-empty). The header line (type string, sort mode, label) is never changed.
  * Left alone entirely (not executed, not rewritten): a record whose comment lines directly
    above it (no empty line in between; condition lines may be interleaved) include one that
    starts with `# rask-only`; a record with `skipif duckdb` or `onlyif <label other than duckdb>`;
    everything after a `halt` line.
  * `control sortmode <mode>` sets the default sort mode and `hash-threshold N` the hashing
    threshold for later queries, as in sqllogictest-rs.
  Every other byte of the file is kept as it was.

Result format (must match the Rust runner in tests/; sqllogictest-rs then compares each line after
trimming and collapsing runs of whitespace):
  * one line per row, values joined by a single space;
  * NULL -> `NULL`; empty string -> `(empty)`; other strings as-is; booleans `true`/`false`;
  * integers (any width) as integers;
  * every non-integer number (FLOAT, DOUBLE, DECIMAL) rounded to 4 decimal places, then trailing
    zeros and a trailing `.` removed, and `-0` written `0` (2.5000 -> 2.5, 3.0 -> 3, -0.0 -> 0).
    Floats round like Rust's `format!("{:.4}", x)` (exact binary value, ties to even); decimals
    are rounded exactly in decimal, ties away from zero (like arrow's decimal rescale);
    NaN/inf -> `NaN`, `inf`, `-inf`;
  * DATE `YYYY-MM-DD`; TIMESTAMP `YYYY-MM-DD HH:MM:SS` plus `.fff` or `.ffffff` only when the
    fraction is non-zero (chrono's `%.f`); TIME `HH:MM:SS[.fff|.ffffff]`;
  * rowsort: rows sorted as sqllogictest-rs sorts them, i.e. as lists of value strings compared
    value by value (code-point order), not as joined lines; valuesort: all values sorted, one per
    line; with hash-threshold N > 0 and more than N values: `<n> values hashing to <md5>`.
"""
import argparse
import datetime
import decimal
import difflib
import glob
import hashlib
import math
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
TPCH_TABLES = ["lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region"]
ENGINE_LABEL = "duckdb"
RASK_ONLY = re.compile(r"#\s*rask-only\b")
SORT_MODES = ("nosort", "rowsort", "valuesort")
_Q4 = decimal.Decimal("0.0001")


# ---------------------------------------------------------------------------------------------
# value formatting

def _trim_number(s):
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", "", "-"):
        s = "0"
    return s


def _frac(micro):
    if micro == 0:
        return ""
    if micro % 1000 == 0:
        return ".%03d" % (micro // 1000)
    return ".%06d" % micro


def format_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return _trim_number("%.4f" % v)
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return "NaN" if v.is_nan() else ("inf" if v > 0 else "-inf")
        return _trim_number(format(v.quantize(_Q4, rounding=decimal.ROUND_HALF_UP), "f"))
    if isinstance(v, str):
        return v if v != "" else "(empty)"
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%d %H:%M:%S") + _frac(v.microsecond)
    if isinstance(v, datetime.date):
        return "%04d-%02d-%02d" % (v.year, v.month, v.day)
    if isinstance(v, datetime.time):
        return v.strftime("%H:%M:%S") + _frac(v.microsecond)
    return str(v)


def format_result(rows, sort_mode, hash_threshold):
    """Rows of Python values -> result lines, as sqllogictest-rs would see the Rust runner's."""
    rows = [[format_value(v) for v in r] for r in rows]
    if sort_mode == "rowsort":
        rows.sort()
    elif sort_mode == "valuesort":
        rows = sorted([v] for r in rows for v in r)
    if hash_threshold > 0 and rows:
        nvalues = len(rows) * len(rows[0])
        if nvalues > hash_threshold:
            md5 = hashlib.md5()
            for r in rows:
                for v in r:
                    md5.update(v.encode())
                    md5.update(b"\n")
            rows = [[f"{nvalues} values hashing to {md5.hexdigest()}"]]
    return [" ".join(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# parsing (mirrors sqllogictest-rs 0.29 parser.rs: parse_inner / parse_lines)

class Record:
    def __init__(self, kind, header, tokens):
        self.kind = kind            # 'statement' | 'query' | 'other'
        self.header = header        # line index of the header line
        self.tokens = tokens
        self.sql_lines = []         # line indices of the SQL text
        self.sep = None             # line index of '----' or None
        self.res = (None, None)     # [start, end) line indices of the expected results
        self.conditions = []        # [(kind, label)]
        self.rask_only = False


def parse(lines):
    """lines: contents without terminators. Returns a list of (kind, Record-or-index)."""
    out = []
    n = len(lines)
    i = 0
    conditions = []
    marks = []                      # comment/condition lines directly above, since last blank

    def parse_sql(rec, start):
        # first line is always taken; then until empty line or '----'
        j = start
        if j >= n:
            raise ValueError(f"line {rec.header + 1}: unexpected end of file")
        rec.sql_lines.append(j)
        j += 1
        while j < n:
            if lines[j] == "":
                return j + 1, False
            if lines[j] == "----":
                rec.sep = j
                return j + 1, True
            rec.sql_lines.append(j)
            j += 1
        return j, False

    def parse_multiple_result(j):
        while j < n:
            line = lines[j]
            j += 1
            if line == "" and (j >= n or lines[j] == ""):
                return j + 1
        return j

    while i < n:
        line = lines[i]
        if line.startswith("#"):
            marks.append(line)
            i += 1
            continue
        if line == "":
            marks = []
            i += 1
            continue
        tokens = line.split()
        if not tokens:
            i += 1
            continue
        head = tokens[0]
        if head in ("skipif", "onlyif") and len(tokens) == 2:
            conditions.append((head, tokens[1]))
            marks.append(line)
            i += 1
            continue
        if head in ("statement", "query", "system", "let"):
            rec = Record(head if head in ("statement", "query") else "other", i, tokens)
            rec.conditions, conditions = conditions, []
            rec.rask_only = any(RASK_ONLY.match(m) for m in marks)
            marks = []
            is_error = len(tokens) > 1 and tokens[1] == "error"
            if head == "let":
                j = i + 1
                rec.sql_lines.append(j)
                j += 1
                while j < n and lines[j] != "":
                    rec.sql_lines.append(j)
                    j += 1
                i = j + 1
            else:
                i, has_results = parse_sql(rec, i + 1)
                if has_results:
                    if head == "query" and not is_error:
                        j = i
                        while j < n and lines[j] != "":
                            j += 1
                        rec.res = (i, j)
                        i = j + 1
                    else:
                        i = parse_multiple_result(i)
            out.append(("record", rec))
            continue
        marks = []
        out.append(("line", i))
        i += 1
    return out


# ---------------------------------------------------------------------------------------------

def setup_views(con, data_dir):
    for t in TPCH_TABLES:
        pattern = os.path.join(REPO, "datasets/tpch-sf0.01", t, "*.parquet")
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({sql_str(pattern)})")
    if not os.path.isdir(data_dir):
        return
    seen = {}
    for entry in sorted(os.listdir(data_dir)):
        p = os.path.join(data_dir, entry)
        if os.path.isdir(p):
            name = entry
            if glob.glob(os.path.join(p, "*.parquet")):
                src = f"read_parquet({sql_str(os.path.join(p, '*.parquet'))})"
            elif glob.glob(os.path.join(p, "*.csv")):
                src = f"read_csv({sql_str(os.path.join(p, '*.csv'))}, header=true)"
            else:
                continue
        else:
            name, ext = os.path.splitext(entry)
            if ext.lower() == ".parquet":
                src = f"read_parquet({sql_str(p)})"
            elif ext.lower() == ".csv":
                src = f"read_csv({sql_str(p)}, header=true)"
            else:
                continue
        if name in seen:
            raise SystemExit(f"tests/data: both {seen[name]} and {entry} would be view {name!r}")
        seen[name] = entry
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {src}')


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def skipped_by_conditions(conds):
    for kind, label in conds:
        if kind == "skipif" and label == ENGINE_LABEL:
            return True
        if kind == "onlyif" and label != ENGINE_LABEL:
            return True
    return False


def process_file(path, data_dir, threads, problems):
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    raw = text.splitlines(keepends=True)
    contents = []
    terms = []
    for r in raw:
        c = r[:-1] if r.endswith("\n") else r
        t = r[len(c):]
        if c.endswith("\r") and t:
            c, t = c[:-1], "\r" + t
        contents.append(c)
        terms.append(t)
    nl = "\r\n" if terms and terms[0] == "\r\n" else "\n"
    final_term = terms[-1] if terms else ""

    try:
        items = parse(contents)
    except ValueError as e:
        problems.append(f"{path}: parse error: {e}")
        return text, text

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    setup_views(con, data_dir)

    sort_default = None
    hash_threshold = 0
    edits = []                      # (start, end, new_contents)
    counts = {"queries": 0, "statements": 0, "left": 0}
    for kind, item in items:
        if kind == "line":
            toks = contents[item].split()
            if toks[0] == "halt":
                break
            if toks[:2] == ["control", "sortmode"] and len(toks) == 3:
                sort_default = toks[2]
            elif toks[0] == "hash-threshold" and len(toks) == 2:
                hash_threshold = int(toks[1])
            continue
        rec = item
        where = f"{path}:{rec.header + 1}"
        if rec.kind == "other" or rec.rask_only or skipped_by_conditions(rec.conditions):
            counts["left"] += 1
            continue
        sql = "\n".join(contents[j] for j in rec.sql_lines)
        toks = rec.tokens
        if rec.kind == "statement":
            if len(toks) > 1 and toks[1] == "error":
                counts["left"] += 1
                continue
            try:
                con.execute(sql)
                counts["statements"] += 1
            except duckdb.Error as e:
                problems.append(f"{where}: statement failed in DuckDB: {one_line(e)}")
            continue
        # query
        if len(toks) < 2 or toks[1] == "error":
            counts["left"] += 1
            continue
        types = toks[1]
        sort_mode = toks[2] if len(toks) > 2 and toks[2] in SORT_MODES else sort_default
        try:
            cur = con.execute(sql)
            ncols = len(cur.description) if cur.description else 0
            rows = cur.fetchall()
        except duckdb.Error as e:
            problems.append(f"{where}: query failed in DuckDB: {one_line(e)}")
            continue
        counts["queries"] += 1
        if ncols != len(types):
            problems.append(f"{where}: warning: type string {types!r} has {len(types)} "
                            f"columns, DuckDB returned {ncols}")
        for r in rows:
            for v in r:
                if isinstance(v, str) and ("\n" in v or "\r" in v):
                    problems.append(f"{where}: warning: a string value contains a line break")
        new = format_result(rows, sort_mode, hash_threshold)
        if rec.sep is not None:
            start, end = rec.res
            edits.append((start, end, new))
        elif new:
            at = rec.sql_lines[-1] + 1
            edits.append((at, at, ["----"] + new))
    con.close()

    out_c, out_t = list(contents), list(terms)
    for start, end, new in sorted(edits, reverse=True):
        old = contents[start:end]
        if old == new:
            continue
        out_c[start:end] = new
        out_t[start:end] = [nl] * len(new)
    for k in range(len(out_t) - 1):
        if out_t[k] == "":
            out_t[k] = nl
    if out_t:
        out_t[-1] = final_term if final_term else ""
    new_text = "".join(c + t for c, t in zip(out_c, out_t))
    print(f"{path}: {counts['queries']} queries filled, {counts['statements']} statements run, "
          f"{counts['left']} records left alone", file=sys.stderr)
    return text, new_text


def one_line(e):
    return " ".join(str(e).split())[:300]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", help="slt files or directories (default tests/slt)")
    ap.add_argument("--check", action="store_true", help="report differences, write nothing")
    ap.add_argument("--data", default=os.path.join(REPO, "tests/data"),
                    help="directory whose files become views (default tests/data)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    paths = args.paths or [os.path.join(REPO, "tests/slt")]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(glob.glob(os.path.join(p, "**", "*.slt"), recursive=True))
        else:
            files.append(p)
    if not files:
        print("no .slt files found", file=sys.stderr)

    problems = []
    changed = []
    for f in files:
        old, new = process_file(f, args.data, args.threads, problems)
        if old == new:
            continue
        changed.append(f)
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f, tofile=f + " (DuckDB)"))
        else:
            with open(f, "w", encoding="utf-8", newline="") as fh:
                fh.write(new)
    for p in problems:
        print(p, file=sys.stderr)
    verb = "would change" if args.check else "rewritten"
    print(f"{len(files)} file(s), {len(changed)} {verb}"
          + (f": {' '.join(changed)}" if changed else ""), file=sys.stderr)
    failed = any("failed" in p or "parse error" in p for p in problems)
    if failed:
        sys.exit(2)
    if args.check and changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
