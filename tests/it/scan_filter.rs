//! Filters evaluated inside Parquet scans: the answers equal a plain Rust evaluation of the
//! same predicates over the rows written, with the optimizer on (filters go into the scan,
//! string columns stored dictionary-encoded are read and tested per distinct value) and off
//! (a filter above the scan), at 1 and 4 threads.

use rask::{ColumnData, SessionConfig, SessionContext};
use rask_tests::format_rows;

const ROWS: usize = 6000;
const LOW: [Option<&str>; 6] = [
    Some("a"),
    Some("b"),
    Some("c"),
    Some("10"),
    Some("20"),
    None,
];

/// The rows written: (id, s: few distinct values and NULLs, t: one value per row, n: ints with
/// NULLs).
struct Data {
    id: Vec<i64>,
    s: Vec<Option<&'static str>>,
    t: Vec<String>,
    n: Vec<Option<i64>>,
}

fn data() -> Data {
    let id: Vec<i64> = (0..ROWS as i64).collect();
    let s = (0..ROWS)
        .map(|i| LOW[(i * 7 + i / 13) % LOW.len()])
        .collect();
    let t = (0..ROWS).map(|i| format!("row-{i}")).collect();
    let n = (0..ROWS)
        .map(|i| (i % 11 != 0).then_some((i % 9) as i64))
        .collect();
    Data { id, s, t, n }
}

/// Writes the data as 3 Parquet files (several row groups each) and returns its directory.
fn write(dir: &std::path::Path) -> String {
    let d = data();
    let ctx = SessionContext::new();
    let df = ctx
        .from_columns([
            ("id", ColumnData::from(d.id.clone())),
            ("s", ColumnData::from(d.s.clone())),
            ("t", ColumnData::from(d.t.clone())),
            ("n", ColumnData::from(d.n.clone())),
        ])
        .expect("from_columns")
        .repartition(3)
        .expect("repartition");
    let out = dir.join("t").to_string_lossy().into_owned();
    df.to_parquet(&out).write().expect("write parquet");
    out
}

fn contexts(path: &str) -> Vec<(String, SessionContext)> {
    let mut out = Vec::new();
    for optimize in [true, false] {
        for threads in [1, 4] {
            let config = SessionConfig::default()
                .with_optimizer(optimize)
                .with_threads(threads)
                .with_batch_size(500);
            let ctx = SessionContext::with_config(config);
            ctx.register_parquet("t", path).expect("register");
            out.push((format!("optimize={optimize} threads={threads}"), ctx));
        }
    }
    out
}

fn ids(ctx: &SessionContext, predicate: &str) -> Vec<i64> {
    let sql = format!("SELECT id FROM t WHERE {predicate} ORDER BY id");
    let batches = ctx
        .sql(&sql)
        .and_then(|df| df.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    format_rows(&batches)
        .into_iter()
        .map(|r| r[0].parse().expect("id"))
        .collect()
}

#[test]
fn pushed_filters_match_a_plain_evaluation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path());
    let d = data();
    type Check<'a> = (&'static str, Box<dyn Fn(usize) -> bool + 'a>);
    let s = |i: usize| d.s[i];
    let checks: Vec<Check<'_>> = vec![
        (
            "s IN ('a', 'c')",
            Box::new(move |i| matches!(s(i), Some("a" | "c"))),
        ),
        ("s IS NULL", Box::new(move |i| s(i).is_none())),
        ("coalesce(s, 'z') = 'z'", Box::new(move |i| s(i).is_none())),
        (
            "NOT (s = 'a')",
            Box::new(move |i| s(i).is_some_and(|v| v != "a")),
        ),
        (
            "s LIKE '%0' AND n > 3",
            Box::new(|i| d.s[i].is_some_and(|v| v.ends_with('0')) && d.n[i].is_some_and(|n| n > 3)),
        ),
        (
            "t LIKE 'row-1%' AND s <> 'b' AND id < 5000",
            Box::new(|i| {
                d.t[i].starts_with("row-1") && d.s[i].is_some_and(|v| v != "b") && i < 5000
            }),
        ),
        (
            "length(s) = 2 OR n IS NULL",
            Box::new(|i| d.s[i].is_some_and(|v| v.len() == 2) || d.n[i].is_none()),
        ),
        (
            "TRY_CAST(s AS BIGINT) >= 20 OR s IS NULL",
            Box::new(|i| d.s[i].is_none_or(|v| v.parse::<i64>().is_ok_and(|x| x >= 20))),
        ),
        ("s = 'no such value'", Box::new(|_| false)),
    ];
    let contexts = contexts(&path);
    for (predicate, keep) in &checks {
        let want: Vec<i64> = (0..ROWS).filter(|&i| keep(i)).map(|i| i as i64).collect();
        for (name, ctx) in &contexts {
            assert_eq!(ids(ctx, predicate), want, "{predicate} ({name})");
        }
    }
}

#[test]
fn explain_shows_filters_in_the_scan_only_with_the_optimizer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path());
    for (name, ctx) in contexts(&path) {
        let text = ctx
            .sql("SELECT id FROM t WHERE s = 'a' AND n > 1")
            .and_then(|df| df.explain())
            .expect("explain");
        let pushed = text.contains("filter: \"s = 'a' AND n > 1\"")
            || text.contains("filter: \"n > 1 AND s = 'a'\"");
        assert_eq!(pushed, name.starts_with("optimize=true"), "{name}:\n{text}");
        assert_eq!(
            text.contains("FilterExec"),
            name.starts_with("optimize=false"),
            "{name}:\n{text}"
        );
    }
}

#[test]
fn a_failing_pushed_filter_reports_the_cast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path());
    for (name, ctx) in contexts(&path) {
        let err = ctx
            .sql("SELECT id FROM t WHERE CAST(s AS BIGINT) > 5")
            .and_then(|df| df.collect())
            .expect_err("'a' is not a number");
        let text = err.to_string();
        assert!(text.contains("TRY_CAST"), "{name}: {text}");
    }
}
