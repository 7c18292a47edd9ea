//! Expression helpers for the DataFrame API: aggregates and scalar functions.
//!
//! ```
//! use rask::col;
//! use rask::functions::{count_distinct, mean, sum};
//! let aggs = vec![sum(col("v")).alias("total"), mean(col("v")), count_distinct(col("k"))];
//! assert_eq!(aggs.len(), 3);
//! ```

use rask_expr::{AggFunc, Expr, ScalarFunc};

fn agg(func: AggFunc, args: Vec<Expr>, distinct: bool) -> Expr {
    Expr::AggregateFunction {
        func,
        args,
        distinct,
        filter: None,
    }
}

macro_rules! unary_aggs {
    ($($name:ident => $func:ident, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            pub fn $name(e: Expr) -> Expr {
                agg(AggFunc::$func, vec![e], false)
            }
        )*
    };
}

unary_aggs! {
    sum => Sum, "`sum(e)`: NULL when there are no non-NULL values.";
    mean => Avg, "`avg(e)` (pandas' `mean`).";
    avg => Avg, "`avg(e)`.";
    min => Min, "`min(e)`.";
    max => Max, "`max(e)`.";
    count => Count, "`count(e)`: non-NULL values.";
    median => Median, "`median(e)`.";
    std => StddevSamp, "`stddev_samp(e)` (pandas' `std`, ddof=1).";
    var => VarSamp, "`var_samp(e)` (pandas' `var`, ddof=1).";
    first => First, "`first(e)`: the first value in input order.";
    last => Last, "`last(e)`: the last value in input order.";
}

/// `count(*)`: rows.
pub fn count_star() -> Expr {
    agg(AggFunc::CountStar, vec![], false)
}

/// `count(DISTINCT e)` (pandas' `nunique`).
pub fn count_distinct(e: Expr) -> Expr {
    agg(AggFunc::Count, vec![e], true)
}

/// `corr(x, y)`.
pub fn corr(x: Expr, y: Expr) -> Expr {
    agg(AggFunc::Corr, vec![x, y], false)
}

/// `string_agg(e, sep)`.
pub fn string_agg(e: Expr, sep: &str) -> Expr {
    agg(
        AggFunc::StringAgg,
        vec![
            e,
            Expr::Literal(rask_common::ScalarValue::Utf8(Some(sep.into()))),
        ],
        false,
    )
}

/// A scalar function call by its enum.
pub fn call(func: ScalarFunc, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction { func, args }
}

/// `lower(e)`.
pub fn lower(e: Expr) -> Expr {
    call(ScalarFunc::Lower, vec![e])
}

/// `upper(e)`.
pub fn upper(e: Expr) -> Expr {
    call(ScalarFunc::Upper, vec![e])
}

/// `abs(e)`.
pub fn abs(e: Expr) -> Expr {
    call(ScalarFunc::Abs, vec![e])
}

/// `round(e, digits)`.
pub fn round(e: Expr, digits: i64) -> Expr {
    call(
        ScalarFunc::Round,
        vec![
            e,
            Expr::Literal(rask_common::ScalarValue::Int64(Some(digits))),
        ],
    )
}

/// `coalesce(a, b, ...)`.
pub fn coalesce(args: Vec<Expr>) -> Expr {
    call(ScalarFunc::Coalesce, args)
}

// accessors branch: the SQL functions behind `Expr::str()` / `Expr::dt()`, callable directly.

fn text(s: &str) -> Expr {
    Expr::Literal(rask_common::ScalarValue::Utf8(Some(s.to_string())))
}

/// `regexp_extract(e, pattern, group)`, DuckDB's: group `group` (0: the whole match) of the
/// first match, `''` when nothing matches (see [`Expr::str`]'s `extract` for pandas' NULL).
///
/// ```
/// use rask::{col, SessionContext};
/// use rask::functions::regexp_extract;
/// use arrow::array::AsArray;
/// # fn main() -> rask::Result<()> {
/// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('ab-12'), ('x')) t(s)")?;
/// let out = df.select(vec![regexp_extract(col("s"), r"-(\d+)", 1)])?.collect()?;
/// let v: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
/// assert_eq!(v, [Some("12"), Some("")]);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// When the query runs: an invalid pattern or a group it does not have.
pub fn regexp_extract(e: Expr, pattern: &str, group: i64) -> Expr {
    call(
        ScalarFunc::RegexpExtract,
        vec![
            e,
            text(pattern),
            Expr::Literal(rask_common::ScalarValue::Int64(Some(group))),
        ],
    )
}

/// `regexp_replace(e, pattern, replacement, 'g')`: every match replaced; the replacement
/// writes groups as `\1` (DuckDB's `regexp_replace` without `'g'` replaces the first match
/// only).
///
/// ```
/// use rask::{col, SessionContext};
/// use rask::functions::regexp_replace;
/// use arrow::array::AsArray;
/// # fn main() -> rask::Result<()> {
/// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('a1b2')) t(s)")?;
/// let out = df.select(vec![regexp_replace(col("s"), "[0-9]", "#")])?.collect()?;
/// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "a#b#");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// When the query runs: an invalid pattern, or a replacement naming a missing group.
pub fn regexp_replace(e: Expr, pattern: &str, replacement: &str) -> Expr {
    call(
        ScalarFunc::RegexpReplace,
        vec![e, text(pattern), text(replacement), text("g")],
    )
}

/// `strftime(e, format)`: a DATE or TIMESTAMP as VARCHAR (chrono format, `%f` = microseconds).
///
/// ```
/// use rask::{col, SessionContext};
/// use rask::functions::strftime;
/// use arrow::array::AsArray;
/// # fn main() -> rask::Result<()> {
/// let df = SessionContext::new().sql("SELECT DATE '2024-03-10' AS d")?;
/// let out = df.select(vec![strftime(col("d"), "%Y/%m")])?.collect()?;
/// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "2024/03");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// A plan error for a value that is not a DATE or TIMESTAMP; when the query runs, an invalid
/// format.
pub fn strftime(e: Expr, format: &str) -> Expr {
    call(ScalarFunc::Strftime, vec![e, text(format)])
}

/// `time_bucket(width, e)`, DuckDB's: the start of the `width`-sized bucket (an INTERVAL
/// expression) holding `e`, buckets counted from 2000-01-03 (2000-01-01 for months). See
/// [`Expr::dt`]'s `floor` for pandas' epoch-based buckets.
///
/// ```
/// use rask::{col, lit, ScalarValue, SessionContext};
/// use rask::functions::{strftime, time_bucket};
/// use arrow::array::AsArray;
/// use arrow::datatypes::IntervalMonthDayNano;
/// # fn main() -> rask::Result<()> {
/// let df = SessionContext::new().sql("SELECT TIMESTAMP '2024-03-05 13:44:05' AS ts")?;
/// let week = lit(ScalarValue::Interval(Some(IntervalMonthDayNano::new(0, 7, 0))));
/// let out = df
///     .select(vec![strftime(time_bucket(week, col("ts")), "%Y-%m-%d")])?
///     .collect()?;
/// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "2024-03-04");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// A plan error for a width that is not an INTERVAL or a value that is not a DATE or
/// TIMESTAMP; when the query runs, a non-constant or non-positive width.
pub fn time_bucket(width: Expr, e: Expr) -> Expr {
    call(ScalarFunc::TimeBucket, vec![width, e])
}

// reshape branch: window functions (finish each with `.over(Window)`, see `rask::WindowExt`).

fn window_fn(func: rask_expr::WindowFunc, args: Vec<Expr>) -> Expr {
    crate::dataframe::window_call(func, args)
}

fn int(n: i64) -> Expr {
    Expr::Literal(rask_common::ScalarValue::Int64(Some(n)))
}

/// `row_number()`: 1, 2, 3, ... in window order; finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::row_number;
/// use rask::{col, lit, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 3), ('a', 7), ('b', 1)) t(k, v)")?;
/// // The largest value per key (like QUALIFY row_number() OVER (...) = 1).
/// let top = df.filter(
///     row_number()
///         .over(Window::new().partition_by(["k"]).order_by_desc(["v"]))?
///         .eq(lit(1i64)),
/// )?;
/// assert_eq!(top.count()?, 2);
/// # Ok(())
/// # }
/// ```
pub fn row_number() -> Expr {
    window_fn(rask_expr::WindowFunc::RowNumber, vec![])
}

/// `rank()`: ties share a rank, then a gap; finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::rank;
/// use rask::{SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1), (1), (2)) t(v)")?;
/// let out = df.with_column("r", rank().over(Window::new().order_by(["v"]))?)?;
/// println!("{out}"); // r: 1, 1, 3
/// # Ok(())
/// # }
/// ```
pub fn rank() -> Expr {
    window_fn(rask_expr::WindowFunc::Rank, vec![])
}

/// `dense_rank()`: ties share a rank, no gaps; finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::dense_rank;
/// use rask::{SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1), (1), (2)) t(v)")?;
/// let out = df.with_column("r", dense_rank().over(Window::new().order_by(["v"]))?)?;
/// println!("{out}"); // r: 1, 1, 2
/// # Ok(())
/// # }
/// ```
pub fn dense_rank() -> Expr {
    window_fn(rask_expr::WindowFunc::DenseRank, vec![])
}

/// `percent_rank()`: `(rank - 1) / (rows - 1)`; finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::percent_rank;
/// use rask::{SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3)) t(v)")?;
/// let out = df.with_column("p", percent_rank().over(Window::new().order_by(["v"]))?)?;
/// println!("{out}"); // p: 0, 0.5, 1
/// # Ok(())
/// # }
/// ```
pub fn percent_rank() -> Expr {
    window_fn(rask_expr::WindowFunc::PercentRank, vec![])
}

/// `ntile(n)`: buckets 1..=n of sizes differing by at most one; finish with
/// [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::ntile;
/// use rask::{SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3), (4)) t(v)")?;
/// let out = df.with_column("half", ntile(2).over(Window::new().order_by(["v"]))?)?;
/// println!("{out}"); // half: 1, 1, 2, 2
/// # Ok(())
/// # }
/// ```
pub fn ntile(n: i64) -> Expr {
    window_fn(rask_expr::WindowFunc::Ntile, vec![int(n)])
}

/// `lag(e, n)`: `e` of the row `n` rows earlier in window order (NULL before the first);
/// pandas' `shift(n)`. Finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::lag;
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1, 10), (2, 15), (3, 12)) t(t, v)")?;
/// let change = col("v").sub(lag(col("v"), 1).over(Window::new().order_by(["t"]))?);
/// let out = df.with_column("change", change)?;
/// println!("{out}"); // change: NULL, 5, -3
/// # Ok(())
/// # }
/// ```
pub fn lag(e: Expr, n: i64) -> Expr {
    window_fn(rask_expr::WindowFunc::Lag, vec![e, int(n)])
}

/// `lead(e, n)`: `e` of the row `n` rows later in window order (NULL after the last);
/// pandas' `shift(-n)`. Finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::lead;
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1, 10), (2, 15)) t(t, v)")?;
/// let out = df.with_column("next", lead(col("v"), 1).over(Window::new().order_by(["t"]))?)?;
/// println!("{out}"); // next: 15, NULL
/// # Ok(())
/// # }
/// ```
pub fn lead(e: Expr, n: i64) -> Expr {
    window_fn(rask_expr::WindowFunc::Lead, vec![e, int(n)])
}

/// `first_value(e)` of the window frame; finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::first_value;
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 10), ('a', 2, 15)) t(k, t, v)")?;
/// let w = Window::new().partition_by(["k"]).order_by(["t"]);
/// let out = df.with_column("opening", first_value(col("v")).over(w)?)?;
/// println!("{out}"); // opening: 10, 10
/// # Ok(())
/// # }
/// ```
pub fn first_value(e: Expr) -> Expr {
    window_fn(rask_expr::WindowFunc::FirstValue, vec![e])
}

/// `last_value(e)` of the window frame (with the default frame: the current row's last
/// peer); finish with [`crate::WindowExt::over`].
///
/// ```
/// use rask::functions::last_value;
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 10), ('a', 2, 15)) t(k, t, v)")?;
/// let w = Window::new().partition_by(["k"]).order_by(["t"]).rows(0, 1);
/// let out = df.with_column("next_or_self", last_value(col("v")).over(w)?)?;
/// println!("{out}"); // 15, 15
/// # Ok(())
/// # }
/// ```
pub fn last_value(e: Expr) -> Expr {
    window_fn(rask_expr::WindowFunc::LastValue, vec![e])
}

// transform branch

/// `quantile_cont(e, q)`: the exact `q`-quantile (`0 <= q <= 1`) with linear interpolation
/// between the closest ranks, as pandas' `quantile` and DuckDB's `quantile_cont` compute it.
///
/// ```
/// use rask::col;
/// use rask::functions::quantile;
/// # fn main() -> rask::Result<()> {
/// let ctx = rask::SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES (1), (2), (3), (10)) t(v)")?;
/// let q = df.agg(vec![quantile(col("v"), 0.25).alias("q1")])?;
/// assert_eq!(q.collect()?[0].num_rows(), 1); // 1.75
/// # Ok(())
/// # }
/// ```
pub fn quantile(e: Expr, q: f64) -> Expr {
    agg(
        AggFunc::Quantile,
        vec![e, Expr::Literal(rask_common::ScalarValue::Float64(Some(q)))],
        false,
    )
}

/// `covar_samp(y, x)`: the sample covariance (pandas' `cov`, ddof=1) of the rows where both
/// are non-NULL.
pub fn covar_samp(y: Expr, x: Expr) -> Expr {
    agg(AggFunc::CovarSamp, vec![y, x], false)
}

/// `covar_pop(y, x)`: the population covariance of the rows where both are non-NULL.
pub fn covar_pop(y: Expr, x: Expr) -> Expr {
    agg(AggFunc::CovarPop, vec![y, x], false)
}

/// `hash(a, b, ...)`: a 64-bit hash (UBIGINT) of the arguments' values, the same on every
/// worker, partitioning and run.
pub fn hash(args: Vec<Expr>) -> Expr {
    call(ScalarFunc::Hash, args)
}
