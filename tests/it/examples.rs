//! The examples in `crates/rask/examples/` answer the same question through the DataFrame
//! API and through SQL; these tests run both in every [`Setup`] (files or 1/4 in-memory
//! partitions, both schedulers, optimizer on and off, forced spilling) and check that the
//! answers agree row by row, in order, and match the answers DuckDB gave offline
//! (`tests/expected/examples/*.csv`, made by `tests/tools/examples_expected.py`).

#[allow(dead_code)] // the examples' `main` and default paths
#[path = "../../crates/rask/examples/trip_summary.rs"]
mod trip_summary;

#[allow(dead_code)]
#[path = "../../crates/rask/examples/sales_cube.rs"]
mod sales_cube;

#[allow(dead_code)]
#[path = "../../crates/rask/examples/time_series.rs"]
mod time_series;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type};
use rask::{DataFrame, SessionContext};
use rask_tests::{format_value, repo_root, Setup};

/// A session of `setup` with the TPC-H tables and `trips` registered.
fn context(setup: &Setup) -> SessionContext {
    let ctx = setup.context().expect("context");
    let trips = repo_root().join("datasets/trips");
    setup
        .register(&ctx, "trips", &trips.to_string_lossy())
        .expect("trips");
    ctx
}

/// Whether two formatted cells agree: equal text, or numbers equal to 1e-12 relative (float
/// sums taken in different orders differ in the last bits).
fn cells_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn assert_same(got: &[Vec<String>], want: &[Vec<String>], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row counts differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g.len() == w.len() && g.iter().zip(w).all(|(a, b)| cells_agree(a, b));
        assert!(
            same,
            "{what}: row {i} differs\n  got:  {g:?}\n  want: {w:?}"
        );
    }
}

/// The rows of `df` (in its order) with its column names first; floats at full precision
/// (the shared formatter rounds them to 4 decimals, which can split two nearly equal values
/// across a rounding boundary), everything else as `format_rows` writes it.
fn rows_with_header(df: &DataFrame) -> Vec<Vec<String>> {
    let mut rows = vec![df.columns()];
    for batch in df.collect().expect("run") {
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| match c.data_type() {
                        DataType::Float64 if c.is_valid(r) => {
                            c.as_primitive::<Float64Type>().value(r).to_string()
                        }
                        _ => format_value(c, r),
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// DuckDB's answer, committed as CSV (header first; NULL as empty).
fn expected(name: &str) -> Vec<Vec<String>> {
    let path = repo_root().join(format!("tests/expected/examples/{name}.csv"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| {
            r.expect("csv row")
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        "NULL".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect()
}

/// Checks the API frame against the SQL frame and DuckDB's answer in every set-up.
fn check(
    name: &str,
    api: impl Fn(&SessionContext) -> DataFrame,
    sql: impl Fn(&SessionContext) -> String,
) {
    let want = expected(name);
    for setup in Setup::all() {
        let ctx = context(&setup);
        let what = format!("{name}, {setup:?}");
        let from_api = rows_with_header(&api(&ctx));
        let from_sql = rows_with_header(&ctx.sql(&sql(&ctx)).expect("sql"));
        assert_same(&from_api, &from_sql, &format!("{what}: API vs SQL"));
        assert_same(&from_sql, &want, &format!("{what}: rask vs DuckDB"));
    }
}

#[test]
fn trip_summary_api_matches_sql() {
    check(
        "trip_summary",
        |ctx| trip_summary::summary(&ctx.table("trips").expect("trips")).expect("api"),
        |_| trip_summary::SQL.to_string(),
    );
}

#[test]
fn sales_cube_api_matches_sql() {
    let years = |ctx: &SessionContext| -> Vec<i64> {
        let df = ctx
            .sql("SELECT DISTINCT CAST(extract(year FROM o_orderdate) AS INT) AS y FROM orders ORDER BY y")
            .expect("years");
        df.collect()
            .expect("years")
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
            .map(i64::from)
            .collect()
    };
    check(
        "sales_cube",
        |ctx| sales_cube::revenue_cube(ctx).expect("api"),
        |ctx| sales_cube::sql(&years(ctx)),
    );
}

#[test]
fn time_series_api_matches_sql() {
    check(
        "time_series",
        |ctx| time_series::hourly(&ctx.table("trips").expect("trips")).expect("api"),
        |_| time_series::SQL.to_string(),
    );
}
