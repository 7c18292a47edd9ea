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
