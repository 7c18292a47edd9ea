//! DataFrame API tests: windows (`over`, `rolling`, `resample`, cumulative functions) and
//! reshaping (`concat`, `melt`, `pivot_table`).
//!
//! Expected values are literals computed offline with pandas 3.1 (or DuckDB 1.x where
//! named) on the same rows, by `tests/tools`-style scripts quoted in the comments, or the
//! answer of the equivalent rask SQL query (the SQL window binder is separate code from the
//! API's `over`). Each test runs at 1 and 3 partitions, single-threaded and on 4 threads.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use rask::functions::{lag, max, rank, row_number, sum};
use rask::{col, lit, DataFrame, Scheduler, SessionConfig, SessionContext, Window, WindowExt};
use rask_tests::{format_rows, repo_root, split_into};

/// The configurations: (partitions, scheduler, threads).
const SETUPS: [(usize, Scheduler, usize); 3] = [
    (1, Scheduler::SingleThreaded, 1),
    (3, Scheduler::SingleThreaded, 1),
    (3, Scheduler::Threads, 4),
];

fn context(scheduler: Scheduler, threads: usize) -> SessionContext {
    SessionContext::with_config(
        SessionConfig::default()
            .with_scheduler(scheduler)
            .with_threads(threads),
    )
}

/// The rows of the pandas scripts: k, t (unique order), v DOUBLE, n BIGINT, ts TIMESTAMP,
/// with NULLs in v, n and ts.
const ROWS: &str = "SELECT k, t, v, n, CAST(ts AS TIMESTAMP) AS ts FROM (VALUES \
    ('a', 1, 1.0, 10, '2024-01-01 00:05:00'), \
    ('b', 2, 2.0, NULL, '2024-01-01 00:20:00'), \
    ('a', 3, NULL, 30, '2024-01-01 00:40:00'), \
    ('a', 4, 4.0, 40, '2024-01-01 01:10:00'), \
    ('b', 5, 5.5, 50, '2024-01-01 01:15:00'), \
    ('b', 6, NULL, 60, '2024-01-01 03:00:00'), \
    ('a', 7, 7.0, NULL, '2024-01-01 03:30:00'), \
    ('c', 8, 8.0, 80, NULL), \
    ('b', 9, -1.0, 90, '2024-01-01 03:59:59'), \
    ('a', 10, 10.0, 100, '2024-01-02 00:00:00')) r(k, t, v, n, ts)";

/// `sql`'s rows as a frame of `parts` in-memory partitions.
fn frame(ctx: &SessionContext, sql: &str, parts: usize) -> DataFrame {
    let df = ctx.sql(sql).expect("rows");
    let schema = df.schema();
    let batches = df.collect().expect("collect");
    let parts = split_into(&schema, &batches, parts).expect("split");
    ctx.from_batches(schema, parts).expect("frame")
}

fn sorted_rows(df: &DataFrame) -> Vec<Vec<String>> {
    let mut rows = format_rows(&df.collect().expect("run"));
    rows.sort();
    rows
}

fn literal(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    out.sort();
    out
}

/// Runs `check` on the rows in every configuration.
fn each_setup(check: impl Fn(&SessionContext, &DataFrame, &str)) {
    for (parts, scheduler, threads) in SETUPS {
        let ctx = context(scheduler, threads);
        let df = frame(&ctx, ROWS, parts);
        check(
            &ctx,
            &df,
            &format!("{parts} partitions, {scheduler:?}, {threads} threads"),
        );
    }
}

#[test]
fn over_matches_sql_window_functions() {
    each_setup(|ctx, df, setup| {
        ctx.register_batches("r", df.schema(), df.collect_partitions().expect("parts"))
            .expect("register");
        let by_k = Window::new().partition_by(["k"]).order_by(["t"]);
        let api = df
            .with_column("s", sum(col("v")).over(by_k.clone()).expect("over"))
            .and_then(|d| d.with_column("prev", lag(col("n"), 1).over(by_k.clone())?))
            .and_then(|d| d.with_column("r", rank().over(Window::new().order_by_desc(["n"]))?))
            .and_then(|d| {
                d.with_column(
                    "m3",
                    max(col("v")).over(Window::new().order_by(["t"]).rows(-1, 1))?,
                )
            })
            .and_then(|d| {
                d.select(vec![
                    col("k"),
                    col("t"),
                    col("s"),
                    col("prev"),
                    col("r"),
                    col("m3"),
                ])
            })
            .expect("api");
        let sql = ctx
            .sql(
                "SELECT k, t, sum(v) OVER (PARTITION BY k ORDER BY t) AS s, \
                 lag(n, 1) OVER (PARTITION BY k ORDER BY t) AS prev, \
                 rank() OVER (ORDER BY n DESC) AS r, \
                 max(v) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS m3 FROM r",
            )
            .expect("sql");
        assert_eq!(sorted_rows(&api), sorted_rows(&sql), "{setup}");
        assert_eq!(sorted_rows(&api).len(), 10, "{setup}");
    });
}

/// An h2o-shaped table `x(id6, v3)`: 3000 rows, 37 groups, NULLs and ties in v3.
fn h2o_x(ctx: &SessionContext, parts: usize) {
    let n = 3000i64;
    let id6: Int64Array = (0..n).map(|i| Some(i % 37)).collect();
    let v3: Float64Array = (0..n)
        .map(|i| (i % 11 != 0).then(|| ((i * 7919) % 1000) as f64 / 10.0))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id6", DataType::Int64, false),
        Field::new("v3", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(id6), Arc::new(v3)])
        .expect("batch");
    let parts = split_into(&schema, &[batch], parts).expect("split");
    ctx.register_batches("x", schema, parts).expect("register");
}

/// h2o groupby q8 (largest two v3 per id6) with the API gives the SQL benchmark's answer.
#[test]
fn h2o_q8_api_matches_sql() {
    let text =
        std::fs::read_to_string(repo_root().join("benches/queries/h2o.sql")).expect("h2o.sql");
    let q8 = text
        .split("-- name: ")
        .find_map(|q| q.strip_prefix("h2o_q8\n"))
        .expect("q8 in h2o.sql")
        .trim()
        .to_string();
    for (parts, scheduler, threads) in SETUPS {
        let ctx = context(scheduler, threads);
        h2o_x(&ctx, parts);
        let sql = ctx.sql(&q8).expect("sql");
        let api = ctx
            .table("x")
            .and_then(|x| x.filter(col("v3").is_not_null()))
            .and_then(|x| {
                x.filter(
                    row_number()
                        .over(Window::new().partition_by(["id6"]).order_by_desc(["v3"]))?
                        .lt_eq(lit(2i64)),
                )
            })
            .and_then(|x| x.select_columns(&["id6", "v3"]))
            .expect("api");
        let got = sorted_rows(&api);
        assert_eq!(got.len(), 74, "{parts} partitions");
        assert_eq!(got, sorted_rows(&sql), "{parts} partitions");
    }
}

#[test]
fn rolling_statistics_match_pandas() {
    // pandas: s = df.sort_values('t'); getattr(s[['v','n']].rolling(3), f)()
    let cases: [(&str, &[&[&str]]); 7] = [
        (
            "sum",
            &[
                &["1", "NULL", "NULL"],
                &["10", "17", "270"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "120"],
                &["6", "NULL", "150"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "14", "NULL"],
            ],
        ),
        (
            "mean",
            &[
                &["1", "NULL", "NULL"],
                &["10", "5.6667", "90"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "40"],
                &["6", "NULL", "50"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "4.6667", "NULL"],
            ],
        ),
        (
            "min",
            &[
                &["1", "NULL", "NULL"],
                &["10", "-1", "80"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "30"],
                &["6", "NULL", "40"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "-1", "NULL"],
            ],
        ),
        (
            "max",
            &[
                &["1", "NULL", "NULL"],
                &["10", "10", "100"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "50"],
                &["6", "NULL", "60"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "8", "NULL"],
            ],
        ),
        (
            "count",
            &[
                &["1", "NULL", "NULL"],
                &["10", "3", "3"],
                &["2", "NULL", "NULL"],
                &["3", "2", "2"],
                &["4", "2", "2"],
                &["5", "2", "3"],
                &["6", "2", "3"],
                &["7", "2", "2"],
                &["8", "2", "2"],
                &["9", "3", "2"],
            ],
        ),
        (
            "std",
            &[
                &["1", "NULL", "NULL"],
                &["10", "5.8595", "10"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "10"],
                &["6", "NULL", "10"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "4.9329", "NULL"],
            ],
        ),
        (
            "var",
            &[
                &["1", "NULL", "NULL"],
                &["10", "34.3333", "100"],
                &["2", "NULL", "NULL"],
                &["3", "NULL", "NULL"],
                &["4", "NULL", "NULL"],
                &["5", "NULL", "100"],
                &["6", "NULL", "100"],
                &["7", "NULL", "NULL"],
                &["8", "NULL", "NULL"],
                &["9", "24.3333", "NULL"],
            ],
        ),
    ];
    each_setup(|_, df, setup| {
        let r = df.rolling(3, "t").expect("rolling").columns(&["v", "n"]);
        for (name, expected) in cases {
            let out = match name {
                "sum" => r.sum(),
                "mean" => r.mean(),
                "min" => r.min(),
                "max" => r.max(),
                "count" => r.count(),
                "std" => r.std(),
                _ => r.var(),
            }
            .and_then(|d| d.select_columns(&["t", "v", "n"]))
            .expect("stat");
            assert_eq!(sorted_rows(&out), literal(expected), "{name}, {setup}");
        }
        // The output comes sorted by `on`.
        let ts: Vec<String> = format_rows(&r.sum().expect("sum").collect().expect("run"))
            .into_iter()
            .map(|row| row[1].clone())
            .collect();
        assert_eq!(
            ts,
            (1..=10).map(|i| i.to_string()).collect::<Vec<_>>(),
            "{setup}"
        );
        // pandas: s[['v','n']].rolling(3, min_periods=1).mean()
        let out = r
            .clone()
            .min_periods(1)
            .mean()
            .and_then(|d| d.select_columns(&["t", "v", "n"]))
            .expect("mean");
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["1", "1", "10"],
                &["10", "5.6667", "90"],
                &["2", "1.5", "10"],
                &["3", "1.5", "20"],
                &["4", "3", "35"],
                &["5", "4.75", "40"],
                &["6", "4.75", "50"],
                &["7", "6.25", "55"],
                &["8", "7.5", "70"],
                &["9", "4.6667", "85"]
            ]),
            "{setup}"
        );
        // pandas: s.groupby('k')[['v']].rolling(2, min_periods=1).sum()
        let out = df
            .rolling(2, "t")
            .map(|r| r.by(&["k"]).min_periods(1).columns(&["v"]))
            .and_then(|r| r.sum())
            .and_then(|d| d.select_columns(&["k", "t", "v"]))
            .expect("by");
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["a", "1", "1"],
                &["a", "10", "17"],
                &["a", "3", "1"],
                &["a", "4", "4"],
                &["a", "7", "11"],
                &["b", "2", "2"],
                &["b", "5", "7.5"],
                &["b", "6", "5.5"],
                &["b", "9", "-1"],
                &["c", "8", "8"]
            ]),
            "{setup}"
        );
    });
}

#[test]
fn resample_matches_pandas_without_empty_bins() {
    // pandas: rs = df.dropna(subset=['ts']).set_index('ts'); getattr(rs[['v','n']]
    // .resample('1h'), f)(), keeping bins with rows (pandas also emits the empty 02:00 ...).
    let cases: [(&str, &[&[&str]]); 4] = [
        (
            "sum",
            &[
                &["2024-01-01 00:00:00", "3", "40"],
                &["2024-01-01 01:00:00", "9.5", "90"],
                &["2024-01-01 03:00:00", "6", "150"],
                &["2024-01-02 00:00:00", "10", "100"],
            ],
        ),
        (
            "mean",
            &[
                &["2024-01-01 00:00:00", "1.5", "20"],
                &["2024-01-01 01:00:00", "4.75", "45"],
                &["2024-01-01 03:00:00", "3", "75"],
                &["2024-01-02 00:00:00", "10", "100"],
            ],
        ),
        (
            "count",
            &[
                &["2024-01-01 00:00:00", "2", "2"],
                &["2024-01-01 01:00:00", "2", "2"],
                &["2024-01-01 03:00:00", "2", "2"],
                &["2024-01-02 00:00:00", "1", "1"],
            ],
        ),
        (
            "max",
            &[
                &["2024-01-01 00:00:00", "2", "30"],
                &["2024-01-01 01:00:00", "5.5", "50"],
                &["2024-01-01 03:00:00", "7", "90"],
                &["2024-01-02 00:00:00", "10", "100"],
            ],
        ),
    ];
    each_setup(|_, df, setup| {
        let r = df
            .resample("1h", "ts")
            .expect("resample")
            .columns(&["v", "n"]);
        for (name, expected) in cases {
            let out = match name {
                "sum" => r.sum(),
                "mean" => r.mean(),
                "count" => r.count(),
                _ => r.max(),
            }
            .expect("stat");
            assert_eq!(out.columns(), vec!["ts", "v", "n"]);
            // Sorted by bin already.
            assert_eq!(
                format_rows(&out.collect().expect("run")),
                literal(expected),
                "{name}, {setup}"
            );
        }
        // pandas: rs.groupby('k')[['v']].resample('30min').max(), non-empty bins.
        let out = df
            .resample("30min", "ts")
            .map(|r| r.by(&["k"]).columns(&["v"]))
            .and_then(|r| r.max())
            .expect("by");
        assert_eq!(
            format_rows(&out.collect().expect("run")),
            literal(&[
                &["a", "2024-01-01 00:00:00", "1"],
                &["a", "2024-01-01 00:30:00", "NULL"],
                &["a", "2024-01-01 01:00:00", "4"],
                &["a", "2024-01-01 03:30:00", "7"],
                &["a", "2024-01-02 00:00:00", "10"],
                &["b", "2024-01-01 00:00:00", "2"],
                &["b", "2024-01-01 01:00:00", "5.5"],
                &["b", "2024-01-01 03:00:00", "NULL"],
                &["b", "2024-01-01 03:30:00", "-1"]
            ]),
            "{setup}"
        );
    });
}

#[test]
fn cumulative_functions_match_pandas() {
    each_setup(|_, df, setup| {
        // pandas: s = df.sort_values('t'); s['v'].cumsum(); s['n'].cummax()
        let out = df
            .cumsum(&["v"], &["t"])
            .and_then(|d| d.cummax(&["n"], &["t"]))
            .and_then(|d| d.select_columns(&["k", "t", "v", "n"]))
            .expect("cum");
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["a", "1", "1", "10"],
                &["a", "10", "36.5", "100"],
                &["a", "3", "NULL", "30"],
                &["a", "4", "7", "40"],
                &["a", "7", "19.5", "NULL"],
                &["b", "2", "3", "NULL"],
                &["b", "5", "12.5", "50"],
                &["b", "6", "NULL", "60"],
                &["b", "9", "26.5", "90"],
                &["c", "8", "27.5", "80"]
            ]),
            "{setup}"
        );
        // pandas: s['v'].cummin()
        let out = df
            .cummin(&["v"], &["t"])
            .and_then(|d| d.select_columns(&["t", "v"]))
            .expect("cummin");
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["1", "1"],
                &["10", "-1"],
                &["2", "1"],
                &["3", "NULL"],
                &["4", "1"],
                &["5", "1"],
                &["6", "NULL"],
                &["7", "1"],
                &["8", "1"],
                &["9", "-1"]
            ]),
            "{setup}"
        );
        // pandas: s.groupby('k')['v'].cumsum(); s.groupby('k').cumcount()
        let g = df.groupby(&["k"]).expect("groupby");
        let sums = g.cumsum(&["v"], &["t"]).expect("cumsum");
        let counts = g.cumcount(&["t"]).expect("cumcount");
        let out = sums
            .merge(
                &counts.select_columns(&["t", "cumcount"]).expect("sel"),
                "inner",
                &["t"],
            )
            .and_then(|d| d.select_columns(&["k", "t", "v", "cumcount"]))
            .expect("merge");
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["a", "1", "1", "0"],
                &["a", "10", "22", "4"],
                &["a", "3", "NULL", "1"],
                &["a", "4", "5", "2"],
                &["a", "7", "12", "3"],
                &["b", "2", "2", "0"],
                &["b", "5", "7.5", "1"],
                &["b", "6", "NULL", "2"],
                &["b", "9", "6.5", "3"],
                &["c", "8", "8", "0"]
            ]),
            "{setup}"
        );
        // Whole-frame cumcount: 0..9 in t order.
        let out = df
            .cumcount(&["t"])
            .and_then(|d| d.select(vec![col("t").sub(col("cumcount")).alias("d")]))
            .and_then(|d| d.drop_duplicates().collect())
            .expect("cumcount");
        assert_eq!(format_rows(&out), vec![vec!["1".to_string()]], "{setup}");
    });
}

#[test]
fn concat_matches_duckdb_union_by_name() {
    // DuckDB: SELECT k, s, f, n FROM (a UNION ALL BY NAME b UNION ALL BY NAME c) with
    // a(k, s, f DOUBLE) = (1, 'x', 1.5), (2, NULL, NULL); b(k INTEGER, n) = (3, 7), (NULL, 8);
    // c(f, s) = (2.5, 'y') (f DECIMAL(2,1): DOUBLE with DOUBLE).
    let expected = literal(&[
        &["1", "x", "1.5", "NULL"],
        &["2", "NULL", "NULL", "NULL"],
        &["3", "NULL", "NULL", "7"],
        &["NULL", "NULL", "NULL", "8"],
        &["NULL", "y", "2.5", "NULL"],
    ]);
    for (parts, scheduler, threads) in SETUPS {
        let ctx = context(scheduler, threads);
        let a = frame(&ctx, "SELECT k, s, CAST(f AS DOUBLE) AS f FROM (VALUES (1, 'x', 1.5), (2, NULL, NULL)) t(k, s, f)", parts);
        let b = frame(
            &ctx,
            "SELECT CAST(k AS INTEGER) AS k, n FROM (VALUES (3, 7), (NULL, 8)) t(k, n)",
            parts,
        );
        let c = frame(&ctx, "SELECT * FROM (VALUES (2.5, 'y')) t(f, s)", parts);
        let all = DataFrame::concat(&[a.clone(), b, c]).expect("concat");
        assert_eq!(all.columns(), vec!["k", "s", "f", "n"]);
        let schema = all.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            vec![
                &DataType::Int64,
                &DataType::Utf8,
                &DataType::Float64,
                &DataType::Int64
            ]
        );
        assert_eq!(sorted_rows(&all), expected, "{parts} partitions");
        let twice = DataFrame::concat(&[a.clone(), a]).expect("concat");
        assert_eq!(twice.count().expect("count"), 4);
    }
    let ctx = SessionContext::new();
    let a = ctx.sql("SELECT 1 AS k").expect("a");
    let b = ctx.sql("SELECT 'x' AS k").expect("b");
    let err = DataFrame::concat(&[a, b]).expect_err("text and numbers");
    assert!(err.to_string().contains("column 'k'"), "{err}");
    assert!(DataFrame::concat(&[]).is_err());
}

#[test]
fn melt_matches_pandas() {
    // pandas: df[['k','t','v','n']].melt(id_vars=['k','t'], value_vars=['v','n'],
    // var_name='var', value_name='val')
    each_setup(|_, df, setup| {
        let out = df
            .melt(&["k", "t"], &["v", "n"], "var", "val")
            .expect("melt");
        assert_eq!(out.columns(), vec!["k", "t", "var", "val"]);
        assert_eq!(
            sorted_rows(&out),
            literal(&[
                &["a", "1", "n", "10"],
                &["a", "1", "v", "1"],
                &["a", "10", "n", "100"],
                &["a", "10", "v", "10"],
                &["a", "3", "n", "30"],
                &["a", "3", "v", "NULL"],
                &["a", "4", "n", "40"],
                &["a", "4", "v", "4"],
                &["a", "7", "n", "NULL"],
                &["a", "7", "v", "7"],
                &["b", "2", "n", "NULL"],
                &["b", "2", "v", "2"],
                &["b", "5", "n", "50"],
                &["b", "5", "v", "5.5"],
                &["b", "6", "n", "60"],
                &["b", "6", "v", "NULL"],
                &["b", "9", "n", "90"],
                &["b", "9", "v", "-1"],
                &["c", "8", "n", "80"],
                &["c", "8", "v", "8"]
            ]),
            "{setup}"
        );
        let err = df
            .melt(&["k"], &["v", "ts"], "var", "val")
            .expect_err("mixed");
        assert!(err.to_string().contains("'ts'"), "{err}");
    });
}

#[test]
fn pivot_table_matches_pandas() {
    // pandas: d2 = df.copy(); d2['m'] = d2['t'] % 3;
    // pd.pivot_table(d2, index='k', columns='m', values='v', aggfunc=f)
    let cases: [(&str, &[&[&str]]); 3] = [
        // pandas gives 0 for a/0 (the sum of only NaN); rask gives SQL's NULL (documented).
        (
            "sum",
            &[
                &["a", "NULL", "22", "NULL"],
                &["b", "-1", "NULL", "7.5"],
                &["c", "NULL", "NULL", "8"],
            ],
        ),
        (
            "mean",
            &[
                &["a", "NULL", "5.5", "NULL"],
                &["b", "-1", "NULL", "3.75"],
                &["c", "NULL", "NULL", "8"],
            ],
        ),
        (
            "count",
            &[
                &["a", "0", "4", "NULL"],
                &["b", "1", "NULL", "2"],
                &["c", "NULL", "NULL", "1"],
            ],
        ),
    ];
    each_setup(|_, df, setup| {
        let d2 = df.with_column("m", col("t").modulo(lit(3i64))).expect("m");
        for (f, expected) in cases {
            let out = d2.pivot_table(&["k"], "m", "v", f).expect("pivot");
            assert_eq!(out.columns(), vec!["k", "0", "1", "2"]);
            // Sorted by the index.
            assert_eq!(
                format_rows(&out.collect().expect("run")),
                literal(expected),
                "{f}, {setup}"
            );
        }
        assert!(d2.pivot_table(&["k"], "m", "v", "mode").is_err());
    });
}

#[test]
fn bad_window_input_is_a_clear_error() {
    let ctx = SessionContext::new();
    let df = frame(&ctx, ROWS, 1);
    let err = col("v")
        .add(lit(1i64))
        .over(Window::new())
        .expect_err("not a call");
    assert!(err.to_string().contains("over()"), "{err}");
    assert!(row_number().over(Window::new().rows(2, 1)).is_err());
    assert!(df.rolling(0, "t").is_err());
    assert!(df.rolling(3, "nope").is_err());
    let err = df
        .rolling(3, "t")
        .and_then(|r| r.min_periods(4).sum())
        .expect_err("min_periods");
    assert!(err.to_string().contains("min_periods"), "{err}");
    let err = df.resample("1w", "ts").expect_err("weeks");
    assert!(err.to_string().contains("7d"), "{err}");
    assert!(df.resample("5 parsecs", "ts").is_err());
    let err = df.resample("1h", "v").expect_err("not a timestamp");
    assert!(err.to_string().contains("TIMESTAMP"), "{err}");
    let err = df.cumsum(&["k"], &["t"]).expect_err("text");
    assert!(err.to_string().contains("'k'"), "{err}");
}
