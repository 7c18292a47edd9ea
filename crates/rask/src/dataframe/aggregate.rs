//! Aggregation shortcuts in pandas' vocabulary: [`GroupBy`] `sum`, `mean`, ... applied to every
//! non-key column, [`GroupBy::transform`], and the frame-level `value_counts`, `describe`,
//! `nunique`, `quantile`, `corr`, `cov` and `sum`/`mean`/... .
//!
//! All of them are lazy: they build one aggregation (plus, for the tables pandas returns with
//! a row label such as `describe` and `corr`, a cross join of its single row with the labels
//! and a sort), so each reads its input once.
//!
//! # pandas defaults they follow
//!
//! * Group keys: rows whose key is NULL are left out (pandas' `dropna=True`), and the result
//!   is sorted by the keys (pandas' `sort=True`). [`GroupBy::agg`] keeps SQL's behaviour
//!   instead (a NULL key is a group of its own, no order).
//! * `sum`, `mean`, `std`, `var`, `median` and `quantile` take the numeric columns (booleans
//!   count as 0/1) and skip the rest (pandas would concatenate strings in `sum` and raise in
//!   the others); `min`, `max`, `count`, `first`, `last` and `nunique` take every column.
//! * `first`/`last` give the first/last non-NULL value of each column in the frame's order
//!   (pandas' `skipna=True`); `std`/`var` use `ddof=1`; `quantile` interpolates linearly;
//!   `sum` of no values is 0.

use std::sync::Arc;

use arrow::datatypes::DataType;
use rask_common::{plan_err, Result, ScalarValue};
use rask_expr::type_coercion::is_numeric;
use rask_expr::{Column, Expr, Join, JoinType, LogicalPlan, LogicalPlanBuilder, SortExpr, Values};

use super::transform::col_exact;
use super::{DataFrame, GroupBy};
use crate::functions::{
    corr, count, count_distinct, count_star, covar_samp, first, last, max, mean, median, min,
    quantile, std, sum, var,
};

/// Which columns a shortcut applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// Every column.
    All,
    /// Numbers and booleans (booleans read as 0/1).
    Numeric,
}

/// A number (booleans count, as in pandas' numeric reductions).
fn is_numeric_or_bool(t: &DataType) -> bool {
    is_numeric(t) || t == &DataType::Boolean
}

/// 0 where a `sum` found no non-NULL value (pandas' `min_count=0`; SQL's `sum` is NULL).
fn zero_if_null(e: Expr) -> Expr {
    crate::functions::coalesce(vec![e, Expr::Literal(ScalarValue::Int64(Some(0)))])
}

/// `first(e)` of the non-NULL values (pandas' `first`, `skipna=True`).
fn first_valid(e: Expr) -> Expr {
    with_filter(first(e.clone()), e.is_not_null())
}

/// `last(e)` of the non-NULL values.
fn last_valid(e: Expr) -> Expr {
    with_filter(last(e.clone()), e.is_not_null())
}

fn with_filter(agg: Expr, pred: Expr) -> Expr {
    match agg {
        Expr::AggregateFunction {
            func,
            args,
            distinct,
            ..
        } => Expr::AggregateFunction {
            func,
            args,
            distinct,
            filter: Some(Box::new(pred)),
        },
        other => other,
    }
}

fn check_fraction(q: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&q) {
        return plan_err!("quantile(q={q}): q must be between 0 and 1");
    }
    Ok(())
}

impl GroupBy {
    /// The output names of the keys (what the aggregate calls its key columns).
    fn key_names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.output_name()).collect()
    }

    /// The columns that are not keys: `(expression, name, type)`.
    fn value_columns(&self) -> Vec<(Expr, String, DataType)> {
        let key_cols: Vec<&Column> = self
            .keys
            .iter()
            .filter_map(|k| match k {
                Expr::Column(c) => Some(c),
                _ => None,
            })
            .collect();
        self.df
            .column_list()
            .into_iter()
            .filter(|(_, n, _)| !key_cols.iter().any(|c| &c.name == n))
            .collect()
    }

    /// The frame without rows whose key is NULL (pandas' `dropna=True`).
    fn rows_with_keys(&self) -> Result<DataFrame> {
        let pred = self
            .keys
            .iter()
            .map(|k| k.clone().is_not_null())
            .reduce(|a, b| a.and(b));
        match pred {
            Some(p) => self.df.filter(p),
            None => Ok(self.df.clone()),
        }
    }

    /// Aggregates `aggs` per key (NULL keys left out) and sorts by the keys.
    fn aggregate_sorted(&self, aggs: Vec<Expr>) -> Result<DataFrame> {
        let out = self
            .rows_with_keys()?
            .groupby_exprs(self.keys.clone())?
            .agg(aggs)?;
        if self.keys.is_empty() {
            return Ok(out);
        }
        out.sort(
            self.key_names()
                .iter()
                .map(|n| SortExpr {
                    expr: col_exact(n),
                    asc: true,
                    nulls_first: false,
                })
                .collect(),
        )
    }

    /// `make(column)` for every value column `which` selects, named like the column; `post`
    /// rewrites each aggregated value afterwards.
    fn shortcut(
        &self,
        what: &str,
        which: Columns,
        make: impl Fn(Expr) -> Expr,
        post: Option<fn(Expr) -> Expr>,
    ) -> Result<DataFrame> {
        let values: Vec<(Expr, String, DataType)> = self
            .value_columns()
            .into_iter()
            .filter(|(_, _, t)| which == Columns::All || is_numeric_or_bool(t))
            .collect();
        if values.is_empty() {
            return plan_err!(
                "{what}(): the frame has no {}columns to aggregate besides the keys",
                if which == Columns::Numeric {
                    "numeric "
                } else {
                    ""
                }
            );
        }
        let aggs: Vec<Expr> = values
            .iter()
            .map(|(e, n, t)| {
                let e = if t == &DataType::Boolean && which == Columns::Numeric {
                    e.clone().cast(DataType::Int64)
                } else {
                    e.clone()
                };
                make(e).alias(n.as_str())
            })
            .collect();
        let out = self.aggregate_sorted(aggs)?;
        let Some(post) = post else {
            return Ok(out);
        };
        let exprs = out
            .column_list()
            .into_iter()
            .enumerate()
            .map(|(i, (e, n, _))| {
                if i < self.keys.len() {
                    e
                } else {
                    post(e).alias(n)
                }
            })
            .collect();
        out.select(exprs)
    }

    /// Sum of every numeric column per group (pandas' `groupby(..).sum()`): 0 for a group
    /// without non-NULL values, as in pandas.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1, 'p'), ('y', 2, 'q'), ('x', 3, 'r')) t(k, v, s)")?;
    /// let s = df.groupby(&["k"])?.sum()?;
    /// assert_eq!(s.columns(), vec!["k", "v"]); // s is text: skipped
    /// assert_eq!(s.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column besides the keys.
    pub fn sum(&self) -> Result<DataFrame> {
        self.shortcut("sum", Columns::Numeric, sum, Some(zero_if_null))
    }

    /// Mean of every numeric column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.mean()?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column besides the keys.
    pub fn mean(&self) -> Result<DataFrame> {
        self.shortcut("mean", Columns::Numeric, mean, None)
    }

    /// Minimum of every column per group (text by byte order).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.min()?.columns(), vec!["k", "v"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys; a column type without an order.
    pub fn min(&self) -> Result<DataFrame> {
        self.shortcut("min", Columns::All, min, None)
    }

    /// Maximum of every column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.max()?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys; a column type without an order.
    pub fn max(&self) -> Result<DataFrame> {
        self.shortcut("max", Columns::All, max, None)
    }

    /// Non-NULL values of every column per group (pandas' `count`).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', NULL), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.count()?.columns(), vec!["k", "v"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys.
    pub fn count(&self) -> Result<DataFrame> {
        self.shortcut("count", Columns::All, count, None)
    }

    /// Rows per group, in a column named `size` (pandas' `size`).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', NULL), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.size()?.columns(), vec!["k", "size"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Unknown key columns.
    pub fn size(&self) -> Result<DataFrame> {
        self.aggregate_sorted(vec![count_star().alias("size")])
    }

    /// Sample standard deviation (`ddof=1`) of every numeric column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.std()?.count()?, 2); // y has one value: NULL
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column besides the keys.
    pub fn std(&self) -> Result<DataFrame> {
        self.shortcut("std", Columns::Numeric, std, None)
    }

    /// Sample variance (`ddof=1`) of every numeric column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.var()?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column besides the keys.
    pub fn var(&self) -> Result<DataFrame> {
        self.shortcut("var", Columns::Numeric, var, None)
    }

    /// The first non-NULL value of every column per group, in the frame's order (partition,
    /// then row, whatever the number of threads).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', NULL), ('y', 2), ('x', 3)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.first()?.count()?, 2); // x -> 3
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys.
    pub fn first(&self) -> Result<DataFrame> {
        self.shortcut("first", Columns::All, first_valid, None)
    }

    /// The last non-NULL value of every column per group, in the frame's order.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', NULL)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.last()?.count()?, 2); // x -> 1
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys.
    pub fn last(&self) -> Result<DataFrame> {
        self.shortcut("last", Columns::All, last_valid, None)
    }

    /// Distinct non-NULL values of every column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 1)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.nunique()?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No column besides the keys.
    pub fn nunique(&self) -> Result<DataFrame> {
        self.shortcut("nunique", Columns::All, count_distinct, None)
    }

    /// Exact median of every numeric column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 4)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.median()?.count()?, 2); // x -> 2.5
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column besides the keys.
    pub fn median(&self) -> Result<DataFrame> {
        self.shortcut("median", Columns::Numeric, median, None)
    }

    /// The exact `q`-quantile (linear interpolation, pandas' default) of every numeric
    /// column per group.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 4)) t(k, v)")?;
    /// assert_eq!(df.groupby(&["k"])?.quantile(0.9)?.count()?, 2); // x -> 3.7
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `q` outside `[0, 1]`; no numeric column besides the keys.
    pub fn quantile(&self, q: f64) -> Result<DataFrame> {
        check_fraction(q)?;
        self.shortcut("quantile", Columns::Numeric, |e| quantile(e, q), None)
    }

    /// pandas' `groupby(keys)[column].transform(func)`: the group's statistic broadcast back to
    /// each of its rows, as a new column `{column}_{func}` after the frame's columns.
    ///
    /// `func` is one of `sum`, `mean`, `min`, `max`, `count`, `size`, `std`, `var`, `median`,
    /// `first`, `last`, `nunique`. It is computed as an aggregation joined back on the keys
    /// (a left join), so rows whose key is NULL get NULL, as with pandas' default
    /// `dropna=True`. The output rows come in no set order (pandas keeps the input's).
    ///
    /// ```
    /// use rask::{col, lit};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 5), ('x', 3)) t(k, v)")?;
    /// let t = df.groupby(&["k"])?.transform("mean", "v")?;
    /// assert_eq!(t.columns(), vec!["k", "v", "v_mean"]);
    /// assert_eq!(t.filter(col("v_mean").eq(lit(2.0)))?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown `func` or column; a statistic the column's type does not have; an output
    /// name that is already a column.
    pub fn transform(&self, func: &str, column: &str) -> Result<DataFrame> {
        let value = self.df.column(column)?;
        let stat = match func {
            "sum" => sum(value),
            "mean" => mean(value),
            "min" => min(value),
            "max" => max(value),
            "count" => count(value),
            "size" => count_star(),
            "std" => std(value),
            "var" => var(value),
            "median" => median(value),
            "first" => first_valid(value),
            "last" => last_valid(value),
            "nunique" => count_distinct(value),
            other => {
                return plan_err!(
                    "transform('{other}'): expected sum, mean, min, max, count, size, std, var, \
                     median, first, last or nunique"
                )
            }
        };
        let out_name = format!("{column}_{func}");
        let cols = self.df.column_list();
        if cols.iter().any(|(_, n, _)| n == &out_name) {
            return plan_err!("transform: the frame already has a column named '{out_name}'");
        }
        const L: &str = "__rask_l";
        const R: &str = "__rask_r";
        const STAT: &str = "__rask_stat";
        let key = |i: usize| format!("__rask_key{i}");
        // Left: the frame with its key values as extra columns.
        let mut left_exprs: Vec<Expr> = cols.iter().map(|c| c.0.clone()).collect();
        left_exprs.extend(
            self.keys
                .iter()
                .enumerate()
                .map(|(i, k)| k.clone().alias(key(i))),
        );
        let left = self.df.select(left_exprs)?.builder().alias(L).build();
        // Right: the statistic per key.
        let grouped = self
            .rows_with_keys()?
            .groupby_exprs(self.keys.clone())?
            .agg(vec![stat.alias(STAT)])?;
        let mut right_exprs: Vec<Expr> = self
            .key_names()
            .iter()
            .enumerate()
            .map(|(i, n)| col_exact(n).alias(key(i)))
            .collect();
        right_exprs.push(if func == "sum" {
            zero_if_null(col_exact(STAT)).alias(STAT)
        } else {
            col_exact(STAT)
        });
        let right = grouped.select(right_exprs)?.builder().alias(R).build();
        let on = (0..self.keys.len())
            .map(|i| {
                (
                    Expr::Column(Column::qualified(L, key(i))),
                    Expr::Column(Column::qualified(R, key(i))),
                )
            })
            .collect();
        let join_type = if self.keys.is_empty() {
            JoinType::Inner // a cross join with the single row of the statistic
        } else {
            JoinType::Left
        };
        let join = Arc::new(LogicalPlan::Join(Join::try_new(
            left, right, on, None, join_type,
        )?));
        let mut exprs: Vec<Expr> = cols
            .iter()
            .map(|(_, n, _)| Expr::Column(Column::qualified(L, n.as_str())).alias(n.as_str()))
            .collect();
        exprs.push(Expr::Column(Column::qualified(R, STAT)).alias(out_name));
        let plan = LogicalPlanBuilder::from(join).project(exprs)?.build();
        Ok(self.df.with_plan(plan))
    }
}

impl DataFrame {
    fn numeric_columns(&self) -> Vec<(Expr, String, DataType)> {
        self.column_list()
            .into_iter()
            .filter(|(_, _, t)| is_numeric(t))
            .collect()
    }

    fn whole(&self) -> GroupBy {
        GroupBy {
            df: self.clone(),
            keys: vec![],
        }
    }

    /// Turns the single row of `wide` into a table with one row per label: a first column
    /// `label_column` holding `labels[i]`, then for each `(name, sources)` in `columns` a
    /// column `name` whose row `i` is `wide`'s column `sources[i]`. Lazy: a cross join with
    /// the labels, then a sort on their position.
    fn long_form(
        &self,
        wide: DataFrame,
        label_column: &str,
        labels: &[String],
        columns: Vec<(String, Vec<String>)>,
    ) -> Result<DataFrame> {
        if columns.iter().any(|(n, _)| n == label_column) {
            return plan_err!(
                "the frame has a column named '{label_column}', which the result uses for its \
                 labels: rename it first"
            );
        }
        const POS: &str = "__rask_pos";
        const LABEL: &str = "__rask_label";
        let rows = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                vec![
                    Expr::Literal(ScalarValue::Int64(Some(i as i64))),
                    Expr::Literal(ScalarValue::Utf8(Some(l.clone()))),
                ]
            })
            .collect();
        let values = LogicalPlanBuilder::from(LogicalPlan::Values(Values::try_new(rows)?))
            .project(vec![
                col_exact("column1").alias(POS),
                col_exact("column2").alias(LABEL),
            ])?
            .build();
        let join = Arc::new(LogicalPlan::Join(Join::try_new(
            Arc::clone(&wide.plan),
            values,
            vec![],
            None,
            JoinType::Inner,
        )?));
        let mut exprs = vec![col_exact(POS), col_exact(LABEL).alias(label_column)];
        for (name, sources) in columns {
            let when_then = sources
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        Expr::Literal(ScalarValue::Int64(Some(i as i64))),
                        col_exact(s),
                    )
                })
                .collect();
            exprs.push(
                Expr::Case {
                    operand: Some(Box::new(col_exact(POS))),
                    when_then,
                    else_expr: None,
                }
                .alias(name),
            );
        }
        let sorted = LogicalPlanBuilder::from(join)
            .project(exprs)?
            .sort(vec![SortExpr {
                expr: col_exact(POS),
                asc: true,
                nulls_first: false,
            }])?
            .build();
        let out = self.with_plan(sorted);
        let keep: Vec<Expr> = out
            .column_list()
            .into_iter()
            .skip(1)
            .map(|(_, n, _)| col_exact(&n))
            .collect();
        out.select(keep)
    }

    /// Rows per distinct combination of `columns` (all columns when empty), in a column named
    /// `count`, most frequent first (ties by the values, ascending). Rows with a NULL in any of
    /// the columns are left out (pandas' `dropna=True`).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x'), ('y'), ('x'), (NULL)) t(k)")?;
    /// let vc = df.value_counts(&["k"])?;
    /// assert_eq!(vc.columns(), vec!["k", "count"]);
    /// let b = vc.collect()?;
    /// assert_eq!(format!("{}", arrow::util::pretty::pretty_format_batches(&b).unwrap()),
    ///     "+---+-------+\n| k | count |\n+---+-------+\n| x | 2     |\n| y | 1     |\n+---+-------+");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or one named `count`.
    pub fn value_counts(&self, columns: &[&str]) -> Result<DataFrame> {
        let keys: Vec<Expr> = if columns.is_empty() {
            self.column_list().into_iter().map(|c| c.0).collect()
        } else {
            columns
                .iter()
                .map(|c| self.column(c))
                .collect::<Result<_>>()?
        };
        let names: Vec<String> = keys.iter().map(|k| k.output_name()).collect();
        if names.iter().any(|n| n == "count") {
            return plan_err!(
                "value_counts: a column is named 'count', like the result's: rename it first"
            );
        }
        let g = GroupBy {
            df: self.clone(),
            keys,
        };
        let counted = g
            .rows_with_keys()?
            .groupby_exprs(g.keys.clone())?
            .agg(vec![count_star().alias("count")])?;
        let mut order = vec![SortExpr {
            expr: col_exact("count"),
            asc: false,
            nulls_first: false,
        }];
        order.extend(names.iter().map(|n| SortExpr {
            expr: col_exact(n),
            asc: true,
            nulls_first: false,
        }));
        counted.sort(order)
    }

    /// Summary statistics of the numeric columns, in pandas' layout: a column `statistic`
    /// (`count`, `mean`, `std`, `min`, `25%`, `50%`, `75%`, `max`) then one DOUBLE column per
    /// numeric column. NULLs are skipped; `std` has `ddof=1`; the quartiles interpolate
    /// linearly. Lazy: one aggregation over the frame.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x', 2.5), (2, 'y', NULL), (4, 'z', 0.5)) t(a, b, c)")?;
    /// let d = df.describe()?;
    /// assert_eq!(d.columns(), vec!["statistic", "a", "c"]);
    /// assert_eq!(d.count()?, 8);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column, or one named `statistic`.
    pub fn describe(&self) -> Result<DataFrame> {
        let cols = self.numeric_columns();
        if cols.is_empty() {
            return plan_err!("describe(): the frame has no numeric columns");
        }
        type Stat = (&'static str, fn(Expr) -> Expr);
        let stats: [Stat; 8] = [
            ("count", count),
            ("mean", mean),
            ("std", std),
            ("min", min),
            ("25%", |e| quantile(e, 0.25)),
            ("50%", |e| quantile(e, 0.5)),
            ("75%", |e| quantile(e, 0.75)),
            ("max", max),
        ];
        let src = |c: usize, s: usize| format!("__rask_d{c}_{s}");
        let mut aggs = Vec::new();
        let mut columns = Vec::new();
        for (c, (e, name, _)) in cols.iter().enumerate() {
            let mut sources = Vec::new();
            for (s, (_, f)) in stats.iter().enumerate() {
                aggs.push(f(e.clone()).alias(src(c, s)));
                sources.push(src(c, s));
            }
            columns.push((name.clone(), sources));
        }
        // Every statistic as DOUBLE, so that one column holds them all.
        let wide = self.agg(aggs)?;
        let wide = wide.select(
            wide.column_list()
                .into_iter()
                .map(|(e, n, _)| e.cast(DataType::Float64).alias(n))
                .collect(),
        )?;
        let labels: Vec<String> = stats.iter().map(|(l, _)| l.to_string()).collect();
        self.long_form(wide, "statistic", &labels, columns)
    }

    /// Distinct non-NULL values of every column, as one row with the frame's column names
    /// (pandas' `nunique`).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (1, 'y'), (2, NULL)) t(a, b)")?;
    /// assert_eq!(df.nunique()?.columns(), vec!["a", "b"]); // 2, 2
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A frame without columns.
    pub fn nunique(&self) -> Result<DataFrame> {
        self.whole().nunique()
    }

    /// The exact `q`-quantile (linear interpolation) of every numeric column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y'), (4, 'z')) t(a, b)")?;
    /// assert_eq!(df.quantile(0.5)?.columns(), vec!["a"]); // 2.0
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `q` outside `[0, 1]`; no numeric column.
    pub fn quantile(&self, q: f64) -> Result<DataFrame> {
        check_fraction(q)?;
        self.whole()
            .shortcut("quantile", Columns::Numeric, |e| quantile(e, q), None)
    }

    fn pairwise(&self, what: &str, f: fn(Expr, Expr) -> Expr) -> Result<DataFrame> {
        let cols = self.numeric_columns();
        if cols.is_empty() {
            return plan_err!("{what}(): the frame has no numeric columns");
        }
        let src = |i: usize, j: usize| {
            let (a, b) = if i <= j { (i, j) } else { (j, i) };
            format!("__rask_p{a}_{b}")
        };
        let mut aggs = Vec::new();
        for i in 0..cols.len() {
            for j in i..cols.len() {
                aggs.push(f(cols[i].0.clone(), cols[j].0.clone()).alias(src(i, j)));
            }
        }
        let wide = self.agg(aggs)?;
        let labels: Vec<String> = cols.iter().map(|c| c.1.clone()).collect();
        let columns = (0..cols.len())
            .map(|j| {
                (
                    cols[j].1.clone(),
                    (0..cols.len()).map(|i| src(i, j)).collect(),
                )
            })
            .collect();
        self.long_form(wide, "column", &labels, columns)
    }

    /// Pearson correlation of every pair of numeric columns, over the rows where both are
    /// non-NULL (pandas' `corr()`): a first column `column` naming the row's variable, then
    /// one column per numeric column. NULL where there are fewer than two pairs or a variance
    /// is zero.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 2.0), (2, 4.5), (3, 5.5)) t(a, b)")?;
    /// let c = df.corr()?;
    /// assert_eq!(c.columns(), vec!["column", "a", "b"]);
    /// assert_eq!(c.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column, or one named `column`.
    pub fn corr(&self) -> Result<DataFrame> {
        self.pairwise("corr", corr)
    }

    /// Sample covariance (`ddof=1`) of every pair of numeric columns over the rows where both
    /// are non-NULL (pandas' `cov()`), laid out like [`DataFrame::corr`].
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 2.0), (2, 4.5), (3, 5.5)) t(a, b)")?;
    /// assert_eq!(df.cov()?.columns(), vec!["column", "a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column, or one named `column`.
    pub fn cov(&self) -> Result<DataFrame> {
        self.pairwise("cov", covar_samp)
    }

    /// Sum of every numeric column, as one row (pandas' `df.sum()`; booleans count 0/1, other
    /// columns are skipped).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// assert_eq!(df.sum()?.columns(), vec!["a"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column.
    pub fn sum(&self) -> Result<DataFrame> {
        self.whole().sum()
    }

    /// Mean of every numeric column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// assert_eq!(df.mean()?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column.
    pub fn mean(&self) -> Result<DataFrame> {
        self.whole().mean()
    }

    /// Minimum of every column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// assert_eq!(df.min()?.columns(), vec!["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A column type without an order.
    pub fn min(&self) -> Result<DataFrame> {
        self.whole().min()
    }

    /// Maximum of every column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// assert_eq!(df.max()?.columns(), vec!["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A column type without an order.
    pub fn max(&self) -> Result<DataFrame> {
        self.whole().max()
    }

    /// Non-NULL values of every column, as one row: pandas' `df.count()` (rask's
    /// [`DataFrame::count`] is the number of rows).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, NULL)) t(a, b)")?;
    /// assert_eq!(df.count_non_null()?.columns(), vec!["a", "b"]); // 2, 1
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A frame without columns.
    pub fn count_non_null(&self) -> Result<DataFrame> {
        self.whole().count()
    }

    /// Sample standard deviation (`ddof=1`) of every numeric column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (3, 'y')) t(a, b)")?;
    /// assert_eq!(df.std()?.columns(), vec!["a"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column.
    pub fn std(&self) -> Result<DataFrame> {
        self.whole().std()
    }

    /// Sample variance (`ddof=1`) of every numeric column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (3, 'y')) t(a, b)")?;
    /// assert_eq!(df.var()?.columns(), vec!["a"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column.
    pub fn var(&self) -> Result<DataFrame> {
        self.whole().var()
    }

    /// Exact median of every numeric column, as one row.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (3, 'y')) t(a, b)")?;
    /// assert_eq!(df.median()?.columns(), vec!["a"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No numeric column.
    pub fn median(&self) -> Result<DataFrame> {
        self.whole().median()
    }
}
