//! DataFrame methods that select rows and columns and transform values column by column:
//! pandas' `df["a"]`, `tail`, `nlargest`, `sample`, `loc`, `rename`, `drop`, `astype`,
//! `fillna`, `dropna`, `isna`, `where`, `mask`, `clip`, `round`, `drop_duplicates`, and the
//! inspection helpers `shape` and `dtypes`.
//!
//! Every method builds plain expressions (CASE, `coalesce`, casts, `IS NULL`) over the
//! frame's plan, so it is lazy, optimized and parallel like the rest of the API. The only
//! exceptions are [`DataFrame::tail`] and [`DataFrame::shape`], which count rows first.
//!
//! # Missing values
//!
//! rask's missing value is SQL's NULL (Arrow's validity bit). A floating-point NaN is a value,
//! not a missing one (as in Polars and SQL; pandas treats NaN as missing): `isna`, `fillna`
//! and `dropna` look at NULLs only.

use arrow::compute::can_cast_types;
use arrow::datatypes::DataType;
use rask_common::{plan_err, Result};
use rask_expr::type_coercion::{is_integer, is_numeric, is_string, is_temporal};
use rask_expr::{col, Expr, SortExpr};

use super::DataFrame;
use crate::functions::{coalesce, first, hash, last};

/// Whether a value of type `value` can stand in a column of type `column` without changing
/// what the column holds (numbers for numbers, text for text, ...): the rule `fillna` and
/// `where_` use to decide which columns a value applies to.
pub(super) fn fits(column: &DataType, value: &DataType) -> bool {
    let column = match column {
        DataType::Dictionary(_, v) => v.as_ref(),
        t => t,
    };
    value == &DataType::Null
        || column == value
        || (is_numeric(column) && is_numeric(value))
        || (is_string(column) && is_string(value))
        || (is_temporal(column) && is_temporal(value))
}

/// `CASE WHEN cond THEN then ELSE otherwise END`
pub(super) fn case_when(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    Expr::Case {
        operand: None,
        when_then: vec![(cond, then)],
        else_expr: Some(Box::new(otherwise)),
    }
}

impl DataFrame {
    /// The column's position, with the schema's "not found" error (and its suggestion).
    pub(super) fn index_of(&self, name: &str) -> Result<usize> {
        let Expr::Column(c) = col(name) else {
            return plan_err!("'{name}' is not a column name");
        };
        self.plan.schema().index_of_column(&c)
    }

    /// Every column as `(expression, name, type)`, in order.
    pub(super) fn column_list(&self) -> Vec<(Expr, String, DataType)> {
        let schema = self.plan.schema();
        (0..schema.len())
            .map(|i| {
                let f = schema.field(i);
                (
                    Expr::Column(schema.column(i)),
                    f.name().clone(),
                    f.data_type().clone(),
                )
            })
            .collect()
    }

    /// Projects every column through `f(expr, name, type)` (which returns the new expression,
    /// without alias), keeping names and order.
    fn map_columns(
        &self,
        mut f: impl FnMut(Expr, &str, &DataType) -> Result<Expr>,
    ) -> Result<DataFrame> {
        let exprs = self
            .column_list()
            .into_iter()
            .map(|(e, name, t)| {
                let out = f(e.clone(), &name, &t)?;
                Ok(if out == e { e } else { out.alias(name) })
            })
            .collect::<Result<Vec<_>>>()?;
        self.select(exprs)
    }

    /// A checked column reference, pandas' `df["a"]`: the expression for column `name`,
    /// or an error (with a suggestion) when the frame has no such column.
    ///
    /// ```
    /// use rask::lit;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// let big = df.filter(df.column("a")?.gt(lit(1i64)))?;
    /// assert_eq!(big.count()?, 1);
    /// assert!(df.column("c").is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the frame has no column `name`.
    pub fn column(&self, name: &str) -> Result<Expr> {
        let i = self.index_of(name)?;
        Ok(Expr::Column(self.plan.schema().column(i)))
    }

    /// The last `n` rows in the frame's order.
    ///
    /// The order is the one [`DataFrame::collect`] returns: a scan's partitions and rows in
    /// order, or the order of [`DataFrame::sort_values`]. It is computed by counting the rows
    /// (this runs the plan once, so `tail` is not lazy), then skipping all but the last `n`
    /// (a `LIMIT n OFFSET count - n`, which reads the frame again when the result runs). The
    /// skip buffers the rows it passes over until it knows their order, so on frames larger
    /// than memory prefer `sort_values(.., !ascending)` + `head`.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (3), (1), (2), (5)) t(a)")?;
    /// let last = df.sort_values(&["a"], true)?.tail(2)?;
    /// let a = last.collect()?;
    /// assert_eq!(format!("{}", arrow::util::pretty::pretty_format_batches(&a).unwrap()),
    ///     "+---+\n| a |\n+---+\n| 3 |\n| 5 |\n+---+");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Errors of running the count.
    pub fn tail(&self, n: usize) -> Result<DataFrame> {
        let rows = self.count()?;
        Ok(self.limit(rows.saturating_sub(n), Some(n)))
    }

    /// The `n` rows with the largest values of `columns` (the first column decides, the next
    /// ones break ties), in descending order: pandas' `nlargest`. Rows whose first column is
    /// NULL are left out, as pandas leaves out NaN. Rows still tied come in no set order. A
    /// Top-K sort, lazy.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (3, 'c'), (1, 'a'), (NULL, 'n'), (5, 'e')) t(a, b)")?;
    /// let top = df.nlargest(2, &["a"])?.select_columns(&["b"])?;
    /// let b = top.collect()?;
    /// assert_eq!(format!("{}", arrow::util::pretty::pretty_format_batches(&b).unwrap()),
    ///     "+---+\n| b |\n+---+\n| e |\n| c |\n+---+");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No columns, or unknown columns.
    pub fn nlargest(&self, n: usize, columns: &[&str]) -> Result<DataFrame> {
        self.n_extreme(n, columns, false)
    }

    /// The `n` rows with the smallest values of `columns`, ascending: pandas' `nsmallest`
    /// (see [`DataFrame::nlargest`]).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (3), (1), (NULL), (5)) t(a)")?;
    /// assert_eq!(df.nsmallest(10, &["a"])?.count()?, 3);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// No columns, or unknown columns.
    pub fn nsmallest(&self, n: usize, columns: &[&str]) -> Result<DataFrame> {
        self.n_extreme(n, columns, true)
    }

    fn n_extreme(&self, n: usize, columns: &[&str], ascending: bool) -> Result<DataFrame> {
        let Some(first_col) = columns.first() else {
            return plan_err!("nlargest/nsmallest need at least one column to order by");
        };
        let keys = columns
            .iter()
            .map(|c| {
                Ok(SortExpr {
                    expr: self.column(c)?,
                    asc: ascending,
                    nulls_first: false,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self
            .filter(self.column(first_col)?.is_not_null())?
            .sort(keys)?
            .head(n))
    }

    /// A random sample of about `frac` of the rows (Bernoulli sampling), the same for a given
    /// `seed` whatever the partitioning, scheduler or run: a row is kept when a hash of its
    /// values and the seed falls below `frac` of the hash range. Identical rows share a hash,
    /// so they are kept or dropped together; the number of rows kept varies around
    /// `frac * rows` (pandas draws exactly `round(frac * rows)`; Dask, like rask, does not).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// use std::sync::Arc;
    /// use arrow::array::{Int64Array, RecordBatch};
    /// use arrow::datatypes::{DataType, Field, Schema};
    /// let ctx = rask::SessionContext::new();
    /// let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
    /// let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(Int64Array::from_iter_values(0..1000))])?;
    /// let df = ctx.from_batches(schema, vec![vec![batch]])?;
    /// let s = df.sample(0.1, 42)?;
    /// let n = s.count()?;
    /// assert!(n > 50 && n < 150, "{n}");
    /// assert_eq!(n, df.sample(0.1, 42)?.count()?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `frac` outside `[0, 1]` (or NaN); columns of a type the engine cannot hash.
    pub fn sample(&self, frac: f64, seed: u64) -> Result<DataFrame> {
        if !(0.0..=1.0).contains(&frac) {
            return plan_err!("sample(frac={frac}): frac must be between 0 and 1");
        }
        let mut args: Vec<Expr> = self.column_list().into_iter().map(|c| c.0).collect();
        // The seed as a BIGINT with the same bits.
        args.push(rask_expr::lit(seed as i64));
        // Hashes are uniform over 0..2^64; compared as DOUBLE, which is exact enough here.
        let threshold = frac * 18_446_744_073_709_551_616.0;
        self.filter(hash(args).lt(rask_expr::lit(threshold)))
    }

    /// Keeps the rows where the boolean `mask` is TRUE (pandas' `df.loc[mask]`; NULL counts as
    /// FALSE). The same as [`DataFrame::filter`].
    ///
    /// ```
    /// use rask::{col, lit};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y'), (3, 'x')) t(a, b)")?;
    /// let m = col("b").eq(lit("x")).and(col("a").gt(lit(1i64)));
    /// assert_eq!(df.loc(m)?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the mask is not BOOLEAN or names an unknown column.
    pub fn loc(&self, mask: Expr) -> Result<DataFrame> {
        self.filter(mask)
    }

    /// Renames columns: `rename(&[("old", "new")])`. Other columns keep their names.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x')) t(a, b)")?;
    /// assert_eq!(df.rename(&[("a", "id")])?.columns(), vec!["id", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown old name, an old name given twice, or a result with two columns of one name.
    pub fn rename(&self, mapping: &[(&str, &str)]) -> Result<DataFrame> {
        let mut new_names: Vec<Option<&str>> = vec![None; self.plan.schema().len()];
        for (old, new) in mapping {
            let i = self.index_of(old)?;
            if new_names[i].is_some() {
                return plan_err!("rename: column '{old}' is renamed twice");
            }
            new_names[i] = Some(new);
        }
        let cols = self.column_list();
        let names: Vec<&str> = cols
            .iter()
            .zip(&new_names)
            .map(|((_, n, _), new)| new.unwrap_or(n.as_str()))
            .collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return plan_err!(
                    "rename: the result would have two columns named '{n}'; drop one first"
                );
            }
        }
        let exprs = cols
            .into_iter()
            .zip(new_names)
            .map(|((e, _, _), new)| match new {
                Some(n) => e.alias(n),
                None => e,
            })
            .collect();
        self.select(exprs)
    }

    /// Removes columns.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x', 2.5)) t(a, b, c)")?;
    /// assert_eq!(df.drop(&["b"])?.columns(), vec!["a", "c"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or dropping every column.
    pub fn drop(&self, columns: &[&str]) -> Result<DataFrame> {
        let mut gone = vec![false; self.plan.schema().len()];
        for c in columns {
            gone[self.index_of(c)?] = true;
        }
        let exprs: Vec<Expr> = self
            .column_list()
            .into_iter()
            .zip(gone)
            .filter(|(_, g)| !g)
            .map(|(c, _)| c.0)
            .collect();
        if exprs.is_empty() {
            return plan_err!("drop: cannot drop every column of the frame");
        }
        self.select(exprs)
    }

    /// Casts columns to new types: `astype(&[("a", DataType::Float64)])` (SQL `CAST`). A
    /// value that does not convert fails the query with an error naming the value and the
    /// column (`try_cast` in SQL gives NULL instead).
    ///
    /// ```
    /// use arrow::datatypes::DataType;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('1', 2), ('3', 4)) t(a, b)")?;
    /// let typed = df.astype(&[("a", DataType::Int64), ("b", DataType::Float64)])?;
    /// assert_eq!(typed.dtypes()[1].1, DataType::Float64);
    /// let bad = ctx.sql("SELECT * FROM (VALUES ('1'), ('x')) t(a)")?;
    /// let err = bad.astype(&[("a", DataType::Int64)])?.collect().unwrap_err();
    /// assert!(err.to_string().contains("'x'") && err.to_string().contains("column a"), "{err}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or a conversion that no value can make (e.g. DATE to BOOLEAN).
    pub fn astype(&self, types: &[(&str, DataType)]) -> Result<DataFrame> {
        let mut to: Vec<Option<&DataType>> = vec![None; self.plan.schema().len()];
        for (name, t) in types {
            to[self.index_of(name)?] = Some(t);
        }
        let mut i = 0;
        self.map_columns(|e, name, from| {
            let target = to[i];
            i += 1;
            Ok(match target {
                Some(t) if t != from => {
                    if !can_cast_types(from, t) {
                        return plan_err!(
                            "astype: column '{name}' of type {from} cannot be cast to {t}"
                        );
                    }
                    e.cast(t.clone())
                }
                _ => e,
            })
        })
    }

    /// Makes `columns` categorical (pandas' `astype("category")`): dictionary-encoded, each
    /// distinct value stored once per batch and rows holding `Int32` codes. Filters, joins,
    /// sorts and `groupby` work on them as on the plain column (grouping takes a dictionary
    /// path that hashes each distinct value once); the values read back unchanged.
    ///
    /// ```
    /// use arrow::datatypes::DataType;
    /// use rask::{col, lit};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// let cat = df.astype_category(&["k"])?;
    /// assert!(matches!(cat.dtypes()[0].1, DataType::Dictionary(..)));
    /// assert_eq!(cat.filter(col("k").eq(lit("x")))?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column.
    pub fn astype_category(&self, columns: &[&str]) -> Result<DataFrame> {
        let schema = self.schema();
        let mut types = Vec::with_capacity(columns.len());
        for c in columns {
            let t = schema.field_with_name(c)?.data_type().clone();
            let t = match t {
                DataType::Dictionary(..) => t,
                other => DataType::Dictionary(Box::new(DataType::Int32), Box::new(other)),
            };
            types.push((*c, t));
        }
        self.astype(&types)
    }

    /// Replaces NULLs with `value` in every column where the value fits: a number fills
    /// numeric columns, text fills text columns, a boolean boolean columns, a date or
    /// timestamp temporal columns; other columns are left alone. The value keeps each column's
    /// type (it is cast to it), except that a fractional number in an integer column makes
    /// that column DOUBLE (as pandas makes it float).
    ///
    /// ```
    /// use rask::lit;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, NULL), (NULL, 'y')) t(a, b)")?;
    /// let filled = df.fillna(lit(0i64))?;
    /// assert_eq!(filled.dropna(None, "any")?.count()?, 1); // b is text: not filled
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `value` is not a constant.
    pub fn fillna(&self, value: Expr) -> Result<DataFrame> {
        if !value.is_constant() {
            return plan_err!(
                "fillna(value): the value must be a constant such as lit(0), got '{value}'"
            );
        }
        let vt = value.get_type(self.plan.schema())?;
        if vt == DataType::Null {
            return Ok(self.clone());
        }
        self.map_columns(|e, _, t| {
            if !fits(t, &vt) {
                return Ok(e);
            }
            Ok(if is_integer(t) && !is_integer(&vt) {
                coalesce(vec![
                    e.cast(DataType::Float64),
                    value.clone().cast(DataType::Float64),
                ])
            } else if matches!(t, DataType::Dictionary(..)) {
                coalesce(vec![e, value.clone()])
            } else {
                coalesce(vec![e, value.clone().cast(t.clone())])
            })
        })
    }

    /// Replaces NULLs column by column: `fillna_columns(&[("a", lit(0)), ("b", col("c"))])`
    /// (pandas' `fillna({"a": 0})`); the fill may be any expression of a compatible type.
    ///
    /// ```
    /// use rask::{col, lit};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, NULL), (NULL, 'y')) t(a, b)")?;
    /// let filled = df.fillna_columns(&[("a", lit(-1i64)), ("b", lit("?"))])?;
    /// assert_eq!(filled.dropna(None, "any")?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or a fill whose type does not match the column's.
    pub fn fillna_columns(&self, fills: &[(&str, Expr)]) -> Result<DataFrame> {
        let mut with: Vec<Option<&Expr>> = vec![None; self.plan.schema().len()];
        for (name, e) in fills {
            with[self.index_of(name)?] = Some(e);
        }
        let schema = std::sync::Arc::clone(self.plan.schema());
        let mut i = 0;
        self.map_columns(|e, name, t| {
            let fill = with[i];
            i += 1;
            let Some(fill) = fill else { return Ok(e) };
            let ft = fill.get_type(&schema)?;
            if !fits(t, &ft) {
                return plan_err!(
                    "fillna: column '{name}' is {t}, the fill value '{fill}' is {ft}"
                );
            }
            Ok(coalesce(vec![e, fill.clone()]))
        })
    }

    /// Drops rows with NULLs: `how = "any"` drops a row with a NULL in any of the columns,
    /// `"all"` only a row that is NULL in all of them. `subset` limits the columns looked at
    /// (`None`: all).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, NULL), (NULL, NULL), (3, 'z')) t(a, b)")?;
    /// assert_eq!(df.dropna(None, "any")?.count()?, 1);
    /// assert_eq!(df.dropna(None, "all")?.count()?, 2);
    /// assert_eq!(df.dropna(Some(&["a"]), "any")?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or a `how` other than `any` and `all`.
    pub fn dropna(&self, subset: Option<&[&str]>, how: &str) -> Result<DataFrame> {
        let any = match how {
            "any" => true,
            "all" => false,
            other => return plan_err!("dropna(how='{other}'): expected 'any' or 'all'"),
        };
        let cols: Vec<Expr> = match subset {
            Some(names) => names
                .iter()
                .map(|n| self.column(n))
                .collect::<Result<_>>()?,
            None => self.column_list().into_iter().map(|c| c.0).collect(),
        };
        let pred =
            cols.into_iter()
                .map(|c| c.is_not_null())
                .reduce(|a, b| if any { a.and(b) } else { a.or(b) });
        match pred {
            Some(p) => self.filter(p),
            None => Ok(self.clone()),
        }
    }

    /// A frame of booleans of the same shape and names: TRUE where a value is NULL.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, NULL), (NULL, 'y')) t(a, b)")?;
    /// let na = df.isna()?;
    /// assert_eq!(na.dtypes()[0].1, arrow::datatypes::DataType::Boolean);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None in practice.
    pub fn isna(&self) -> Result<DataFrame> {
        self.map_columns(|e, _, _| Ok(e.is_null()))
    }

    /// A frame of booleans: TRUE where a value is not NULL (the negation of
    /// [`DataFrame::isna`]).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, NULL), (NULL, 'y')) t(a, b)")?;
    /// assert_eq!(df.notna()?.columns(), vec!["a", "b"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None in practice.
    pub fn notna(&self) -> Result<DataFrame> {
        self.map_columns(|e, _, _| Ok(e.is_not_null()))
    }

    /// pandas' `DataFrame.where(cond, other)`: in every column, keeps a value where
    /// `cond(column)` is TRUE and puts `other` where it is FALSE or NULL (a comparison with a
    /// NULL is FALSE in pandas). `cond` gets each column's expression, so `|c| c.gt(lit(0))`
    /// tests every value, and `|_| col("a").gt(lit(0))` masks whole rows.
    ///
    /// ```
    /// use rask::{col, lit, ScalarValue};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, -2), (-3, 4)) t(a, b)")?;
    /// let pos = df.where_(|c| c.gt(lit(0i64)), lit(ScalarValue::Null))?;
    /// assert_eq!(pos.dropna(None, "any")?.count()?, 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When `cond` is not BOOLEAN for a column, or `other` does not fit a column's type
    /// (select the columns it applies to first).
    pub fn where_(&self, cond: impl Fn(Expr) -> Expr, other: Expr) -> Result<DataFrame> {
        self.replace_where(cond, other, false)
    }

    /// pandas' `DataFrame.mask(cond, other)`, the opposite of [`DataFrame::where_`]: puts
    /// `other` where `cond(column)` is TRUE, keeps the value where it is FALSE or NULL.
    ///
    /// ```
    /// use rask::lit;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, -2), (-3, 4)) t(a, b)")?;
    /// let clipped = df.mask(|c| c.lt(lit(0i64)), lit(0i64))?;
    /// assert_eq!(clipped.filter(rask::col("a").eq(lit(0i64)))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`DataFrame::where_`].
    pub fn mask(&self, cond: impl Fn(Expr) -> Expr, other: Expr) -> Result<DataFrame> {
        self.replace_where(cond, other, true)
    }

    fn replace_where(
        &self,
        cond: impl Fn(Expr) -> Expr,
        other: Expr,
        replace_when_true: bool,
    ) -> Result<DataFrame> {
        let schema = std::sync::Arc::clone(self.plan.schema());
        let ot = other.get_type(&schema)?;
        self.map_columns(|e, name, t| {
            if !fits(t, &ot) {
                return plan_err!(
                    "where/mask: column '{name}' is {t} but other '{other}' is {ot}; select \
                     the columns it applies to first"
                );
            }
            let c = cond(e.clone());
            let ct = c.get_type(&schema)?;
            if !matches!(ct, DataType::Boolean | DataType::Null) {
                return plan_err!(
                    "where/mask: the condition for column '{name}' is {ct}, not BOOLEAN"
                );
            }
            Ok(if replace_when_true {
                case_when(c, other.clone(), e)
            } else {
                case_when(c, e, other.clone())
            })
        })
    }

    /// Limits numeric columns to `[lower, upper]` (either bound optional; a NULL bound is no
    /// bound): pandas' `clip`. Non-numeric columns and NULL values are left as they are. The
    /// bounds may be any expressions (a literal, or another column).
    ///
    /// ```
    /// use rask::lit;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (7, 'y'), (12, 'z')) t(a, b)")?;
    /// let c = df.clip(Some(lit(2i64)), Some(lit(10i64)))?;
    /// assert_eq!(c.filter(rask::col("a").eq(lit(10i64)))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Bounds that are not numbers.
    pub fn clip(&self, lower: Option<Expr>, upper: Option<Expr>) -> Result<DataFrame> {
        let schema = std::sync::Arc::clone(self.plan.schema());
        for b in lower.iter().chain(&upper) {
            let t = b.get_type(&schema)?;
            if !is_numeric(&t) && t != DataType::Null {
                return plan_err!("clip: the bound '{b}' is {t}, not a number");
            }
        }
        self.map_columns(|e, _, t| {
            if !is_numeric(t) {
                return Ok(e);
            }
            let mut when_then = Vec::new();
            if let Some(l) = &lower {
                when_then.push((e.clone().lt(l.clone()), l.clone()));
            }
            if let Some(u) = &upper {
                when_then.push((e.clone().gt(u.clone()), u.clone()));
            }
            if when_then.is_empty() {
                return Ok(e);
            }
            Ok(Expr::Case {
                operand: None,
                when_then,
                else_expr: Some(Box::new(e)),
            })
        })
    }

    /// Rounds DOUBLE/FLOAT and DECIMAL columns to `decimals` places (negative: tens,
    /// hundreds, ...); other columns are left alone. Halves round away from zero, as in SQL
    /// (pandas rounds halves to even).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1.234, 7), (2.718, 8)) t(x, n)")?;
    /// let r = df.round(1)?;
    /// assert_eq!(r.filter(rask::col("x").eq(rask::lit(2.7)))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None in practice.
    pub fn round(&self, decimals: i64) -> Result<DataFrame> {
        self.map_columns(|e, _, t| {
            Ok(match t {
                DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                    crate::functions::round(e, decimals).cast(t.clone())
                }
                DataType::Decimal128(_, _) => crate::functions::round(e, decimals),
                _ => e,
            })
        })
    }

    /// Removes rows that repeat the values of `subset` (all columns when empty), keeping the
    /// first (`keep = "first"`) or last (`"last"`) of each set of duplicates in input order,
    /// or none of them (`"none"`, pandas' `keep=False`). NULLs compare equal, as in pandas.
    ///
    /// "First" and "last" follow the frame's order: rask's `first`/`last` aggregates record
    /// each row's position (partition, then row), so the choice is the same with any number
    /// of partitions and threads. The result is one group per key, in no set order (pandas
    /// keeps the input order). See also [`DataFrame::drop_duplicates`] (whole rows).
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES ('x', 1), ('y', 2), ('x', 3)) t(k, v)")?;
    /// let last = df.drop_duplicates_by(&["k"], "last")?.sort_values(&["k"], true)?;
    /// assert_eq!(last.columns(), vec!["k", "v"]);
    /// assert_eq!(last.count()?, 2); // ('x', 3), ('y', 2)
    /// assert_eq!(df.drop_duplicates_by(&["k"], "none")?.count()?, 1); // ('y', 2)
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// An unknown column, or a `keep` other than `first`, `last` and `none`.
    pub fn drop_duplicates_by(&self, subset: &[&str], keep: &str) -> Result<DataFrame> {
        let pick: fn(Expr) -> Expr = match keep {
            "first" => first,
            "last" => last,
            "none" | "false" => first,
            other => {
                return plan_err!("drop_duplicates keep='{other}': expected first, last or none")
            }
        };
        let cols = self.column_list();
        let mut is_key = vec![subset.is_empty(); cols.len()];
        for s in subset {
            is_key[self.index_of(s)?] = true;
        }
        let keys: Vec<Expr> = cols
            .iter()
            .zip(&is_key)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c.0.clone())
            .collect();
        const N: &str = "__rask_dup_count";
        let mut aggs: Vec<Expr> = cols
            .iter()
            .zip(&is_key)
            .filter(|(_, k)| !**k)
            .map(|((e, name, _), _)| pick(e.clone()).alias(name.as_str()))
            .collect();
        let none = matches!(keep, "none" | "false");
        if none {
            aggs.push(crate::functions::count_star().alias(N));
        }
        let grouped = self.groupby_exprs(keys)?.agg(aggs)?;
        let grouped = if none {
            grouped.filter(col(N).eq(rask_expr::lit(1i64)))?
        } else {
            grouped
        };
        // Back to the input's column order (keys come first out of the aggregate).
        grouped.select(cols.iter().map(|(_, n, _)| col_exact(n)).collect())
    }

    /// `(rows, columns)`. Counting the rows runs the plan (a `count(*)`, which reads no
    /// column it does not need); the column count is known without running anything.
    ///
    /// ```
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)")?;
    /// assert_eq!(df.shape()?, (2, 2));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Errors of running the count.
    pub fn shape(&self) -> Result<(usize, usize)> {
        Ok((self.count()?, self.plan.schema().len()))
    }

    /// Column names and Arrow types, in order (pandas' `dtypes`).
    ///
    /// ```
    /// use arrow::datatypes::DataType;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = rask::SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x')) t(a, b)")?;
    /// assert_eq!(df.dtypes(), vec![("a".to_string(), DataType::Int64), ("b".to_string(), DataType::Utf8)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dtypes(&self) -> Vec<(String, DataType)> {
        self.column_list()
            .into_iter()
            .map(|(_, n, t)| (n, t))
            .collect()
    }
}

/// An unqualified column by its exact name (names from a schema may contain dots).
pub(super) fn col_exact(name: &str) -> Expr {
    Expr::Column(rask_expr::Column::new(name))
}
