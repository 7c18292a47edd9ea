//! DataFrame API tests: selecting, transforming, aggregating and inspecting (issue #5 items 2,
//! 3, 4 and 7).
//!
//! Every test runs on one 10-row table with NULLs in every column, laid out as 1 partition
//! (single-threaded) and as 3 partitions (4 threads, and single-threaded without the
//! optimizer). Expected values were computed offline with pandas 2 (`~/peers-venv/bin/python`)
//! on the same table, built as
//!
//! ```python
//! df = pd.DataFrame({
//!  "k": ["a","b","a",None,"b","a","c","b","a",None],
//!  "v": pd.array([1,None,3,4,5,6,None,8,9,10], dtype="Int64"),
//!  "x": [1.57,2.24,np.nan,-4.01,5.53,0.12,7.78,np.nan,3.01,-1.26],
//!  "s": ["p","q",None,"r","s","t","u","v",None,"w"]})
//! ```
//!
//! and formatted like `rask_tests::format_value` (floats to 4 decimals); the pandas call is
//! named next to each expectation.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rask::{col, lit, DataFrame, ScalarValue, Scheduler, SessionConfig, SessionContext};
use rask_tests::{format_rows, split_into};

fn table() -> (Arc<Schema>, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let k: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a"),
        Some("b"),
        Some("a"),
        None,
        Some("b"),
        Some("a"),
        Some("c"),
        Some("b"),
        Some("a"),
        None,
    ]));
    let v: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(1),
        None,
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        None,
        Some(8),
        Some(9),
        Some(10),
    ]));
    let x: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(1.57),
        Some(2.24),
        None,
        Some(-4.01),
        Some(5.53),
        Some(0.12),
        Some(7.78),
        None,
        Some(3.01),
        Some(-1.26),
    ]));
    let s: ArrayRef = Arc::new(StringArray::from(vec![
        Some("p"),
        Some("q"),
        None,
        Some("r"),
        Some("s"),
        Some("t"),
        Some("u"),
        Some("v"),
        None,
        Some("w"),
    ]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![k, v, x, s]).expect("batch");
    (schema, batch)
}

/// Sessions to run every check under: (label, context, partitions).
fn setups() -> Vec<(String, SessionContext, usize)> {
    let single = SessionConfig::default()
        .with_threads(1)
        .with_scheduler(Scheduler::SingleThreaded);
    let threads = SessionConfig::default()
        .with_threads(4)
        .with_scheduler(Scheduler::Threads)
        .with_batch_size(2);
    let unoptimized = SessionConfig::default()
        .with_threads(1)
        .with_scheduler(Scheduler::SingleThreaded)
        .with_optimizer(false);
    vec![
        ("1 partition".into(), SessionContext::with_config(single), 1),
        (
            "3 partitions, 4 threads".into(),
            SessionContext::with_config(threads),
            3,
        ),
        (
            "3 partitions, no optimizer".into(),
            SessionContext::with_config(unoptimized),
            3,
        ),
    ]
}

/// The test table in every set-up.
fn frames() -> Vec<(String, DataFrame)> {
    let (schema, batch) = table();
    setups()
        .into_iter()
        .map(|(label, ctx, n)| {
            // One row per batch, so that partitions hold several batches.
            let rows: Vec<RecordBatch> = (0..batch.num_rows()).map(|i| batch.slice(i, 1)).collect();
            let parts = split_into(&schema, &rows, n).expect("split");
            let df = ctx.from_batches(Arc::clone(&schema), parts).expect("frame");
            (label, df)
        })
        .collect()
}

fn rows(df: &DataFrame) -> Vec<Vec<String>> {
    format_rows(&df.collect().expect("collect"))
}

fn sorted(mut r: Vec<Vec<String>>) -> Vec<Vec<String>> {
    r.sort();
    r
}

fn expect(rows: &[Vec<&str>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// Checks `f(frame)` in every set-up, in order.
fn check(what: &str, want: &[Vec<&str>], f: impl Fn(&DataFrame) -> rask::Result<DataFrame>) {
    for (label, df) in frames() {
        let out = f(&df).unwrap_or_else(|e| panic!("{what} [{label}]: {e}"));
        assert_eq!(rows(&out), expect(want), "{what} [{label}]");
    }
}

/// Checks `f(frame)` in every set-up, ignoring row order.
fn check_unordered(
    what: &str,
    want: &[Vec<&str>],
    f: impl Fn(&DataFrame) -> rask::Result<DataFrame>,
) {
    for (label, df) in frames() {
        let out = f(&df).unwrap_or_else(|e| panic!("{what} [{label}]: {e}"));
        assert_eq!(sorted(rows(&out)), sorted(expect(want)), "{what} [{label}]");
    }
}

fn err_of(r: rask::Result<DataFrame>) -> String {
    match r {
        Ok(df) => match df.collect() {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn selecting() {
    for (label, df) in frames() {
        let v = df.column("v").expect("column");
        assert_eq!(
            df.filter(v.gt(lit(8i64)))
                .expect("filter")
                .count()
                .expect("count"),
            2
        );
        let e = df.column("vv").expect_err("unknown column");
        assert!(e.to_string().contains("'vv' not found"), "{label}: {e}");
    }
    // df.tail(3)
    check(
        "tail",
        &[
            vec!["b", "8", "NULL", "v"],
            vec!["a", "9", "3.01", "NULL"],
            vec!["NULL", "10", "-1.26", "w"],
        ],
        |d| d.tail(3),
    );
    // df.sort_values("v").tail(3)["v"]
    check(
        "tail after sort",
        &[vec!["10"], vec!["NULL"], vec!["NULL"]],
        |d| d.sort_values(&["v"], true)?.tail(3)?.select_columns(&["v"]),
    );
    check(
        "tail longer than the frame",
        &[vec!["1"], vec!["NULL"]],
        |d| d.head(2).tail(5)?.select_columns(&["v"]),
    );
    // df.nlargest(3, "x")
    check(
        "nlargest",
        &[
            vec!["c", "NULL", "7.78", "u"],
            vec!["b", "5", "5.53", "s"],
            vec!["a", "9", "3.01", "NULL"],
        ],
        |d| d.nlargest(3, &["x"]),
    );
    // df.nsmallest(2, "v")
    check(
        "nsmallest",
        &[vec!["a", "1", "1.57", "p"], vec!["a", "3", "NULL", "NULL"]],
        |d| d.nsmallest(2, &["v"]),
    );
    // df.loc[(df.k == "a") & (df.v > 2)]
    check_unordered(
        "loc",
        &[
            vec!["a", "3", "NULL", "NULL"],
            vec!["a", "6", "0.12", "t"],
            vec!["a", "9", "3.01", "NULL"],
        ],
        |d| d.loc(col("k").eq(lit("a")).and(col("v").gt(lit(2i64)))),
    );
}

#[test]
fn sample_is_deterministic_across_partitionings() {
    let mut seen: Option<Vec<Vec<String>>> = None;
    for (label, df) in frames() {
        assert_eq!(df.sample(1.0, 3).and_then(|d| d.count()).expect("all"), 10);
        assert_eq!(df.sample(0.0, 3).and_then(|d| d.count()).expect("none"), 0);
        let half = sorted(rows(&df.sample(0.5, 7).expect("sample")));
        match &seen {
            None => seen = Some(half),
            Some(first) => assert_eq!(&half, first, "{label}"),
        }
        let e = err_of(df.sample(1.5, 0));
        assert!(e.contains("between 0 and 1"), "{e}");
    }
    // A bigger frame: the kept share is close to frac and the same at 1 and 4 partitions.
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Int64Array::from_iter_values(0..20_000))],
    )
    .expect("batch");
    let mut counts = Vec::new();
    let mut sums = Vec::new();
    for (_, ctx, _) in setups() {
        for n in [1, 4] {
            let parts = split_into(&schema, std::slice::from_ref(&batch), n).expect("split");
            let s = ctx
                .from_batches(Arc::clone(&schema), parts)
                .and_then(|d| d.sample(0.3, 11))
                .expect("sample");
            counts.push(s.count().expect("count"));
            sums.push(rows(&s.sum().expect("sum")));
        }
    }
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
    assert!((5_600..6_400).contains(&counts[0]), "{counts:?}");
    assert!(sums.iter().all(|s| s == &sums[0]));
    // Another seed draws other rows.
    let parts = split_into(&schema, std::slice::from_ref(&batch), 2).expect("split");
    let ctx = SessionContext::new();
    let other = ctx
        .from_batches(Arc::clone(&schema), parts)
        .and_then(|d| d.sample(0.3, 12))
        .and_then(|d| d.sum())
        .expect("other seed");
    assert_ne!(rows(&other), sums[0]);
}

#[test]
fn renaming_dropping_and_casting() {
    for (label, df) in frames() {
        let r = df.rename(&[("v", "value"), ("s", "text")]).expect("rename");
        assert_eq!(r.columns(), vec!["k", "value", "x", "text"], "{label}");
        assert_eq!(rows(&r), rows(&df), "{label}");
        let e = err_of(df.rename(&[("nope", "x2")]));
        assert!(e.contains("'nope' not found"), "{e}");
        let e = err_of(df.rename(&[("v", "x")]));
        assert!(e.contains("two columns named 'x'"), "{e}");

        let d = df.drop(&["s", "x"]).expect("drop");
        assert_eq!(d.columns(), vec!["k", "v"]);
        assert!(err_of(df.drop(&["zz"])).contains("'zz' not found"));
        assert!(err_of(df.drop(&["k", "v", "x", "s"])).contains("every column"));

        let t = df
            .astype(&[("v", DataType::Float64), ("x", DataType::Utf8)])
            .expect("astype");
        assert_eq!(
            t.dtypes(),
            vec![
                ("k".to_string(), DataType::Utf8),
                ("v".to_string(), DataType::Float64),
                ("x".to_string(), DataType::Utf8),
                ("s".to_string(), DataType::Utf8),
            ]
        );
        assert_eq!(
            rows(&t.select_columns(&["v"]).expect("v")),
            rows(&df.select_columns(&["v"]).expect("v"))
        );
        // A value that does not convert names itself and its column (with several workers,
        // whichever bad value is met first).
        let e = err_of(df.astype(&[("s", DataType::Int64)]));
        assert!(
            e.contains("Cannot cast string '") && e.contains("column s"),
            "{label}: {e}"
        );
        let e = err_of(df.astype(&[("x", DataType::Date32)]));
        assert!(e.contains("column 'x'"), "{label}: {e}");
    }
}

#[test]
fn missing_values() {
    // df[["v", "x"]].fillna(0); k and s are text, which a number does not fill.
    check(
        "fillna",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["b", "0", "2.24", "q"],
            vec!["a", "3", "0", "NULL"],
            vec!["NULL", "4", "-4.01", "r"],
            vec!["b", "5", "5.53", "s"],
            vec!["a", "6", "0.12", "t"],
            vec!["c", "0", "7.78", "u"],
            vec!["b", "8", "0", "v"],
            vec!["a", "9", "3.01", "NULL"],
            vec!["NULL", "10", "-1.26", "w"],
        ],
        |d| d.fillna(lit(0i64)),
    );
    for (_, df) in frames() {
        let f = df.fillna(lit(0i64)).expect("fillna");
        assert_eq!(f.dtypes(), df.dtypes(), "types are kept");
        let f = df.fillna(lit(0.5)).expect("fillna 0.5");
        assert_eq!(
            f.dtypes()[1].1,
            DataType::Float64,
            "a fraction makes v DOUBLE"
        );
        assert!(err_of(df.fillna(col("v"))).contains("constant"));
        assert!(err_of(df.fillna_columns(&[("v", lit("x"))])).contains("column 'v'"));
    }
    // df.fillna({"k": "?", "v": -1})
    check(
        "fillna_columns",
        &[
            vec!["a", "1"],
            vec!["b", "-1"],
            vec!["a", "3"],
            vec!["?", "4"],
            vec!["b", "5"],
            vec!["a", "6"],
            vec!["c", "-1"],
            vec!["b", "8"],
            vec!["a", "9"],
            vec!["?", "10"],
        ],
        |d| {
            d.fillna_columns(&[("k", lit("?")), ("v", lit(-1i64))])?
                .select_columns(&["k", "v"])
        },
    );
    // df.dropna()
    check(
        "dropna any",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["b", "5", "5.53", "s"],
            vec!["a", "6", "0.12", "t"],
        ],
        |d| d.dropna(None, "any"),
    );
    for (_, df) in frames() {
        // df.dropna(subset=["v", "x"], how="all"): no row lacks both
        assert_eq!(
            df.dropna(Some(&["v", "x"]), "all")
                .and_then(|d| d.count())
                .expect("all"),
            10
        );
        // df.dropna(subset=["k"])
        assert_eq!(
            df.dropna(Some(&["k"]), "any")
                .and_then(|d| d.count())
                .expect("k"),
            8
        );
        assert!(err_of(df.dropna(None, "some")).contains("'any' or 'all'"));
    }
    // df.isna()
    let na = [
        ["false", "false", "false", "false"],
        ["false", "true", "false", "false"],
        ["false", "false", "true", "true"],
        ["true", "false", "false", "false"],
        ["false", "false", "false", "false"],
        ["false", "false", "false", "false"],
        ["false", "true", "false", "false"],
        ["false", "false", "true", "false"],
        ["false", "false", "false", "true"],
        ["true", "false", "false", "false"],
    ];
    let isna: Vec<Vec<&str>> = na.iter().map(|r| r.to_vec()).collect();
    check("isna", &isna, |d| d.isna());
    let notna: Vec<Vec<&str>> = na
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| if *v == "true" { "false" } else { "true" })
                .collect()
        })
        .collect();
    check("notna", &notna, |d| d.notna());
}

#[test]
fn where_mask_clip_round() {
    let num = |d: &DataFrame| d.select_columns(&["v", "x"]);
    // df[["v","x"]].where(df[["v","x"]] > 2, 0)
    check(
        "where",
        &[
            vec!["0", "0"],
            vec!["0", "2.24"],
            vec!["3", "0"],
            vec!["4", "0"],
            vec!["5", "5.53"],
            vec!["6", "0"],
            vec!["0", "7.78"],
            vec!["8", "0"],
            vec!["9", "3.01"],
            vec!["10", "0"],
        ],
        |d| num(d)?.where_(|c| c.gt(lit(2i64)), lit(0i64)),
    );
    // df[["v","x"]].mask(df[["v","x"]] > 2, 0) with float (NaN) columns, where NaN > 2 is
    // False and the NaN stays; pandas' nullable Int64 would replace <NA> (NA > 2 is NA).
    check(
        "mask",
        &[
            vec!["1", "1.57"],
            vec!["NULL", "0"],
            vec!["0", "NULL"],
            vec!["0", "-4.01"],
            vec!["0", "0"],
            vec!["0", "0.12"],
            vec!["NULL", "0"],
            vec!["0", "NULL"],
            vec!["0", "0"],
            vec!["0", "-1.26"],
        ],
        |d| num(d)?.mask(|c| c.gt(lit(2i64)), lit(0i64)),
    );
    // A whole-row mask (the condition ignores the column), NULL as `other`.
    check_unordered(
        "where row mask",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["a", "3", "NULL", "NULL"],
            vec!["a", "6", "0.12", "t"],
            vec!["a", "9", "3.01", "NULL"],
        ],
        |d| {
            d.where_(|_| col("k").eq(lit("a")), lit(ScalarValue::Null))?
                .dropna(Some(&["k"]), "any")
        },
    );
    for (_, df) in frames() {
        let e = err_of(df.where_(|c| c.is_not_null(), lit(0i64)));
        assert!(e.contains("column 'k'"), "{e}");
    }
    // df.clip(0, 5) on the numeric columns
    check(
        "clip",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["b", "NULL", "2.24", "q"],
            vec!["a", "3", "NULL", "NULL"],
            vec!["NULL", "4", "0", "r"],
            vec!["b", "5", "5", "s"],
            vec!["a", "5", "0.12", "t"],
            vec!["c", "NULL", "5", "u"],
            vec!["b", "5", "NULL", "v"],
            vec!["a", "5", "3.01", "NULL"],
            vec!["NULL", "5", "0", "w"],
        ],
        |d| d.clip(Some(lit(0i64)), Some(lit(5i64))),
    );
    // df[["x"]].round(1) (no value ends in an exact half, where pandas rounds to even)
    check(
        "round",
        &[
            vec!["1", "1.6"],
            vec!["NULL", "2.2"],
            vec!["3", "NULL"],
            vec!["4", "-4"],
            vec!["5", "5.5"],
            vec!["6", "0.1"],
            vec!["NULL", "7.8"],
            vec!["8", "NULL"],
            vec!["9", "3"],
            vec!["10", "-1.3"],
        ],
        |d| d.round(1)?.select_columns(&["v", "x"]),
    );
}

#[test]
fn drop_duplicates_keep() {
    // df.drop_duplicates(subset=["k"], keep="first")
    check_unordered(
        "keep first",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["b", "NULL", "2.24", "q"],
            vec!["NULL", "4", "-4.01", "r"],
            vec!["c", "NULL", "7.78", "u"],
        ],
        |d| d.drop_duplicates_by(&["k"], "first"),
    );
    // keep="last"
    check_unordered(
        "keep last",
        &[
            vec!["c", "NULL", "7.78", "u"],
            vec!["b", "8", "NULL", "v"],
            vec!["a", "9", "3.01", "NULL"],
            vec!["NULL", "10", "-1.26", "w"],
        ],
        |d| d.drop_duplicates_by(&["k"], "last"),
    );
    // keep=False
    check_unordered("keep none", &[vec!["c", "NULL", "7.78", "u"]], |d| {
        d.drop_duplicates_by(&["k"], "none")
    });
    // After a sort, first/last follow the sorted order.
    check_unordered(
        "keep first after sort",
        &[
            vec!["a", "9"],
            vec!["b", "8"],
            vec!["c", "NULL"],
            vec!["NULL", "10"],
        ],
        |d| {
            d.sort_values(&["v"], false)?
                .drop_duplicates_by(&["k"], "first")?
                .select_columns(&["k", "v"])
        },
    );
    for (_, df) in frames() {
        assert!(err_of(df.drop_duplicates_by(&["k"], "middle")).contains("keep='middle'"));
    }
}

#[test]
fn inspection() {
    for (label, df) in frames() {
        assert_eq!(df.shape().expect("shape"), (10, 4), "{label}");
        assert_eq!(
            df.dtypes(),
            vec![
                ("k".to_string(), DataType::Utf8),
                ("v".to_string(), DataType::Int64),
                ("x".to_string(), DataType::Float64),
                ("s".to_string(), DataType::Utf8),
            ]
        );
        let printed = df.to_string();
        assert_eq!(printed.lines().count(), 14, "{printed}");
        assert!(!printed.contains("rows x"), "{printed}");
    }
    // A long frame prints its ends only.
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(0..100)),
            Arc::new(StringArray::from_iter_values(
                (0..100).map(|i| format!("r{i}")),
            )),
        ],
    )
    .expect("batch");
    for (label, ctx, n) in setups() {
        let parts = split_into(&schema, std::slice::from_ref(&batch), n).expect("split");
        let df = ctx.from_batches(Arc::clone(&schema), parts).expect("frame");
        let want = "\
+-----+-----+
| a   | b   |
+-----+-----+
| 0   | r0  |
| 1   | r1  |
| 2   | r2  |
| 3   | r3  |
| 4   | r4  |
| ... | ... |
| 95  | r95 |
| 96  | r96 |
| 97  | r97 |
| 98  | r98 |
| 99  | r99 |
+-----+-----+
[100 rows x 2 columns]";
        assert_eq!(df.to_string(), want, "{label}");
        let desc = df.sort_values(&["a"], false).expect("sort").to_string();
        assert!(desc.contains("| 99  | r99 |\n| 98  |"), "{label}: {desc}");
        assert!(
            desc.ends_with("| 0   | r0  |\n+-----+-----+\n[100 rows x 2 columns]"),
            "{label}: {desc}"
        );
    }
}

#[test]
fn groupby_shortcuts() {
    let g = |d: &DataFrame| d.groupby(&["k"]);
    // df.groupby("k")[["v","x"]].sum()
    check(
        "sum",
        &[
            vec!["a", "19", "4.7"],
            vec!["b", "13", "7.77"],
            vec!["c", "0", "7.78"],
        ],
        |d| g(d)?.sum(),
    );
    check(
        "mean",
        &[
            vec!["a", "4.75", "1.5667"],
            vec!["b", "6.5", "3.885"],
            vec!["c", "NULL", "7.78"],
        ],
        |d| g(d)?.mean(),
    );
    check(
        "std",
        &[
            vec!["a", "3.5", "1.445"],
            vec!["b", "2.1213", "2.3264"],
            vec!["c", "NULL", "NULL"],
        ],
        |d| g(d)?.std(),
    );
    check(
        "var",
        &[
            vec!["a", "12.25", "2.088"],
            vec!["b", "4.5", "5.412"],
            vec!["c", "NULL", "NULL"],
        ],
        |d| g(d)?.var(),
    );
    check(
        "median",
        &[
            vec!["a", "4.5", "1.57"],
            vec!["b", "6.5", "3.885"],
            vec!["c", "NULL", "7.78"],
        ],
        |d| g(d)?.median(),
    );
    // df.groupby("k")[["v","x"]].quantile(0.25)
    check(
        "quantile",
        &[
            vec!["a", "2.5", "0.845"],
            vec!["b", "5.75", "3.0625"],
            vec!["c", "NULL", "7.78"],
        ],
        |d| g(d)?.quantile(0.25),
    );
    // df.groupby("k").min() / max() / count() / first() / last() / nunique() / size()
    check(
        "min",
        &[
            vec!["a", "1", "0.12", "p"],
            vec!["b", "5", "2.24", "q"],
            vec!["c", "NULL", "7.78", "u"],
        ],
        |d| g(d)?.min(),
    );
    check(
        "max",
        &[
            vec!["a", "9", "3.01", "t"],
            vec!["b", "8", "5.53", "v"],
            vec!["c", "NULL", "7.78", "u"],
        ],
        |d| g(d)?.max(),
    );
    let counts = [
        vec!["a", "4", "3", "2"],
        vec!["b", "2", "2", "3"],
        vec!["c", "0", "1", "1"],
    ];
    check("count", &counts, |d| g(d)?.count());
    check("nunique", &counts, |d| g(d)?.nunique());
    check(
        "first",
        &[
            vec!["a", "1", "1.57", "p"],
            vec!["b", "5", "2.24", "q"],
            vec!["c", "NULL", "7.78", "u"],
        ],
        |d| g(d)?.first(),
    );
    check(
        "last",
        &[
            vec!["a", "9", "3.01", "t"],
            vec!["b", "8", "5.53", "v"],
            vec!["c", "NULL", "7.78", "u"],
        ],
        |d| g(d)?.last(),
    );
    check(
        "size",
        &[vec!["a", "4"], vec!["b", "3"], vec!["c", "1"]],
        |d| g(d)?.size(),
    );
    for (_, df) in frames() {
        let only_text = df.select_columns(&["k", "s"]).expect("select");
        assert!(err_of(only_text.groupby(&["k"]).and_then(|g| g.sum())).contains("no numeric"));
        assert!(
            err_of(df.groupby(&["k"]).and_then(|g| g.quantile(2.0))).contains("between 0 and 1")
        );
    }
}

#[test]
fn groupby_transform() {
    // df.assign(t=df.groupby("k")["v"].transform(f)); NULL keys get NULL (dropna=True).
    let with = |stats: [&'static str; 4]| -> Vec<Vec<&'static str>> {
        let [a, b, c, _] = stats;
        vec![
            vec!["NULL", "10", "-1.26", "w", "NULL"],
            vec!["NULL", "4", "-4.01", "r", "NULL"],
            vec!["a", "1", "1.57", "p", a],
            vec!["a", "3", "NULL", "NULL", a],
            vec!["a", "6", "0.12", "t", a],
            vec!["a", "9", "3.01", "NULL", a],
            vec!["b", "5", "5.53", "s", b],
            vec!["b", "8", "NULL", "v", b],
            vec!["b", "NULL", "2.24", "q", b],
            vec!["c", "NULL", "7.78", "u", c],
        ]
    };
    for (func, stats) in [
        ("mean", ["4.75", "6.5", "NULL", ""]),
        ("median", ["4.5", "6.5", "NULL", ""]),
        ("first", ["1", "5", "NULL", ""]),
        ("size", ["4", "3", "1", ""]),
        ("std", ["3.5", "2.1213", "NULL", ""]),
        ("nunique", ["4", "2", "0", ""]),
        ("sum", ["19", "13", "0", ""]),
    ] {
        check_unordered(func, &with(stats), |d| {
            d.groupby(&["k"])?.transform(func, "v")
        });
    }
    for (_, df) in frames() {
        let t = df
            .groupby(&["k"])
            .and_then(|g| g.transform("mean", "v"))
            .expect("t");
        assert_eq!(t.columns(), vec!["k", "v", "x", "s", "v_mean"]);
        assert!(
            err_of(df.groupby(&["k"]).and_then(|g| g.transform("mode", "v")))
                .contains("transform('mode')")
        );
    }
}

#[test]
fn frame_statistics() {
    // df.value_counts(["k"])
    check(
        "value_counts",
        &[vec!["a", "4"], vec!["b", "3"], vec!["c", "1"]],
        |d| d.value_counts(&["k"]),
    );
    // df.value_counts(): rows with a NULL dropped; ties (all 1) ordered by the values.
    check(
        "value_counts all",
        &[
            vec!["a", "1", "1.57", "p", "1"],
            vec!["a", "6", "0.12", "t", "1"],
            vec!["b", "5", "5.53", "s", "1"],
        ],
        |d| d.value_counts(&[]),
    );
    // df.describe()
    check(
        "describe",
        &[
            vec!["count", "8", "8"],
            vec!["mean", "5.75", "1.8725"],
            vec!["std", "3.1053", "3.728"],
            vec!["min", "1", "-4.01"],
            vec!["25%", "3.75", "-0.225"],
            vec!["50%", "5.5", "1.905"],
            vec!["75%", "8.25", "3.64"],
            vec!["max", "10", "7.78"],
        ],
        |d| d.describe(),
    );
    // df[["v","x"]].corr() / .cov()
    check(
        "corr",
        &[vec!["v", "1", "-0.0098"], vec!["x", "-0.0098", "1"]],
        |d| d.corr(),
    );
    check(
        "cov",
        &[
            vec!["v", "9.6429", "-0.1087"],
            vec!["x", "-0.1087", "13.8977"],
        ],
        |d| d.cov(),
    );
    // df.nunique(), df[["v","x"]].quantile(0.3), and the reductions
    check("nunique", &[vec!["3", "8", "8", "8"]], |d| d.nunique());
    check("quantile", &[vec!["4.1", "0.265"]], |d| d.quantile(0.3));
    check("sum", &[vec!["46", "14.98"]], |d| d.sum());
    check("mean", &[vec!["5.75", "1.8725"]], |d| d.mean());
    check("std", &[vec!["3.1053", "3.728"]], |d| d.std());
    check("var", &[vec!["9.6429", "13.8977"]], |d| d.var());
    check("median", &[vec!["5.5", "1.905"]], |d| d.median());
    check("min", &[vec!["a", "1", "-4.01", "p"]], |d| d.min());
    check("max", &[vec!["c", "10", "7.78", "w"]], |d| d.max());
    check("count", &[vec!["8", "8", "8", "8"]], |d| d.count_non_null());
    for (_, df) in frames() {
        let text = df.select_columns(&["k", "s"]).expect("text");
        assert!(err_of(text.describe()).contains("no numeric"));
        let clash = df.rename(&[("v", "statistic")]).expect("rename");
        assert!(err_of(clash.describe()).contains("'statistic'"));
    }
}

#[test]
fn new_aggregates_match_sql() {
    // The API's quantile/covariance and the SQL names reach the same accumulators; check the
    // API against the SQL path at 1 and 3 partitions.
    for (label, df) in frames() {
        let api = df
            .agg(vec![
                rask::functions::quantile(col("x"), 0.4).alias("q"),
                rask::functions::covar_samp(col("v"), col("x")).alias("cs"),
                rask::functions::covar_pop(col("v"), col("x")).alias("cp"),
            ])
            .expect("api");
        // DuckDB: SELECT quantile_cont(x, 0.4), covar_samp(v, x), covar_pop(v, x) FROM t
        assert_eq!(
            rows(&api),
            expect(&[vec!["1.28", "-0.1087", "-0.0906"]]),
            "{label}"
        );
    }
}

/// `astype_category`: dictionary-encoded columns filter, group, sort and count like the plain
/// ones (expected values hand-computed from `table()`).
#[test]
fn categoricals() {
    use rask::functions::{count_star, sum};
    check_unordered(
        "groupby on a categorical",
        &[
            vec!["a", "19", "4"],
            vec!["b", "13", "3"],
            vec!["c", "NULL", "1"],
            vec!["NULL", "14", "2"],
        ],
        |df| {
            let cat = df.astype_category(&["k"])?;
            assert!(matches!(cat.dtypes()[0].1, DataType::Dictionary(..)));
            cat.groupby(&["k"])?
                .agg(vec![sum(col("v")).alias("s"), count_star().alias("n")])
        },
    );
    check(
        "filter and sort on a categorical",
        &[
            vec!["a", "1"],
            vec!["a", "3"],
            vec!["a", "6"],
            vec!["a", "9"],
            vec!["c", "NULL"],
        ],
        |df| {
            df.astype_category(&["k"])?
                .filter(col("k").eq(lit("a")).or(col("k").eq(lit("c"))))?
                .select_columns(&["k", "v"])?
                .sort_values(&["k", "v"], true)
        },
    );
    check_unordered(
        "value_counts of a categorical (NULLs dropped, as pandas' dropna=True)",
        &[vec!["a", "4"], vec!["b", "3"], vec!["c", "1"]],
        |df| df.astype_category(&["k"])?.value_counts(&["k"]),
    );
    let (_, df) = &frames()[0];
    assert!(err_of(df.astype_category(&["nope"])).contains("nope"));
}
