//! String (`.str()`) and date/time (`.dt()`) accessors on expressions, and pandas' element-wise
//! methods (`fillna`, `clip`, `round`, `isna`, `where_`, `mask`).
//!
//! Every method builds an ordinary expression over the scalar functions of
//! [`ScalarFunc`] (so SQL reaches the same code: `col("s").str().lower()` is `lower(s)`), and
//! works on VARCHAR and on dictionary-encoded (categorical) string columns, which are cast to
//! VARCHAR first.
//!
//! ```
//! use rask::{col, SessionContext};
//! use arrow::array::AsArray;
//! # fn main() -> rask::Result<()> {
//! let ctx = SessionContext::new();
//! let df = ctx.sql("SELECT * FROM (VALUES (' Ann ', TIMESTAMP '2024-03-05 13:44:05')) t(name, ts)")?;
//! let out = df
//!     .select(vec![
//!         col("name").str().strip(None).str().upper().alias("name"),
//!         col("ts").dt().floor("15min")?.alias("slot"),
//!     ])?
//!     .collect()?;
//! assert_eq!(out[0].column(0).as_string::<i32>().value(0), "ANN");
//! # Ok(())
//! # }
//! ```
//!
//! # Differences from pandas
//! * There is no list type: `str().split(sep, i)` is pandas' `str.split(sep).str[i]` (one
//!   piece), not a column of lists.
//! * Regular expressions use the Rust `regex` crate's syntax (no look-around or
//!   back-references inside patterns); replacements write groups as `\1`, not `\g<1>`.
//! * `isna`/`notna` test for NULL only: a float NaN is a value, not missing.
//! * `dt()` results are BIGINT (pandas: int32), and timestamps with a time zone are read in
//!   their local time but timestamp results (`floor`, `trunc`) carry no zone.

use rask_common::{plan_err, Result, ScalarValue};

use crate::expr::{Expr, ScalarFunc};

fn call(func: ScalarFunc, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction { func, args }
}

fn text(s: &str) -> Expr {
    Expr::Literal(ScalarValue::Utf8(Some(s.to_string())))
}

fn int(v: i64) -> Expr {
    Expr::Literal(ScalarValue::Int64(Some(v)))
}

fn opt_int(v: Option<i64>) -> Expr {
    Expr::Literal(ScalarValue::Int64(v))
}

/// The characters `strip()` removes by default: Unicode White_Space (what Python's
/// `str.strip()` removes, but for the four ASCII information separators).
const WHITESPACE: &str = " \t\n\u{b}\u{c}\r\u{85}\u{a0}\u{1680}\u{2000}\u{2001}\u{2002}\u{2003}\
\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

impl Expr {
    /// String methods, pandas' `Series.str`: `col("s").str().lower()`.
    ///
    /// ```
    /// use rask::col;
    /// assert_eq!(col("s").str().upper().to_string(), "upper(s)");
    /// ```
    pub fn str(self) -> StrAccessor {
        StrAccessor { expr: self }
    }

    /// Date and time methods, pandas' `Series.dt`: `col("ts").dt().year()`.
    ///
    /// ```
    /// use rask::col;
    /// assert_eq!(col("ts").dt().year().to_string(), "date_part('year', ts)");
    /// ```
    pub fn dt(self) -> DtAccessor {
        DtAccessor { expr: self }
    }

    /// The value, or `value` where it is NULL (pandas' `fillna`; SQL's `coalesce`).
    ///
    /// ```
    /// use rask::{col, lit, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (NULL)) t(a)")?;
    /// let out = df.select(vec![col("a").fillna(lit(0i64))])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Int64Type>().iter().collect();
    /// assert_eq!(v, [Some(1), Some(0)]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None here; when the plan is built, a `value` whose type has no common type with the
    /// column's is a plan error.
    pub fn fillna(self, value: Expr) -> Expr {
        call(ScalarFunc::Coalesce, vec![self, value])
    }

    /// Limits values to `[lower, upper]` (pandas' `clip`); a missing bound is no limit and
    /// NULL stays NULL. The result has the common type of the value and the bounds.
    ///
    /// ```
    /// use rask::{col, lit, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (-5), (3), (NULL), (12)) t(a)")?;
    /// let out = df
    ///     .select(vec![col("a").clip(Some(lit(0i64)), Some(lit(10i64)))])?
    ///     .collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Int64Type>().iter().collect();
    /// assert_eq!(v, [Some(0), Some(3), None, Some(10)]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None here; bounds that cannot be compared with the value are a plan error when the
    /// plan is built.
    pub fn clip(self, lower: Option<Expr>, upper: Option<Expr>) -> Expr {
        let mut when_then = Vec::new();
        if let Some(lo) = lower {
            when_then.push((self.clone().lt(lo.clone()), lo));
        }
        if let Some(hi) = upper {
            when_then.push((self.clone().gt(hi.clone()), hi));
        }
        if when_then.is_empty() {
            return self;
        }
        Expr::Case {
            operand: None,
            when_then,
            else_expr: Some(Box::new(self)),
        }
    }

    /// Rounds to `digits` decimal places, half away from zero (DuckDB's `round`; pandas
    /// rounds half to even); negative `digits` round to tens, hundreds, ...
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Float64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1.2345::DOUBLE), (NULL)) t(x)")?;
    /// let out = df.select(vec![col("x").round(2)])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Float64Type>().iter().collect();
    /// assert_eq!(v, [Some(1.23), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None here; a non-numeric value is a plan error when the plan is built.
    pub fn round(self, digits: i64) -> Expr {
        call(ScalarFunc::Round, vec![self, int(digits)])
    }

    /// Whether the value is NULL (pandas' `isna`; [`Expr::is_null`]). A float NaN is not
    /// NULL.
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (NULL)) t(a)")?;
    /// assert_eq!(df.filter(col("a").isna())?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn isna(self) -> Expr {
        self.is_null()
    }

    /// Whether the value is not NULL (pandas' `notna`; [`Expr::is_not_null`]).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (NULL), (3)) t(a)")?;
    /// assert_eq!(df.filter(col("a").notna())?.count()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn notna(self) -> Expr {
        self.is_not_null()
    }

    /// The value where `cond` is TRUE, else `other` (pandas' `where`; a NULL `cond` counts as
    /// FALSE, as pandas treats a missing condition).
    ///
    /// ```
    /// use rask::{col, lit, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (5), (NULL)) t(a)")?;
    /// let out = df
    ///     .select(vec![col("a").where_(col("a").gt(lit(2i64)), lit(-1i64))])?
    ///     .collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Int64Type>().iter().collect();
    /// assert_eq!(v, [Some(-1), Some(5), Some(-1)]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None here; a non-BOOLEAN `cond` or an `other` without a common type with the value is a
    /// plan error when the plan is built.
    pub fn where_(self, cond: Expr, other: Expr) -> Expr {
        Expr::Case {
            operand: None,
            when_then: vec![(cond, self)],
            else_expr: Some(Box::new(other)),
        }
    }

    /// `other` where `cond` is TRUE, else the value (pandas' `mask`, the opposite of
    /// [`Expr::where_`]; a NULL `cond` keeps the value).
    ///
    /// ```
    /// use rask::{col, lit, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1), (5), (NULL)) t(a)")?;
    /// let out = df
    ///     .select(vec![col("a").mask(col("a").gt(lit(2i64)), lit(-1i64))])?
    ///     .collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Int64Type>().iter().collect();
    /// assert_eq!(v, [Some(1), Some(-1), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Expr::where_`].
    pub fn mask(self, cond: Expr, other: Expr) -> Expr {
        Expr::Case {
            operand: None,
            when_then: vec![(cond, other)],
            else_expr: Some(Box::new(self)),
        }
    }
}

/// String methods of an expression (pandas' `Series.str`), from [`Expr::str`].
///
/// Every method returns an expression; NULL in gives NULL out. Positions count characters.
/// Patterns are Rust `regex` syntax; an invalid one is an error naming it when the query
/// runs.
#[derive(Debug, Clone)]
pub struct StrAccessor {
    expr: Expr,
}

impl StrAccessor {
    fn unary(self, func: ScalarFunc) -> Expr {
        call(func, vec![self.expr])
    }

    fn with(self, func: ScalarFunc, args: impl IntoIterator<Item = Expr>) -> Expr {
        let mut v = vec![self.expr];
        v.extend(args);
        call(func, v)
    }

    /// Lower case (`lower(s)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('AbC'), (NULL)) t(s)")?;
    /// let out = df.select(vec![col("s").str().lower()])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
    /// assert_eq!(v, [Some("abc"), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn lower(self) -> Expr {
        self.unary(ScalarFunc::Lower)
    }

    /// Upper case (`upper(s)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('AbC'), (NULL)) t(s)")?;
    /// let out = df.select(vec![col("s").str().upper()])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
    /// assert_eq!(v, [Some("ABC"), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn upper(self) -> Expr {
        self.unary(ScalarFunc::Upper)
    }

    /// Length in characters, as BIGINT (`length(s)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('héllo'), (NULL)) t(s)")?;
    /// let out = df.select(vec![col("s").str().len()])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_primitive::<Int64Type>().iter().collect();
    /// assert_eq!(v, [Some(5), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> Expr {
        self.unary(ScalarFunc::Length)
    }

    /// Whether `pat` occurs, as a literal substring (pandas' `str.contains(pat,
    /// regex=False)`; see [`StrAccessor::contains_regex`] for patterns).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('a.b'), ('ab'), (NULL)) t(s)")?;
    /// assert_eq!(df.filter(col("s").str().contains("."))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn contains(self, pat: &str) -> Expr {
        self.with(ScalarFunc::Contains, [text(pat)])
    }

    /// Whether regex `pat` matches anywhere (pandas' `str.contains(pat)`;
    /// `regexp_matches(s, pat)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('a1'), ('b'), (NULL)) t(s)")?;
    /// assert_eq!(df.filter(col("s").str().contains_regex("[0-9]"))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an invalid pattern, named in the message.
    pub fn contains_regex(self, pat: &str) -> Expr {
        self.with(ScalarFunc::RegexpMatch, [text(pat)])
    }

    /// Whether the value starts with `prefix` (pandas' `str.startswith`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('apple'), ('banana')) t(s)")?;
    /// assert_eq!(df.filter(col("s").str().startswith("ap"))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn startswith(self, prefix: &str) -> Expr {
        self.with(ScalarFunc::StartsWith, [text(prefix)])
    }

    /// Whether the value ends with `suffix` (pandas' `str.endswith`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('apple'), ('banana')) t(s)")?;
    /// assert_eq!(df.filter(col("s").str().endswith("na"))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn endswith(self, suffix: &str) -> Expr {
        self.with(ScalarFunc::EndsWith, [text(suffix)])
    }

    /// Replaces every occurrence of the literal `from` by `to` (pandas' `str.replace(from,
    /// to)`, whose `regex` defaults to false). An empty `from` changes nothing (pandas
    /// inserts `to` between characters).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('a.b.c')) t(s)")?;
    /// let out = df.select(vec![col("s").str().replace(".", "-")])?.collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "a-b-c");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn replace(self, from: &str, to: &str) -> Expr {
        self.with(ScalarFunc::Replace, [text(from), text(to)])
    }

    /// Replaces every match of regex `pat` by `rep` (pandas' `str.replace(pat, rep,
    /// regex=True)`; `regexp_replace(s, pat, rep, 'g')`). `rep` writes groups as `\1`..`\9`
    /// (`\0` is the whole match) and a backslash as `\\`; `$` is literal.
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('2024-03-05')) t(s)")?;
    /// let out = df
    ///     .select(vec![col("s").str().replace_regex(r"(\d+)-(\d+)-(\d+)", r"\3/\2/\1")])?
    ///     .collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "05/03/2024");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an invalid pattern, or a replacement naming a group the pattern
    /// lacks.
    pub fn replace_regex(self, pat: &str, rep: &str) -> Expr {
        self.with(ScalarFunc::RegexpReplace, [text(pat), text(rep), text("g")])
    }

    /// Removes leading and trailing `to_strip` characters, or whitespace when `None`
    /// (pandas' `str.strip(to_strip)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES (' \tab \n'), ('xxcxx')) t(s)")?;
    /// let out = df
    ///     .select(vec![col("s").str().strip(None), col("s").str().strip(Some("x"))])?
    ///     .collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "ab");
    /// assert_eq!(out[0].column(1).as_string::<i32>().value(1), "c");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn strip(self, to_strip: Option<&str>) -> Expr {
        self.with(ScalarFunc::Trim, [text(to_strip.unwrap_or(WHITESPACE))])
    }

    /// Removes leading `to_strip` characters, or whitespace when `None` (pandas'
    /// `str.lstrip`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('  ab  ')) t(s)")?;
    /// let out = df.select(vec![col("s").str().lstrip(None)])?.collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "ab  ");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn lstrip(self, to_strip: Option<&str>) -> Expr {
        self.with(ScalarFunc::LTrim, [text(to_strip.unwrap_or(WHITESPACE))])
    }

    /// Removes trailing `to_strip` characters, or whitespace when `None` (pandas'
    /// `str.rstrip`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('  ab  ')) t(s)")?;
    /// let out = df.select(vec![col("s").str().rstrip(None)])?.collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "  ab");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn rstrip(self, to_strip: Option<&str>) -> Expr {
        self.with(ScalarFunc::RTrim, [text(to_strip.unwrap_or(WHITESPACE))])
    }

    /// Piece `i` of the value split on `sep`: pandas' `str.split(sep).str[i]`, 0-based,
    /// negative from the end, NULL when there is no such piece (`str_split_get(s, sep, i)`).
    ///
    /// rask has no list type, so there is no `split` returning every piece (pandas'
    /// `str.split(sep)` and `expand=True`): take the pieces you need one by one. The SQL
    /// function `split_part` is DuckDB's (1-based, `''` when missing).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('a,b,c'), ('d'), (NULL)) t(s)")?;
    /// let out = df.select(vec![col("s").str().split(",", 1)])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
    /// assert_eq!(v, [Some("b"), None, None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an empty `sep` (as in Python).
    pub fn split(self, sep: &str, i: i64) -> Expr {
        self.with(ScalarFunc::StrSplitGet, [text(sep), int(i)])
    }

    /// Characters `start..stop` (pandas' `str.slice(start, stop)`, Python's
    /// `s[start:stop]`): 0-based, `stop` excluded, negative bounds count from the end, `None`
    /// is open (`str_slice(s, start, stop)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('abcdef')) t(s)")?;
    /// let out = df
    ///     .select(vec![col("s").str().slice(Some(1), Some(-1)), col("s").str().slice(Some(-2), None)])?
    ///     .collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "bcde");
    /// assert_eq!(out[0].column(1).as_string::<i32>().value(0), "ef");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// None.
    pub fn slice(self, start: Option<i64>, stop: Option<i64>) -> Expr {
        self.with(ScalarFunc::StrSlice, [opt_int(start), opt_int(stop)])
    }

    /// Whether regex `pat` matches at the start of the value (pandas' `str.match`; the match
    /// need not reach the end).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('ab1'), ('1ab'), (NULL)) t(s)")?;
    /// assert_eq!(df.filter(col("s").str().match_("[a-z]+"))?.count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an invalid pattern, named in the message.
    pub fn match_(self, pat: &str) -> Expr {
        self.with(ScalarFunc::RegexpMatch, [text(&format!(r"\A(?:{pat})"))])
    }

    /// Group `group` of the first match of regex `pat` (group 0 is the whole match, 1 the first
    /// parenthesised group), NULL when nothing matches or the group took no part (pandas'
    /// `str.extract(pat)` column `group - 1`; `str_extract(s, pat, group)`).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let df = SessionContext::new().sql("SELECT * FROM (VALUES ('id-42'), ('none')) t(s)")?;
    /// let out = df.select(vec![col("s").str().extract(r"-(\d+)", 1)])?.collect()?;
    /// let v: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
    /// assert_eq!(v, [Some("42"), None]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an invalid pattern, or a group it does not have.
    pub fn extract(self, pat: &str, group: i64) -> Expr {
        self.with(ScalarFunc::StrExtract, [text(pat), int(group)])
    }
}

/// Date and time methods of an expression (pandas' `Series.dt`), from [`Expr::dt`].
///
/// They take DATE and TIMESTAMP values of any unit. A timestamp with a time zone is read in
/// its local (wall-clock) time, as pandas does; timestamp results (`floor`, `trunc`) carry no
/// zone and hold that local time. Fields are BIGINT; NULL in gives NULL out.
#[derive(Debug, Clone)]
pub struct DtAccessor {
    expr: Expr,
}

macro_rules! date_parts {
    ($($name:ident => $part:literal, $doc:literal, $want:literal;)*) => {
        $(
            #[doc = $doc]
            ///
            /// ```
            /// use rask::{col, SessionContext};
            /// use arrow::array::AsArray;
            /// use arrow::datatypes::Int64Type;
            /// # fn main() -> rask::Result<()> {
            /// let ctx = SessionContext::new();
            /// let df = ctx.sql("SELECT TIMESTAMP '2024-03-10 13:44:05' AS ts")?;
            #[doc = concat!("let out = df.select(vec![col(\"ts\").dt().", stringify!($name), "()])?.collect()?;")]
            #[doc = concat!("assert_eq!(out[0].column(0).as_primitive::<Int64Type>().value(0), ", $want, ");")]
            /// # Ok(())
            /// # }
            /// ```
            ///
            /// # Errors
            /// None here; a value that is not a DATE or TIMESTAMP is a plan error when the plan
            /// is built.
            pub fn $name(self) -> Expr {
                self.part($part)
            }
        )*
    };
}

impl DtAccessor {
    fn part(self, part: &str) -> Expr {
        call(ScalarFunc::DatePart, vec![text(part), self.expr])
    }

    date_parts! {
        year => "year", "The year.", "2024";
        month => "month", "The month, 1 to 12.", "3";
        day => "day", "The day of the month, 1 to 31.", "10";
        hour => "hour", "The hour, 0 to 23 (0 for a DATE).", "13";
        minute => "minute", "The minute, 0 to 59.", "44";
        second => "second", "The second, 0 to 59, without the fraction.", "5";
        dayofyear => "doy", "The day of the year, 1 to 366 (pandas' `dayofyear`).", "70";
        quarter => "quarter", "The quarter, 1 to 4.", "1";
    }

    /// The day of the week, Monday = 0 to Sunday = 6 (pandas' `weekday`; SQL's
    /// `isodow - 1`; note that SQL's `dow` counts from Sunday = 0).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// use arrow::datatypes::Int64Type;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// // 2024-03-10 was a Sunday.
    /// let df = ctx.sql("SELECT TIMESTAMP '2024-03-10 13:44:05' AS ts")?;
    /// let out = df.select(vec![col("ts").dt().weekday()])?.collect()?;
    /// assert_eq!(out[0].column(0).as_primitive::<Int64Type>().value(0), 6);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`DtAccessor::year`].
    pub fn weekday(self) -> Expr {
        self.part("isodow").sub(int(1))
    }

    /// Alias of [`DtAccessor::weekday`] (pandas' `dayofweek`).
    ///
    /// ```
    /// use rask::col;
    /// assert_eq!(col("ts").dt().dayofweek(), col("ts").dt().weekday());
    /// ```
    ///
    /// # Errors
    /// As [`DtAccessor::year`].
    pub fn dayofweek(self) -> Expr {
        self.weekday()
    }

    /// The start of the `freq`-sized interval holding the value, intervals counted from
    /// 1970-01-01 (pandas' `dt.floor(freq)`; `time_bucket(width, ts, TIMESTAMP
    /// '1970-01-01')`). `freq` is a pandas fixed frequency: a count (default 1) and a unit,
    /// `D`/`d` (days), `h`/`H`, `min`/`T`, `s`/`S`, `ms`/`L`, `us`/`U`: `"1h"`, `"15min"`,
    /// `"30s"`, `"1d"`. A DATE gives a DATE.
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT TIMESTAMP '2024-03-10 13:44:05' AS ts")?;
    /// let out = df
    ///     .select(vec![col("ts").dt().floor("15min")?.dt().strftime("%H:%M:%S")])?
    ///     .collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "13:30:00");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// A plan error for a frequency that is not a positive count of a fixed unit (months,
    /// weeks anchored on a weekday and other calendar frequencies are not fixed; neither is
    /// supported by pandas' `floor`).
    pub fn floor(self, freq: &str) -> Result<Expr> {
        let micros = freq_micros(freq)?;
        let width = arrow::datatypes::IntervalMonthDayNano::new(0, 0, micros * 1_000);
        let epoch = Expr::Literal(ScalarValue::TimestampMicros(Some(0)));
        Ok(call(
            ScalarFunc::TimeBucket,
            vec![
                Expr::Literal(ScalarValue::Interval(Some(width))),
                self.expr,
                epoch,
            ],
        ))
    }

    /// The value truncated to the start of its `unit`: `"year"`, `"quarter"`, `"month"`,
    /// `"week"` (Monday), `"day"`, `"hour"`, `"minute"`, `"second"`, ... (SQL's
    /// `date_trunc(unit, ts)`; a TIMESTAMP, also for a DATE).
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT TIMESTAMP '2024-03-10 13:44:05' AS ts")?;
    /// let out = df
    ///     .select(vec![col("ts").dt().trunc("month").dt().strftime("%Y-%m-%d %H:%M")])?
    ///     .collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "2024-03-01 00:00");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an unknown unit, with the list of known ones.
    pub fn trunc(self, unit: &str) -> Expr {
        call(ScalarFunc::DateTrunc, vec![text(unit), self.expr])
    }

    /// The value formatted as VARCHAR with a chrono format string (pandas' `dt.strftime`;
    /// SQL's `strftime(ts, fmt)`): `%Y-%m-%d %H:%M:%S`, `%a`, `%b`, `%j`, ...; `%f` is
    /// microseconds (six digits) as in Python. `%z`/`%Z` need a timestamp with a time zone.
    ///
    /// ```
    /// use rask::{col, SessionContext};
    /// use arrow::array::AsArray;
    /// # fn main() -> rask::Result<()> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT DATE '2024-03-10' AS d")?;
    /// let out = df.select(vec![col("d").dt().strftime("%a %d %b %Y")])?.collect()?;
    /// assert_eq!(out[0].column(0).as_string::<i32>().value(0), "Sun 10 Mar 2024");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// When the query runs: an invalid format string.
    pub fn strftime(self, fmt: &str) -> Expr {
        call(ScalarFunc::Strftime, vec![self.expr, text(fmt)])
    }
}

/// Microseconds in a pandas fixed frequency (`"15min"`, `"1h"`, `"D"`).
fn freq_micros(freq: &str) -> Result<i64> {
    let f = freq.trim();
    let split = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
    let (count, unit) = f.split_at(split);
    let count: i64 = if count.is_empty() {
        1
    } else {
        match count.parse() {
            Ok(c) => c,
            Err(_) => return plan_err!("dt().floor(): frequency '{freq}' has a bad count"),
        }
    };
    let unit_micros: i64 = match unit.trim() {
        "D" | "d" | "day" | "days" => 86_400_000_000,
        "h" | "H" | "hour" | "hours" => 3_600_000_000,
        "min" | "T" | "minute" | "minutes" => 60_000_000,
        "s" | "S" | "sec" | "second" | "seconds" => 1_000_000,
        "ms" | "L" => 1_000,
        "us" | "U" => 1,
        other => {
            return plan_err!(
                "dt().floor(): unsupported frequency '{freq}' (unit '{other}'); use a count and \
                 one of D, h, min, s, ms, us, e.g. '15min' (calendar frequencies such as months \
                 or weeks are not fixed)"
            )
        }
    };
    match count.checked_mul(unit_micros) {
        Some(m) if m > 0 => Ok(m),
        _ => plan_err!("dt().floor(): frequency '{freq}' must be positive and not too large"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::col;

    #[test]
    fn frequencies() {
        assert_eq!(freq_micros("15min").ok(), Some(900_000_000));
        assert_eq!(freq_micros("1h").ok(), Some(3_600_000_000));
        assert_eq!(freq_micros("D").ok(), Some(86_400_000_000));
        assert_eq!(freq_micros("30s").ok(), Some(30_000_000));
        assert_eq!(freq_micros("250ms").ok(), Some(250_000));
        for bad in ["0h", "1M", "W", "1.5h", "", "99999999999999999999h"] {
            assert!(freq_micros(bad).is_err(), "{bad}");
        }
        let e = col("ts").dt().floor("2W").unwrap_err().to_string();
        assert!(e.contains("unsupported frequency '2W'"), "{e}");
    }

    #[test]
    fn expressions_read_as_sql() {
        assert_eq!(
            col("s").str().split(",", -1).to_string(),
            "str_split_get(s, ',', -1)"
        );
        assert_eq!(
            col("s").str().slice(None, Some(2)).to_string(),
            "str_slice(s, NULL, 2)"
        );
        assert_eq!(
            col("s").str().match_("a|b").to_string(),
            r"regexp_matches(s, '\A(?:a|b)')"
        );
        assert_eq!(
            col("ts").dt().weekday().to_string(),
            "date_part('isodow', ts) - 1"
        );
        assert_eq!(col("a").fillna(col("b")).to_string(), "coalesce(a, b)");
        assert_eq!(col("a").clip(None, None), col("a"));
    }
}
