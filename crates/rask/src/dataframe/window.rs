//! DataFrame methods: window (see the parent module).
//!
//! Window expressions written with [`WindowExt::over`], pandas' `rolling` and `resample`, and
//! ordered cumulative functions (`cumsum`, `cumcount`, `cummax`, `cummin`). Everything here is
//! planned on the SQL engine's window machinery: a `Window` logical node (one `WindowExec` per
//! distinct PARTITION BY / ORDER BY) under a projection, exactly as
//! `SELECT f(..) OVER (..)` is planned; `resample` is a grouped aggregation on a bin column.

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use rask_common::{not_impl_err, plan_err, Result, ScalarValue};
use rask_expr::type_coercion::{is_numeric, is_temporal};
use rask_expr::{
    col, lit, AggFunc, Expr, LogicalPlan, LogicalPlanBuilder, SortExpr, WindowFrame,
    WindowFrameBound, WindowFrameUnits, WindowFunc, WindowFunction,
};

use super::{DataFrame, GroupBy};

/// A window specification: `PARTITION BY`, `ORDER BY` and the frame of `f(..) OVER (..)`.
///
/// Semantics are SQL's (as DuckDB): without ORDER BY an aggregate covers its whole partition;
/// with ORDER BY and no explicit frame it covers the rows up to the current row's last peer
/// (`RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`); [`Window::rows`] sets a frame of
/// physical rows. Ranking functions, `lag` and `lead` ignore the frame.
///
/// ```
/// use rask::functions::{row_number, sum};
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 10), ('a', 2, 20), ('b', 1, 5)) t(k, t, v)")?;
/// let w = Window::new().partition_by(["k"]).order_by(["t"]);
/// let out = df
///     .with_column("n", row_number().over(w.clone())?)?
///     .with_column("running", sum(col("v")).over(w)?)?
///     .sort_values(&["k", "t"], true)?;
/// let rows = out.collect()?;
/// assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    partition_by: Vec<Expr>,
    order_by: Vec<SortExpr>,
    frame: Option<WindowFrame>,
    rows: Option<(i64, i64)>,
}

impl Window {
    /// An empty window: the whole frame is one partition, in no particular order.
    pub fn new() -> Self {
        Window::default()
    }

    /// Adds `PARTITION BY` columns.
    pub fn partition_by<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.partition_by
            .extend(keys.into_iter().map(|k| col(k.as_ref())));
        self
    }

    /// Adds `PARTITION BY` expressions.
    pub fn partition_by_exprs(mut self, keys: Vec<Expr>) -> Self {
        self.partition_by.extend(keys);
        self
    }

    /// Adds ascending `ORDER BY` columns (NULLs last).
    pub fn order_by<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.order_by.extend(keys.into_iter().map(|k| SortExpr {
            expr: col(k.as_ref()),
            asc: true,
            nulls_first: false,
        }));
        self
    }

    /// Adds descending `ORDER BY` columns (NULLs last, as rask SQL's `ORDER BY k DESC`).
    pub fn order_by_desc<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.order_by.extend(keys.into_iter().map(|k| SortExpr {
            expr: col(k.as_ref()),
            asc: false,
            nulls_first: false,
        }));
        self
    }

    /// Adds `ORDER BY` keys as expressions.
    pub fn order_by_exprs(mut self, keys: Vec<SortExpr>) -> Self {
        self.order_by.extend(keys);
        self
    }

    /// A frame of physical rows relative to the current one: `rows(-2, 0)` is
    /// `ROWS BETWEEN 2 PRECEDING AND CURRENT ROW`, `rows(0, 1)` the row and the next one.
    /// Checked by [`WindowExt::over`] (`start <= end`).
    pub fn rows(mut self, start: i64, end: i64) -> Self {
        self.rows = Some((start, end));
        self.frame = None;
        self
    }

    /// `ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`: running totals in row order (ties
    /// of the ORDER BY keys are not peers, unlike SQL's default frame).
    pub fn cumulative(self) -> Self {
        self.frame(WindowFrame {
            units: WindowFrameUnits::Rows,
            start: WindowFrameBound::UnboundedPreceding,
            end: WindowFrameBound::CurrentRow,
        })
    }

    /// Any frame, as SQL spells it (`RANGE` frames with offsets need one numeric ORDER BY
    /// key).
    pub fn frame(mut self, frame: WindowFrame) -> Self {
        self.frame = Some(frame);
        self.rows = None;
        self
    }

    fn resolved_frame(&self) -> Result<WindowFrame> {
        if let Some(f) = &self.frame {
            return Ok(f.clone());
        }
        let Some((start, end)) = self.rows else {
            return Ok(WindowFrame::default());
        };
        if start > end {
            return plan_err!(
                "window rows({start}, {end}): the frame start must not come after its end"
            );
        }
        let bound = |n: i64| match n {
            0 => WindowFrameBound::CurrentRow,
            n if n < 0 => WindowFrameBound::Preceding(ScalarValue::Int64(Some(
                n.unsigned_abs().try_into().unwrap_or(i64::MAX),
            ))),
            n => WindowFrameBound::Following(ScalarValue::Int64(Some(n))),
        };
        Ok(WindowFrame {
            units: WindowFrameUnits::Rows,
            start: bound(start),
            end: bound(end),
        })
    }
}

/// `over` on expressions: turns an aggregate call (`sum(col("v"))`) or a window function
/// (`row_number()`, `lag(col("v"), 1)`, ...) into a window call, usable in
/// [`DataFrame::select`], [`DataFrame::with_column`] and [`DataFrame::filter`].
///
/// ```
/// use rask::functions::{lag, mean};
/// use rask::{col, SessionContext, Window, WindowExt};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 1.0), ('a', 2, 3.0), ('b', 1, 5.0)) t(k, t, v)")?;
/// let out = df
///     .with_column("prev", lag(col("v"), 1).over(Window::new().partition_by(["k"]).order_by(["t"]))?)?
///     .with_column("group_mean", mean(col("v")).over(Window::new().partition_by(["k"]))?)?;
/// assert_eq!(out.columns(), vec!["k", "t", "v", "prev", "group_mean"]);
/// # Ok(())
/// # }
/// ```
pub trait WindowExt {
    /// This call, computed over `window`.
    ///
    /// # Errors
    /// When the expression is not an aggregate or window function call (an alias around one
    /// is fine), is `DISTINCT`/`FILTER`ed, is an aggregate with no window form (`median`,
    /// `corr`, `string_agg`), or when the frame is inverted.
    fn over(self, window: Window) -> Result<Expr>;
}

impl WindowExt for Expr {
    fn over(self, window: Window) -> Result<Expr> {
        let (inner, alias) = match self {
            Expr::Alias(e, name) => (*e, Some(name)),
            e => (e, None),
        };
        let (func, args) = match inner {
            Expr::WindowFunction(w) => (w.func, w.args),
            Expr::AggregateFunction {
                func,
                args,
                distinct,
                filter,
            } => {
                if distinct {
                    return plan_err!(
                        "over(): DISTINCT aggregates have no window form ({}(DISTINCT ..))",
                        func.name()
                    );
                }
                if filter.is_some() {
                    return plan_err!(
                        "over(): filtered aggregates have no window form ({}(..) FILTER ..)",
                        func.name()
                    );
                }
                (window_form(func)?, args)
            }
            other => {
                return plan_err!(
                    "over() applies to an aggregate call such as sum(col(\"v\")) or a window \
                     function such as row_number(), got '{other}'"
                )
            }
        };
        let call = Expr::WindowFunction(Box::new(WindowFunction {
            func,
            args,
            partition_by: window.partition_by.clone(),
            order_by: window.order_by.clone(),
            frame: window.resolved_frame()?,
        }));
        Ok(match alias {
            Some(a) => call.alias(a),
            None => call,
        })
    }
}

/// The window function computing aggregate `func` over a frame: the aggregates SQL accepts
/// before `OVER` ([`AggFunc::runs_over_window`]), `first`/`last` as
/// `first_value`/`last_value`.
fn window_form(func: AggFunc) -> Result<WindowFunc> {
    Ok(match func {
        f if f.runs_over_window() => WindowFunc::Aggregate(f),
        AggFunc::First => WindowFunc::FirstValue,
        AggFunc::Last => WindowFunc::LastValue,
        other => {
            return not_impl_err!(
                "{}() is not supported as a window function yet",
                other.name()
            )
        }
    })
}

/// A bare window function (no PARTITION BY / ORDER BY yet); [`WindowExt::over`] sets them.
pub(crate) fn window_call(func: WindowFunc, args: Vec<Expr>) -> Expr {
    Expr::WindowFunction(Box::new(WindowFunction {
        func,
        args,
        partition_by: vec![],
        order_by: vec![],
        frame: WindowFrame::default(),
    }))
}

fn agg_call(func: AggFunc, args: Vec<Expr>) -> Expr {
    Expr::AggregateFunction {
        func,
        args,
        distinct: false,
        filter: None,
    }
}

/// `CASE WHEN cond THEN value END`
fn when(cond: Expr, value: Expr) -> Expr {
    Expr::Case {
        operand: None,
        when_then: vec![(cond, value)],
        else_expr: None,
    }
}

impl DataFrame {
    /// The plan with a Window node computing the window calls of `exprs` (rewritten to read
    /// its columns), or the frame's plan when there are none.
    pub(super) fn plan_window_calls(&self, exprs: &mut [&mut Expr]) -> Result<Arc<LogicalPlan>> {
        if !exprs.iter().any(|e| e.contains_window()) {
            return Ok(Arc::clone(&self.plan));
        }
        rask_sql::plan_window_calls(Arc::clone(&self.plan), exprs)
    }

    /// Keeps rows where a predicate over window calls is TRUE (SQL's `QUALIFY`), then drops
    /// the window columns again.
    pub(super) fn filter_windowed(&self, predicate: Expr) -> Result<DataFrame> {
        let mut predicate = predicate;
        let plan = self.plan_window_calls(&mut [&mut predicate])?;
        let schema = self.plan.schema();
        let keep: Vec<Expr> = (0..schema.len())
            .map(|i| Expr::Column(schema.column(i)))
            .collect();
        let plan = LogicalPlanBuilder::from(plan)
            .filter(predicate)?
            .project(keep)?
            .build();
        Ok(self.with_plan(plan))
    }

    pub(super) fn check_columns(&self, what: &str, names: &[&str]) -> Result<()> {
        let have = self.columns();
        for n in names {
            if !have.iter().any(|h| h == n) {
                return plan_err!("{what}: no column '{n}' (columns: {})", have.join(", "));
            }
        }
        Ok(())
    }

    /// Replaces each column of `columns` by `f(column)` (a window call), planning one Window
    /// node under the projection.
    fn replace_with(
        &self,
        columns: &[&str],
        f: &dyn Fn(Expr) -> Result<Expr>,
    ) -> Result<DataFrame> {
        let schema = self.plan.schema();
        let mut exprs = Vec::with_capacity(schema.len());
        for i in 0..schema.len() {
            let name = schema.field(i).name();
            let c = Expr::Column(schema.column(i));
            if columns.iter().any(|n| n == name) {
                exprs.push(f(c)?.alias(name.as_str()));
            } else {
                exprs.push(c);
            }
        }
        self.select(exprs)
    }

    /// Rolling-window statistics over rows ordered by `on` (pandas'
    /// `df.sort_values(on).rolling(window, on=on)`); finish with [`Rolling::mean`] and the
    /// like. The window spans the whole frame across partitions (or each group, with
    /// [`Rolling::by`]).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1.0), (2, 2.0), (3, NULL), (4, 4.0)) t(t, v)")?;
    /// let out = df.rolling(2, "t")?.sum()?;
    /// // pandas: [NaN, 3.0, NaN, NaN] (a window needs 2 non-NULL values by default)
    /// assert_eq!(out.columns(), vec!["t", "v"]);
    /// let out = df.rolling(2, "t")?.min_periods(1).sum()?;
    /// // pandas: [1.0, 3.0, 2.0, 4.0]
    /// assert_eq!(out.count()?, 4);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `window` is 0 or `on` is not a column.
    pub fn rolling(&self, window: usize, on: &str) -> Result<Rolling> {
        if window == 0 {
            return plan_err!("rolling(0, '{on}'): the window must hold at least one row");
        }
        self.check_columns("rolling", &[on])?;
        Ok(Rolling {
            df: self.clone(),
            window,
            on: on.to_string(),
            by: vec![],
            min_periods: None,
            columns: None,
        })
    }

    /// Time-bin aggregation on timestamp column `on` (pandas' `df.resample(freq, on=on)`);
    /// finish with [`Resample::mean`] and the like. `freq` is a fixed frequency: a count and
    /// a unit among `ms`, `us`, `s`, `min`, `h`, `d` (`"30s"`, `"15min"`, `"1h"`, `"1d"`).
    ///
    /// A row falls in the bin `floor(on / freq) * freq` (multiples of the frequency since
    /// the Unix epoch, pandas' `origin="epoch"`; the same as pandas' default origin when the
    /// frequency divides a day); bins are labelled by their left edge and closed on the left.
    /// Rows with a NULL `on` are dropped. Unlike pandas, **empty bins are not emitted** (as
    /// Polars' `group_by_dynamic` and SQL's `GROUP BY time_bucket(..)`): the output has one
    /// row per bin holding at least one row. Week (`"w"`, anchored to Sundays in pandas) and
    /// month frequencies are refused: use `"7d"` for epoch-aligned 7-day bins (they start on
    /// Thursdays).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql(
    ///     "SELECT CAST(ts AS TIMESTAMP) AS ts, v FROM (VALUES ('2024-01-01 00:10:00', 1), \
    ///      ('2024-01-01 00:50:00', 2), ('2024-01-01 03:00:00', 5)) t(ts, v)",
    /// )?;
    /// let hourly = df.resample("1h", "ts")?.sum()?;
    /// assert_eq!(hourly.count()?, 2); // 00:00 (1 + 2) and 03:00 (5)
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A malformed or unsupported `freq`; `on` missing or not a TIMESTAMP or DATE column.
    pub fn resample(&self, freq: &str, on: &str) -> Result<Resample> {
        self.check_columns("resample", &[on])?;
        let step_us = parse_freq(freq)?;
        let data_type = self.schema().field_with_name(on)?.data_type().clone();
        bin_expr(col(on), &data_type, step_us, freq)?;
        Ok(Resample {
            df: self.clone(),
            freq: freq.to_string(),
            step_us,
            on: on.to_string(),
            by: vec![],
            columns: None,
        })
    }

    /// Running sums of `columns` in `order_by` order (pandas' `cumsum` with `skipna=True`):
    /// each row gets the sum of the non-NULL values up to and including it; a NULL value stays
    /// NULL. Ties of the `order_by` keys are taken in an unspecified order, so make the keys
    /// unique. The output rows come in no particular order (sort them if needed).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, NULL), (3, 3)) t(t, v)")?;
    /// let out = df.cumsum(&["v"], &["t"])?.sort_values(&["t"], true)?;
    /// println!("{out}"); // v: 1, NULL, 4
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns; non-numeric `columns`.
    pub fn cumsum(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.cumulative(AggFunc::Sum, columns, order_by, &[])
    }

    /// Running maxima of `columns` in `order_by` order (pandas' `cummax`): like
    /// [`DataFrame::cumsum`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 2), (2, 1), (3, 3)) t(t, v)")?;
    /// let out = df.cummax(&["v"], &["t"])?.sort_values(&["t"], true)?;
    /// println!("{out}"); // v: 2, 2, 3
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns.
    pub fn cummax(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.cumulative(AggFunc::Max, columns, order_by, &[])
    }

    /// Running minima of `columns` in `order_by` order (pandas' `cummin`): like
    /// [`DataFrame::cumsum`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 2), (2, 1), (3, 3)) t(t, v)")?;
    /// let out = df.cummin(&["v"], &["t"])?.sort_values(&["t"], true)?;
    /// println!("{out}"); // v: 2, 1, 1
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns.
    pub fn cummin(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.cumulative(AggFunc::Min, columns, order_by, &[])
    }

    /// Adds column `cumcount`: each row's 0-based position in `order_by` order (pandas'
    /// `groupby(..).cumcount()` over one group; [`GroupBy::cumcount`] numbers per group).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (10), (30), (20)) t(t)")?;
    /// let out = df.cumcount(&["t"])?.sort_values(&["t"], true)?;
    /// assert_eq!(out.columns(), vec!["t", "cumcount"]);
    /// println!("{out}"); // cumcount: 0, 1, 2
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns; an existing `cumcount` column.
    pub fn cumcount(&self, order_by: &[&str]) -> Result<DataFrame> {
        self.cumcount_in(order_by, &[])
    }

    fn cumcount_in(&self, order_by: &[&str], keys: &[Expr]) -> Result<DataFrame> {
        self.check_columns("cumcount", order_by)?;
        if self.columns().iter().any(|c| c == "cumcount") {
            return plan_err!("cumcount: the frame already has a column 'cumcount'; rename it");
        }
        let w = Window::new()
            .partition_by_exprs(keys.to_vec())
            .order_by(order_by);
        let n = window_call(WindowFunc::RowNumber, vec![])
            .over(w)?
            .sub(lit(1i64));
        self.with_column("cumcount", n)
    }

    fn cumulative(
        &self,
        func: AggFunc,
        columns: &[&str],
        order_by: &[&str],
        keys: &[Expr],
    ) -> Result<DataFrame> {
        let what = format!("cum{}", func.name());
        self.check_columns(&what, columns)?;
        self.check_columns(&what, order_by)?;
        if order_by.is_empty() {
            return plan_err!("{what}: give the order_by columns that order the rows");
        }
        if func == AggFunc::Sum {
            self.require_numeric(&what, columns)?;
        }
        let w = Window::new()
            .partition_by_exprs(keys.to_vec())
            .order_by(order_by)
            .cumulative();
        self.replace_with(columns, &|c| {
            Ok(when(
                c.clone().is_not_null(),
                agg_call(func, vec![c]).over(w.clone())?,
            ))
        })
    }

    pub(super) fn require_numeric(&self, what: &str, columns: &[&str]) -> Result<()> {
        let schema = self.schema();
        for c in columns {
            let t = schema.field_with_name(c)?.data_type();
            if !is_numeric(t) {
                return plan_err!("{what}: column '{c}' is {t}, not numeric");
            }
        }
        Ok(())
    }

    /// The numeric columns other than `skip`.
    pub(super) fn numeric_columns_except(&self, skip: &[&str]) -> Vec<String> {
        self.schema()
            .fields()
            .iter()
            .filter(|f| is_numeric(f.data_type()) && !skip.contains(&f.name().as_str()))
            .map(|f| f.name().clone())
            .collect()
    }
}

/// A rolling window over an ordered frame: [`DataFrame::rolling`], then a statistic.
///
/// Pandas semantics: the window holds the current row and the `window - 1` rows before it in
/// `on` order; a statistic is NULL unless the window holds at least `min_periods` non-NULL
/// values (default: `window`, so the first `window - 1` rows are NULL); `count` instead needs
/// `min_periods` rows. The result keeps every column, the rolled ones replaced by their
/// statistic, sorted by ([`Rolling::by`] keys, `on`). Rows tied on `on` are ordered
/// arbitrarily, so make `on` unique (per group).
///
/// ```
/// # fn main() -> rask::Result<()> {
/// let ctx = rask::SessionContext::new();
/// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 1.0), ('a', 2, 3.0), ('b', 1, 5.0)) t(k, t, v)")?;
/// let per_key = df.rolling(2, "t")?.by(&["k"]).min_periods(1).mean()?;
/// assert_eq!(per_key.count()?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Rolling {
    df: DataFrame,
    window: usize,
    on: String,
    by: Vec<String>,
    min_periods: Option<usize>,
    columns: Option<Vec<String>>,
}

impl Rolling {
    /// Rolls each group of `keys` separately (pandas' `groupby(keys).rolling(..)`).
    pub fn by(mut self, keys: &[&str]) -> Self {
        self.by = keys.iter().map(|k| k.to_string()).collect();
        self
    }

    /// The fewest non-NULL values a window needs for a non-NULL result (pandas'
    /// `min_periods`, default the window size); checked to be within `1..=window`.
    pub fn min_periods(mut self, n: usize) -> Self {
        self.min_periods = Some(n);
        self
    }

    /// The columns to roll (default: every numeric column other than `on` and the `by`
    /// keys).
    pub fn columns(mut self, columns: &[&str]) -> Self {
        self.columns = Some(columns.iter().map(|c| c.to_string()).collect());
        self
    }

    /// Rolling sum.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.sum()?); // v: NULL, 3, 5
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown or non-numeric columns; `min_periods` out of range.
    pub fn sum(&self) -> Result<DataFrame> {
        self.apply(AggFunc::Sum)
    }

    /// Rolling mean.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.mean()?); // v: NULL, 1.5, 2.5
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn mean(&self) -> Result<DataFrame> {
        self.apply(AggFunc::Avg)
    }

    /// Rolling minimum.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.min()?); // v: NULL, 1, 2
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn min(&self) -> Result<DataFrame> {
        self.apply(AggFunc::Min)
    }

    /// Rolling maximum.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 3)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.max()?); // v: NULL, 2, 3
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn max(&self) -> Result<DataFrame> {
        self.apply(AggFunc::Max)
    }

    /// Rolling count of non-NULL values (NULL while the window holds fewer than
    /// `min_periods` rows, as pandas).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, NULL), (3, 3)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.count()?); // v: NULL, 1, 1
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn count(&self) -> Result<DataFrame> {
        self.apply(AggFunc::Count)
    }

    /// Rolling sample standard deviation (ddof = 1; NULL for fewer than 2 values).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 4)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.std()?); // v: NULL, 0.7071, 1.4142
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn std(&self) -> Result<DataFrame> {
        self.apply(AggFunc::StddevSamp)
    }

    /// Rolling sample variance (ddof = 1; NULL for fewer than 2 values).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 1), (2, 2), (3, 4)) t(t, v)")?;
    /// println!("{}", df.rolling(2, "t")?.var()?); // v: NULL, 0.5, 2
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Rolling::sum`].
    pub fn var(&self) -> Result<DataFrame> {
        self.apply(AggFunc::VarSamp)
    }

    fn apply(&self, func: AggFunc) -> Result<DataFrame> {
        let df = &self.df;
        let by: Vec<&str> = self.by.iter().map(String::as_str).collect();
        df.check_columns("rolling().by", &by)?;
        let min_periods = self.min_periods.unwrap_or(self.window);
        if min_periods == 0 || min_periods > self.window {
            return plan_err!(
                "rolling({}).min_periods({min_periods}): must be between 1 and the window size",
                self.window
            );
        }
        let mut skip = by.clone();
        skip.push(self.on.as_str());
        let columns = match &self.columns {
            Some(c) => c.clone(),
            None => df.numeric_columns_except(&skip),
        };
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        df.check_columns("rolling", &columns)?;
        if func != AggFunc::Count {
            df.require_numeric("rolling", &columns)?;
        }
        if let Some(c) = columns.iter().find(|c| skip.contains(c)) {
            return plan_err!(
                "rolling: column '{c}' is the order or a group key; it cannot be rolled"
            );
        }
        let preceding = i64::try_from(self.window - 1).unwrap_or(i64::MAX);
        let w = Window::new()
            .partition_by(&by)
            .order_by([self.on.as_str()])
            .rows(-preceding, 0);
        let enough = |c: &Expr| -> Result<Expr> {
            let counted = if func == AggFunc::Count {
                agg_call(AggFunc::CountStar, vec![])
            } else {
                agg_call(AggFunc::Count, vec![c.clone()])
            };
            let n = i64::try_from(min_periods).unwrap_or(i64::MAX);
            Ok(counted.over(w.clone())?.gt_eq(lit(n)))
        };
        let rolled = df.replace_with(&columns, &|c| {
            Ok(when(enough(&c)?, agg_call(func, vec![c]).over(w.clone())?))
        })?;
        let mut keys = by;
        keys.push(self.on.as_str());
        rolled.sort_values(&keys, true)
    }
}

/// Time bins of a timestamp column: [`DataFrame::resample`], then a statistic per bin.
///
/// The output has the [`Resample::by`] keys, the bin (named like the timestamp column, the
/// bin's left edge) and one column per aggregated column (same names), sorted by keys and
/// bin. Bins without rows are not emitted.
///
/// ```
/// # fn main() -> rask::Result<()> {
/// let ctx = rask::SessionContext::new();
/// let df = ctx.sql(
///     "SELECT k, CAST(ts AS TIMESTAMP) AS ts, v FROM (VALUES ('a', '2024-01-01 00:10:00', 1), \
///      ('b', '2024-01-01 00:50:00', 2), ('a', '2024-01-01 00:40:00', 5)) t(k, ts, v)",
/// )?;
/// let out = df.resample("30min", "ts")?.by(&["k"]).max()?;
/// assert_eq!(out.columns(), vec!["k", "ts", "v"]);
/// assert_eq!(out.count()?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Resample {
    df: DataFrame,
    freq: String,
    step_us: i64,
    on: String,
    by: Vec<String>,
    columns: Option<Vec<String>>,
}

macro_rules! resample_aggs {
    ($($name:ident => $func:ident, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            ///
            /// ```
            /// # fn main() -> rask::Result<()> {
            /// let ctx = rask::SessionContext::new();
            /// let df = ctx.sql(
            ///     "SELECT CAST(ts AS TIMESTAMP) AS ts, v FROM (VALUES ('2024-01-01 00:10:00', 1.0), \
            ///      ('2024-01-01 00:20:00', 3.0), ('2024-01-02 00:00:00', NULL)) t(ts, v)",
            /// )?;
            #[doc = concat!("let daily = df.resample(\"1d\", \"ts\")?.", stringify!($name), "()?;")]
            /// assert_eq!(daily.count()?, 2);
            /// # Ok(())
            /// # }
            /// ```
            ///
            /// # Errors
            /// Unknown columns, non-numeric columns for numeric statistics.
            pub fn $name(&self) -> Result<DataFrame> {
                self.apply(AggFunc::$func)
            }
        )*
    };
}

impl Resample {
    /// Bins each group of `keys` separately (pandas' `groupby(keys).resample(..)`).
    pub fn by(mut self, keys: &[&str]) -> Self {
        self.by = keys.iter().map(|k| k.to_string()).collect();
        self
    }

    /// The columns to aggregate (default: every numeric column other than the `by` keys).
    pub fn columns(mut self, columns: &[&str]) -> Self {
        self.columns = Some(columns.iter().map(|c| c.to_string()).collect());
        self
    }

    resample_aggs! {
        sum => Sum, "Sum per bin (NULL when a bin has no non-NULL value, SQL's `sum`; pandas gives 0).";
        mean => Avg, "Mean per bin.";
        min => Min, "Minimum per bin.";
        max => Max, "Maximum per bin.";
        count => Count, "Non-NULL values per bin.";
        std => StddevSamp, "Sample standard deviation per bin (ddof = 1).";
        var => VarSamp, "Sample variance per bin (ddof = 1).";
        first => First, "The first value of each bin in input order (not a sort by time).";
        last => Last, "The last value of each bin in input order (not a sort by time).";
    }

    fn apply(&self, func: AggFunc) -> Result<DataFrame> {
        let df = &self.df;
        let by: Vec<&str> = self.by.iter().map(String::as_str).collect();
        df.check_columns("resample().by", &by)?;
        let mut skip = by.clone();
        skip.push(self.on.as_str());
        let columns = match &self.columns {
            Some(c) => c.clone(),
            None => df.numeric_columns_except(&skip),
        };
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        df.check_columns("resample", &columns)?;
        if matches!(
            func,
            AggFunc::Sum | AggFunc::Avg | AggFunc::StddevSamp | AggFunc::VarSamp
        ) {
            df.require_numeric("resample", &columns)?;
        }
        if let Some(c) = columns.iter().find(|c| skip.contains(c)) {
            return plan_err!(
                "resample: column '{c}' is the time column or a group key; it cannot be aggregated"
            );
        }
        let schema = df.schema();
        let t = schema.field_with_name(&self.on)?.data_type().clone();
        let bin = bin_expr(col(&self.on), &t, self.step_us, &self.freq)?;
        let binned = df
            .filter(col(&self.on).is_not_null())?
            .with_column(&self.on, bin)?;
        let mut keys = by.clone();
        keys.push(self.on.as_str());
        let aggs = columns
            .iter()
            .map(|c| agg_call(func, vec![col(c)]).alias(*c))
            .collect();
        binned.groupby(&keys)?.agg(aggs)?.sort_values(&keys, true)
    }
}

/// Microseconds in one `freq` (`"15min"` = 900_000_000).
fn parse_freq(freq: &str) -> Result<i64> {
    let s = freq.trim();
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    let (n, unit) = s.split_at(digits);
    let n: i64 = if n.is_empty() {
        1
    } else {
        match n.parse() {
            Ok(n) if n > 0 => n,
            _ => return plan_err!("resample('{freq}'): the count must be a positive integer"),
        }
    };
    let per: i64 = match unit.trim() {
        "us" | "U" => 1,
        "ms" | "L" => 1_000,
        "s" | "S" | "sec" => 1_000_000,
        "min" | "T" => 60_000_000,
        "h" | "H" => 3_600_000_000,
        "d" | "D" => 86_400_000_000,
        "w" | "W" => {
            return not_impl_err!(
                "resample('{freq}'): weekly bins (pandas anchors them to Sundays) are not \
                 supported; use '{}d' for 7-day bins aligned to the epoch (Thursdays)",
                7 * n
            )
        }
        "m" | "M" | "ME" | "MS" | "Q" | "QE" | "Y" | "YE" | "A" => {
            return not_impl_err!(
                "resample('{freq}'): calendar frequencies (months, quarters, years) are not \
                 supported; use .dt accessors and groupby"
            )
        }
        other => {
            return plan_err!(
                "resample('{freq}'): unknown unit '{other}'; use us, ms, s, min, h or d \
                 (e.g. '30s', '15min', '1h')"
            )
        }
    };
    match n.checked_mul(per) {
        Some(us) => Ok(us),
        None => plan_err!("resample('{freq}'): the frequency is too large"),
    }
}

/// `ts` floored to a multiple of `step_us` microseconds since the epoch, in `ts`'s type (a
/// DATE is binned as a TIMESTAMP).
fn bin_expr(ts: Expr, data_type: &DataType, step_us: i64, freq: &str) -> Result<Expr> {
    let (ts, unit, tz) = match data_type {
        DataType::Timestamp(unit, tz) => (ts, *unit, tz.clone()),
        DataType::Date32 | DataType::Date64 => (
            ts.cast(DataType::Timestamp(TimeUnit::Microsecond, None)),
            TimeUnit::Microsecond,
            None,
        ),
        other => {
            let hint = if is_temporal(other) {
                ""
            } else {
                " (cast it with astype first)"
            };
            return plan_err!(
                "resample: the time column must be a TIMESTAMP or DATE, got {other}{hint}"
            );
        }
    };
    let step = match unit {
        TimeUnit::Second if step_us % 1_000_000 == 0 => step_us / 1_000_000,
        TimeUnit::Millisecond if step_us % 1_000 == 0 => step_us / 1_000,
        TimeUnit::Microsecond => step_us,
        TimeUnit::Nanosecond => match step_us.checked_mul(1_000) {
            Some(s) => s,
            None => return plan_err!("resample('{freq}'): the frequency is too large"),
        },
        _ => {
            return plan_err!(
                "resample('{freq}'): the frequency is finer than the column's unit ({unit:?})"
            )
        }
    };
    // floor(x / step) * step for negative x too: x - ((x % step) + step) % step.
    let x = ts.cast(DataType::Int64);
    let s = lit(step);
    let rem = x.clone().modulo(s.clone()).add(s.clone()).modulo(s);
    Ok(x.sub(rem).cast(DataType::Timestamp(unit, tz)))
}

impl GroupBy {
    /// Running sums of `columns` within each group, in `order_by` order (pandas'
    /// `groupby(keys).cumsum()` on a frame sorted by `order_by`); see [`DataFrame::cumsum`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 1), ('b', 2, 5), ('a', 3, 2)) t(k, t, v)")?;
    /// let out = df.groupby(&["k"])?.cumsum(&["v"], &["t"])?;
    /// println!("{out}"); // a: 1, 3; b: 5
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns; non-numeric `columns`.
    pub fn cumsum(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.df
            .cumulative(AggFunc::Sum, columns, order_by, &self.keys)
    }

    /// Running maxima within each group; see [`GroupBy::cumsum`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 1), ('b', 2, 5), ('a', 3, 2)) t(k, t, v)")?;
    /// println!("{}", df.groupby(&["k"])?.cummax(&["v"], &["t"])?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns.
    pub fn cummax(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.df
            .cumulative(AggFunc::Max, columns, order_by, &self.keys)
    }

    /// Running minima within each group; see [`GroupBy::cumsum`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1, 1), ('b', 2, 5), ('a', 3, 2)) t(k, t, v)")?;
    /// println!("{}", df.groupby(&["k"])?.cummin(&["v"], &["t"])?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns.
    pub fn cummin(&self, columns: &[&str], order_by: &[&str]) -> Result<DataFrame> {
        self.df
            .cumulative(AggFunc::Min, columns, order_by, &self.keys)
    }

    /// Adds column `cumcount`: each row's 0-based position within its group in `order_by`
    /// order (pandas' `groupby(keys).cumcount()`).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(k, t)")?;
    /// let out = df.groupby(&["k"])?.cumcount(&["t"])?;
    /// assert_eq!(out.columns(), vec!["k", "t", "cumcount"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown columns; an existing `cumcount` column.
    pub fn cumcount(&self, order_by: &[&str]) -> Result<DataFrame> {
        self.df.cumcount_in(order_by, &self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies() {
        assert_eq!(parse_freq("30s").ok(), Some(30_000_000));
        assert_eq!(parse_freq("15min").ok(), Some(900_000_000));
        assert_eq!(parse_freq("h").ok(), Some(3_600_000_000));
        assert_eq!(parse_freq("1d").ok(), Some(86_400_000_000));
        assert!(parse_freq("1w").is_err());
        assert!(parse_freq("0s").is_err());
        assert!(parse_freq("3 parsecs").is_err());
        assert!(parse_freq("99999999999999999999d").is_err());
    }

    #[test]
    fn frames() {
        let f = Window::new().rows(-2, 0).resolved_frame().ok();
        assert_eq!(
            f.map(|f| f.to_string()),
            Some("ROWS BETWEEN 2 PRECEDING AND CURRENT ROW".to_string())
        );
        assert!(Window::new().rows(1, 0).resolved_frame().is_err());
    }
}
