//! The DataFrame API against SQL (the same answers), writers, and bad input.

use rask::functions::{count_star, mean, sum};
use rask::{col, lit, CsvOptions, SessionConfig, SessionContext};
use rask_tests::{format_rows, repo_root, Setup};

fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

#[test]
fn dataframe_and_sql_agree() {
    for setup in Setup::all() {
        let ctx = setup.context().expect("context");
        let sql = ctx
            .sql(
                "SELECT l_returnflag, sum(l_quantity) AS q, avg(l_extendedprice) AS p, count(*) AS n \
                 FROM lineitem WHERE l_shipdate <= DATE '1998-09-02' GROUP BY l_returnflag",
            )
            .and_then(|d| d.collect())
            .expect("sql");
        let df = ctx
            .table("lineitem")
            .and_then(|d| {
                d.filter(col("l_shipdate").lt_eq(lit(rask::ScalarValue::Date32(Some(10471)))))
            })
            .and_then(|d| d.groupby(&["l_returnflag"]))
            .and_then(|g| {
                g.agg(vec![
                    sum(col("l_quantity")).alias("q"),
                    mean(col("l_extendedprice")).alias("p"),
                    count_star().alias("n"),
                ])
            })
            .and_then(|d| d.collect())
            .expect("api");
        assert_eq!(
            sorted(format_rows(&sql)),
            sorted(format_rows(&df)),
            "{setup:?}"
        );
    }
}

#[test]
fn npartitions_follow_the_files() {
    let ctx = SessionContext::new();
    let root = repo_root();
    let li = ctx
        .read_parquet(&root.join("datasets/tpch-sf0.01/lineitem").to_string_lossy())
        .expect("read");
    let files = std::fs::read_dir(root.join("datasets/tpch-sf0.01/lineitem"))
        .expect("dir")
        .count();
    assert_eq!(li.npartitions(), files);
    assert_eq!(li.count().expect("count"), 60175);
}

#[test]
fn head_sort_and_select() {
    let ctx = Setup::all()[2].context().expect("context");
    let df = ctx
        .table("nation")
        .and_then(|d| d.sort_values(&["n_name"], false))
        .map(|d| d.head(3))
        .and_then(|d| d.select_columns(&["n_name"]))
        .and_then(|d| d.collect())
        .expect("query");
    let rows = format_rows(&df);
    assert_eq!(
        rows,
        vec![
            vec!["VIETNAM"],
            vec!["UNITED STATES"],
            vec!["UNITED KINGDOM"]
        ]
    );
}

#[test]
fn parquet_and_csv_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = Setup::all()[2].context().expect("context");
    let df = ctx
        .sql("SELECT * FROM orders WHERE o_orderkey < 1000")
        .expect("sql");
    let want = sorted(format_rows(&df.collect().expect("collect")));
    let pq = dir.path().join("out_pq");
    df.to_parquet(&pq.to_string_lossy())
        .write()
        .expect("to_parquet");
    let back = ctx.read_parquet(&pq.to_string_lossy()).expect("read back");
    assert!(back.npartitions() >= 1);
    assert_eq!(sorted(format_rows(&back.collect().expect("collect"))), want);
    let csv = dir.path().join("out_csv");
    df.to_csv(&csv.to_string_lossy()).write().expect("to_csv");
    let back = ctx
        .read_csv(&csv.to_string_lossy(), CsvOptions::default())
        .expect("read back");
    assert_eq!(back.count().expect("count"), want.len());
    // Writing into a non-empty directory is refused rather than mixing old and new files.
    let err = df
        .to_csv(&csv.to_string_lossy())
        .write()
        .expect_err("non-empty dir");
    assert!(err.to_string().contains("not empty"), "{err}");
    // No temporary files are left behind.
    for entry in std::fs::read_dir(&csv).expect("dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("part-"), "unexpected file {name}");
    }
}

#[test]
fn optimizer_on_and_off_agree() {
    let sql = "SELECT o_orderpriority, count(*) AS c, max(o_totalprice) AS m FROM orders \
               WHERE o_orderdate >= DATE '1995-01-01' AND o_orderstatus = 'F' \
               GROUP BY o_orderpriority ORDER BY o_orderpriority";
    let mut results = Vec::new();
    for optimize in [true, false] {
        let ctx = SessionContext::with_config(SessionConfig::default().with_optimizer(optimize));
        ctx.register_data_dir(&repo_root().join("datasets/tpch-sf0.01").to_string_lossy())
            .expect("register");
        results.push(format_rows(
            &ctx.sql(sql).and_then(|d| d.collect()).expect("sql"),
        ));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].len(), 5);
}

#[test]
fn bad_input_is_a_clear_error() {
    let ctx = Setup::all()[0].context().expect("context");
    let cases: &[(&str, &str)] = &[
        ("SELEC 1", "Line: 1"),
        ("SELECT nope FROM nation", "nope"),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELECT n_name + 1 FROM nation", "n_name"),
        ("SELECT 1 / 0", "ivision by zero"),
        (
            "SELECT * FROM nation WHERE n_name IN (SELECT r_regionkey FROM region)",
            "ALGERIA",
        ),
        (
            "SELECT * FROM 'does/not/exist.parquet'",
            "does/not/exist.parquet",
        ),
    ];
    for (sql, needle) in cases {
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ctx.sql(sql).and_then(|d| d.collect())
        }));
        match res {
            Err(_) => panic!("panic on {sql}"),
            Ok(Ok(_)) => panic!("no error for {sql}"),
            Ok(Err(e)) => assert!(
                e.to_string().contains(needle),
                "{sql}: error '{e}' lacks '{needle}'"
            ),
        }
    }
}

#[test]
fn malformed_csv_names_file_line_and_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.csv");
    let mut text = String::from("a,b\n");
    for i in 0..50 {
        text.push_str(&format!("{i},x\n"));
    }
    text.push_str("oops,y\n");
    std::fs::write(&path, text).expect("write");
    let ctx = SessionContext::new();
    let opts = CsvOptions::default().with_schema_override("a", arrow::datatypes::DataType::Int64);
    let err = ctx
        .read_csv(&path.to_string_lossy(), opts)
        .and_then(|d| d.collect())
        .expect_err("bad value");
    let msg = err.to_string();
    assert!(msg.contains("bad.csv") && msg.contains("oops"), "{msg}");
}

#[test]
fn merge_agrees_with_sql_joins() {
    let ctx = SessionContext::new();
    ctx.sql("CREATE VIEW a AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (2, 'bb'), (NULL, 'n')) t(k, v)")
        .expect("view a");
    ctx.sql("CREATE VIEW b AS SELECT * FROM (VALUES (2, 'x'), (3, 'y'), (NULL, 'z')) t(k, w)")
        .expect("view b");
    let a = ctx.table("a").expect("a");
    let b = ctx.table("b").expect("b");
    let cases = [
        ("inner", "SELECT a.k, v, w FROM a JOIN b ON a.k = b.k"),
        ("left", "SELECT a.k, v, w FROM a LEFT JOIN b ON a.k = b.k"),
        ("right", "SELECT b.k, v, w FROM a RIGHT JOIN b ON a.k = b.k"),
        (
            "outer",
            "SELECT coalesce(a.k, b.k), v, w FROM a FULL JOIN b ON a.k = b.k",
        ),
        (
            "semi",
            "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
        ),
        (
            "anti",
            "SELECT * FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.k = a.k)",
        ),
    ];
    for (how, sql) in cases {
        let api = a
            .merge(&b, how, &["k"])
            .and_then(|d| d.collect())
            .expect("merge");
        let want = ctx.sql(sql).and_then(|d| d.collect()).expect("sql");
        assert_eq!(
            sorted(format_rows(&api)),
            sorted(format_rows(&want)),
            "how={how}"
        );
    }
    let cross = a.merge(&b, "cross", &[]).expect("cross");
    assert_eq!(cross.columns(), vec!["k_x", "v", "k_y", "w"]);
    assert_eq!(cross.count().expect("count"), 12);
    assert!(a.merge(&b, "sideways", &["k"]).is_err());
}

#[test]
fn explain_analyze_reports_rows_memory_and_spills() {
    let setup = Setup {
        memory_limit: Some(1 << 20),
        ..Setup::all()[0]
    };
    let ctx = setup
        .context_in(&Setup::spill_dir("explain"))
        .expect("context");
    let rows = ctx
        .sql(
            "EXPLAIN ANALYZE SELECT l_orderkey, l_comment, o_comment FROM lineitem \
             JOIN orders ON l_orderkey = o_orderkey ORDER BY l_comment",
        )
        .and_then(|d| d.collect())
        .expect("explain analyze");
    let text = format_rows(&rows)
        .into_iter()
        .map(|r| r.join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text
        .split_once("analyzed_plan")
        .map(|(_, analyzed)| analyzed.to_string())
        .unwrap_or_else(|| panic!("no analyzed plan in:\n{text}"));
    let line = |what: &str| {
        text.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no analyzed {what} line in:\n{text}"))
    };
    let number = |text: &str, key: &str| -> u64 {
        let at = text
            .find(key)
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            + key.len();
        text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} is not a number in:\n{text}"))
    };
    // Every operator reports what it did: the sort its input rows and spill files, the
    // join its output and build rows, each scan its rows.
    let sort = line("SortExec: [");
    assert_eq!(number(sort, "rows_in="), 60175, "{sort}");
    assert_eq!(number(sort, "rows_out="), 60175, "{sort}");
    assert!(number(sort, "spill_count=") > 0, "the sort spilled: {sort}");
    let join = line("HashJoinExec");
    assert_eq!(number(join, "rows="), 60175, "{join}");
    assert_eq!(number(join, "build_rows="), 15000, "{join}");
    assert!(number(join, "peak_mem=") > 0, "{join}");
    assert_eq!(number(line("/orders\""), "rows="), 15000, "{text}");
    assert!(text.contains("/lineitem\""), "{text}");
    let summary = line("output_rows=");
    assert!(number(summary, "peak_memory=") <= 1 << 20, "{text}");
    // Each spill file is counted for exactly one operator.
    let per_operator: u64 = text
        .lines()
        .filter(|l| l.contains("spill_count=") && !l.contains("output_rows="))
        .map(|l| number(l, "spill_count="))
        .sum();
    assert_eq!(per_operator, number(summary, "spill_count="), "{text}");
}

#[test]
fn progress_callback_sees_every_work_item() {
    use std::sync::{Arc, Mutex};
    let ctx = Setup::all()[0].context().expect("context");
    let seen: Arc<Mutex<Vec<rask::ProgressInfo>>> = Arc::default();
    let log = Arc::clone(&seen);
    ctx.set_progress_callback(move |p| {
        if let Ok(mut v) = log.lock() {
            v.push(p);
        }
    });
    ctx.sql("SELECT l_returnflag, count(*) FROM lineitem GROUP BY 1 ORDER BY 1")
        .and_then(|d| d.collect())
        .expect("query");
    let seen = seen.lock().expect("log");
    let last = seen
        .iter()
        .max_by_key(|p| (p.done, p.total))
        .expect("progress reported");
    assert!(last.total > 0 && last.done == last.total, "{last:?}");
    assert!(
        seen.iter().all(|p| p.done <= p.total),
        "never past what is known"
    );
}

#[test]
fn an_aggregation_read_twice_is_computed_once() {
    // A WITH read twice (TPC-H Q15's shape): one SharedExec, read in both places, with the
    // optimizer; the same answer without it. Two tables whose plans print the same are not
    // shared.
    let sql = "WITH r AS (SELECT k, sum(v) AS s FROM t GROUP BY k) \
               SELECT r.k, r.s FROM r WHERE r.s = (SELECT max(s) FROM r) ORDER BY r.k";
    let mut answers = Vec::new();
    for optimize in [true, false] {
        let ctx = SessionContext::with_config(SessionConfig::default().with_optimizer(optimize));
        let t = ctx
            .from_columns([
                ("k", rask::ColumnData::from(vec![1i64, 2, 2, 3, 3, 3])),
                ("v", rask::ColumnData::from(vec![5i64, 1, 4, 1, 1, 3])),
            ])
            .expect("t");
        register(&ctx, "t", &t);
        let explain = ctx.sql(sql).and_then(|d| d.explain()).expect("explain");
        let shared = explain.matches("SharedExec: id=1").count();
        assert_eq!(shared, if optimize { 2 } else { 0 }, "{explain}");
        let rows = ctx.sql(sql).and_then(|d| d.collect()).expect("run");
        answers.push(format_rows(&rows));
    }
    assert_eq!(
        answers[0],
        vec![vec!["1", "5"], vec!["2", "5"], vec!["3", "5"]]
    );
    assert_eq!(answers[0], answers[1]);
    let ctx = SessionContext::new();
    for (name, v) in [("a", 1i64), ("b", 2)] {
        let df = ctx
            .from_columns([("k", rask::ColumnData::from(vec![v]))])
            .expect("df");
        register(&ctx, name, &df);
    }
    let sql = "SELECT * FROM (SELECT k, count(*) AS n FROM a GROUP BY k) x \
               JOIN (SELECT k, count(*) AS n FROM b GROUP BY k) y ON x.n = y.n";
    let explain = ctx.sql(sql).and_then(|d| d.explain()).expect("explain");
    assert!(!explain.contains("SharedExec"), "{explain}");
    let rows = ctx.sql(sql).and_then(|d| d.collect()).expect("run");
    assert_eq!(format_rows(&rows), vec![vec!["1", "1", "2", "1"]]);
}

fn register(ctx: &SessionContext, name: &str, df: &rask::DataFrame) {
    let batches = df.collect().expect("collect");
    ctx.register_batches(name, batches[0].schema(), vec![batches])
        .expect("register");
}
