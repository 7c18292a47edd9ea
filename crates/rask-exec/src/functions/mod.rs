//! Evaluation of scalar functions, with DuckDB's semantics.
//!
//! The planner casts every argument to the type [`rask_expr::functions::signature`] chose, so
//! each function sees fixed input types (VARCHAR as `Utf8`, integers as `Int64`, ...) and
//! produces exactly the promised result type. Work is done a batch at a time with Arrow
//! kernels where Arrow has one; the rest are tight loops in the same style. A constant
//! argument (a literal pattern, separator or date part) is used as it is, never repeated into
//! an array. When every argument is a constant the result is a constant too, which is how
//! constant folding evaluates calls.
//!
//! NULL in any argument gives NULL, except in `coalesce` (the first non-NULL value), `concat`
//! (NULLs are skipped), `greatest`/`least` (NULLs are ignored) and `str_slice` (a NULL bound is
//! an omitted one).
//!
//! | module | functions |
//! |---|---|
//! | [`string`] | lower, upper, length, substring, trim/ltrim/rtrim, concat, starts_with, ends_with, contains, replace, split_part, regexp_matches |
//! | [`math`] | abs, round, floor, ceil, power, sqrt, ln, exp, log10 |
//! | [`datetime`] | date_part (and EXTRACT), date_trunc |
//! | [`conditional`] | coalesce, nullif, greatest, least |
//! | [`regexp`] | regexp_extract, regexp_replace, str_extract |
//! | [`temporal`] | strftime, time_bucket (and reading zoned timestamps in local time) |
//! | [`python_string`] | str_split_get, str_slice (Python's 0-based, negative-from-the-end indexing) |

pub mod conditional;
pub mod datetime;
pub mod math;
pub mod python_string;
pub mod regexp;
pub mod string;
pub mod temporal;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Datum, Int64Array, Scalar, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::DataType;
use rask_common::{internal_err, Error, Result, ScalarValue};
use rask_expr::ScalarFunc;

use crate::columnar::ColumnarValue;

/// Evaluates `func` over arguments already cast to the types chosen by
/// [`rask_expr::functions::signature`]; `return_type` is the type it promised.
///
/// `num_rows` is the batch length; the result is a [`ColumnarValue::Scalar`] when every
/// argument is one.
///
/// # Errors
/// An execution error for bad data (an unknown date part, an invalid regular expression,
/// integer overflow in `abs` or `round`).
pub fn evaluate_function(
    func: ScalarFunc,
    args: &[ColumnarValue],
    return_type: &DataType,
    num_rows: usize,
) -> Result<ColumnarValue> {
    use ScalarFunc::*;
    // Calls whose arguments are all untyped NULLs (`abs(NULL)`, `coalesce(NULL, NULL)`).
    if return_type == &DataType::Null {
        return Ok(ColumnarValue::Scalar(ScalarValue::Null));
    }
    let all_scalar = args.iter().all(|a| a.as_scalar().is_some());
    let n = if all_scalar { 1 } else { num_rows };
    let out = match func {
        Lower => string::lower(args, n)?,
        Upper => string::upper(args, n)?,
        Length => string::length(args, n)?,
        Substring => string::substring(args, n)?,
        Trim => string::trim(args, n, string::TrimSide::Both)?,
        LTrim => string::trim(args, n, string::TrimSide::Left)?,
        RTrim => string::trim(args, n, string::TrimSide::Right)?,
        Concat => string::concat(args, n)?,
        StartsWith | EndsWith | Contains => string::string_predicate(func, args, n)?,
        Replace => string::replace(args, n)?,
        SplitPart => string::split_part(args, n)?,
        RegexpMatch => string::regexp_matches(args, n)?,
        Coalesce => conditional::coalesce(args, return_type, n)?,
        NullIf => conditional::nullif(args, return_type, n)?,
        Greatest => conditional::greatest_least(args, return_type, n, true)?,
        Least => conditional::greatest_least(args, return_type, n, false)?,
        Abs => math::abs(args, return_type, n)?,
        Round => math::round(args, return_type, n)?,
        Floor => math::floor_ceil(args, return_type, n, math::Rounding::Floor)?,
        Ceil => math::floor_ceil(args, return_type, n, math::Rounding::Ceil)?,
        Power => math::power(args, n)?,
        Sqrt | Ln | Exp | Log10 => math::float_unary(func, args, n)?,
        DatePart => datetime::date_part(args, n)?,
        DateTrunc => datetime::date_trunc(args, return_type, n)?,
        // accessors branch
        RegexpExtract => regexp::regexp_extract(args, n, false)?,
        StrExtract => regexp::regexp_extract(args, n, true)?,
        RegexpReplace => regexp::regexp_replace(args, n)?,
        Strftime => temporal::strftime(args, n)?,
        TimeBucket => temporal::time_bucket(args, return_type, n)?,
        StrSplitGet => python_string::str_split_get(args, n)?,
        StrSlice => python_string::str_slice(args, n)?,
        // transform branch
        Hash => hash(args, n)?,
    };
    if out.len() != n {
        return internal_err!("{}() returned {} rows for {n}", func.name(), out.len());
    }
    let out = if out.data_type() == return_type {
        out
    } else {
        cast_strict(&out, return_type)?
    };
    Ok(if all_scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(out.as_ref(), 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

/// Casts with errors (not NULLs) for values that do not fit.
fn cast_strict(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let opts = CastOptions {
        safe: false,
        format_options: Default::default(),
    };
    Ok(cast_with_options(a, to, &opts)?)
}

/// The argument as an array of `n` rows of type `t` (cast when it has another type).
pub(crate) fn array_of(v: &ColumnarValue, t: &DataType, n: usize) -> Result<ArrayRef> {
    let a = match v {
        ColumnarValue::Array(a) => Arc::clone(a),
        ColumnarValue::Scalar(s) => s.to_array(n)?,
    };
    if a.data_type() == t {
        Ok(a)
    } else {
        cast_strict(&a, t)
    }
}

/// The argument with type `t`: scalars stay scalars when a [`ScalarValue`] can hold `t`, and
/// become arrays of `n` rows otherwise.
pub(crate) fn typed(v: &ColumnarValue, t: &DataType, n: usize) -> Result<ColumnarValue> {
    Ok(match v {
        ColumnarValue::Scalar(s) if &s.data_type() == t => v.clone(),
        ColumnarValue::Scalar(s) => match s.cast_to(t) {
            Ok(c) if &c.data_type() == t => ColumnarValue::Scalar(c),
            // Types without a ScalarValue variant of their own (SMALLINT, REAL, ...).
            _ => ColumnarValue::Array(array_of(v, t, n)?),
        },
        ColumnarValue::Array(a) if a.data_type() == t => v.clone(),
        ColumnarValue::Array(a) => ColumnarValue::Array(cast_strict(a, t)?),
    })
}

/// A VARCHAR argument: a constant or a column, read without copying.
#[derive(Debug)]
pub(crate) enum StrArg<'a> {
    /// The same value on every row.
    Scalar(Option<&'a str>),
    /// One value per row.
    Array(&'a StringArray),
}

impl<'a> StrArg<'a> {
    /// Reads an argument the planner cast to VARCHAR; see [`typed`] for one that may not be.
    pub(crate) fn new(v: &'a ColumnarValue) -> Result<Self> {
        Ok(match v {
            ColumnarValue::Scalar(ScalarValue::Utf8(s)) => StrArg::Scalar(s.as_deref()),
            ColumnarValue::Scalar(s) if s.is_null() => StrArg::Scalar(None),
            ColumnarValue::Array(a) if a.data_type() == &DataType::Utf8 => {
                StrArg::Array(a.as_string::<i32>())
            }
            other => {
                return internal_err!("expected a VARCHAR argument, got {}", other.data_type())
            }
        })
    }

    /// The value of row `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrArg::Scalar(s) => *s,
            StrArg::Array(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// A BIGINT argument: a constant or a column.
#[derive(Debug)]
pub(crate) enum IntArg<'a> {
    /// The same value on every row.
    Scalar(Option<i64>),
    /// One value per row.
    Array(&'a Int64Array),
}

impl<'a> IntArg<'a> {
    /// Reads an argument the planner cast to BIGINT.
    pub(crate) fn new(v: &'a ColumnarValue) -> Result<Self> {
        Ok(match v {
            ColumnarValue::Scalar(ScalarValue::Int64(x)) => IntArg::Scalar(*x),
            ColumnarValue::Scalar(ScalarValue::Int32(x)) => IntArg::Scalar(x.map(i64::from)),
            ColumnarValue::Scalar(s) if s.is_null() => IntArg::Scalar(None),
            ColumnarValue::Array(a) if a.data_type() == &DataType::Int64 => {
                IntArg::Array(a.as_primitive())
            }
            other => return internal_err!("expected a BIGINT argument, got {}", other.data_type()),
        })
    }

    /// The value of row `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<i64> {
        match self {
            IntArg::Scalar(s) => *s,
            IntArg::Array(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The argument as a kernel operand: a constant stays a one-row [`Scalar`].
pub(crate) fn datum(v: &ColumnarValue) -> Result<Box<dyn Datum>> {
    Ok(match v {
        ColumnarValue::Array(a) => Box::new(Arc::clone(a)),
        ColumnarValue::Scalar(s) => Box::new(Scalar::new(s.to_array(1)?)),
    })
}

/// Wraps an error raised inside an Arrow closure so that it comes out as itself.
pub(crate) fn external(e: Error) -> arrow::error::ArrowError {
    arrow::error::ArrowError::ExternalError(Box::new(e))
}

// transform branch

/// `hash(a, b, ...)`: the engine's row hash of the arguments ([`crate::hash::hash_rows`],
/// NULLs included), mixed once more so that it is independent of the hash partitioning of
/// the same columns. The same on every worker, partitioning and run.
fn hash(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let cols = args
        .iter()
        .map(|a| match a {
            ColumnarValue::Array(a) => Ok(Arc::clone(a)),
            ColumnarValue::Scalar(s) => s.to_array(n),
        })
        .collect::<Result<Vec<_>>>()?;
    let hashes = crate::hash::hash_rows(&cols, n)?;
    Ok(Arc::new(arrow::array::UInt64Array::from_iter_values(
        hashes.into_iter().map(crate::hash::mix64),
    )))
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the function tests.

    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::DataType;
    use rask_common::{Result, ScalarValue};
    use rask_expr::functions::signature;
    use rask_expr::ScalarFunc;

    use super::evaluate_function;
    use crate::columnar::ColumnarValue;

    /// A column argument.
    pub fn arr(a: impl arrow::array::Array + 'static) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(a))
    }

    /// A VARCHAR column.
    pub fn strs(v: &[Option<&str>]) -> ColumnarValue {
        arr(StringArray::from(v.to_vec()))
    }

    /// A constant argument.
    /// Microseconds since the epoch of `"YYYY-MM-DD HH:MM:SS[.f]"` (UTC).
    pub fn ts(s: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    /// A microsecond TIMESTAMP literal.
    pub fn ts_lit(s: &str) -> ColumnarValue {
        lit(ScalarValue::TimestampMicros(Some(ts(s))))
    }

    pub fn lit(v: ScalarValue) -> ColumnarValue {
        ColumnarValue::Scalar(v)
    }

    /// A VARCHAR constant.
    pub fn s(v: &str) -> ColumnarValue {
        lit(ScalarValue::Utf8(Some(v.to_string())))
    }

    /// A BIGINT constant.
    pub fn i(v: i64) -> ColumnarValue {
        lit(ScalarValue::Int64(Some(v)))
    }

    /// Calls `func` the way the planner does: casts the arguments to the signature's types and
    /// checks that the result has the promised type and length.
    pub fn call(func: ScalarFunc, args: &[ColumnarValue]) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let (arg_types, ret) = signature(func, &types)?;
        let n = args
            .iter()
            .find_map(|a| match a {
                ColumnarValue::Array(a) => Some(a.len()),
                ColumnarValue::Scalar(_) => None,
            })
            .unwrap_or(1);
        let args = args
            .iter()
            .zip(&arg_types)
            .map(|(a, t)| {
                if t == &DataType::Null {
                    Ok(a.clone())
                } else {
                    super::typed(a, t, n)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = evaluate_function(func, &args, &ret, n)?;
        match &out {
            ColumnarValue::Array(a) => {
                assert_eq!(a.data_type(), &ret, "{func:?} result type");
                assert_eq!(a.len(), n, "{func:?} result length");
            }
            ColumnarValue::Scalar(s) if ret != DataType::Null => {
                let a = s.to_array(1)?;
                let want = super::array_of(&ColumnarValue::Array(Arc::clone(&a)), &ret, 1)?;
                assert_eq!(a.as_ref(), want.as_ref(), "{func:?} scalar result");
            }
            ColumnarValue::Scalar(_) => {}
        }
        Ok(out)
    }

    /// Calls `func` and returns the result as an array.
    pub fn call_array(func: ScalarFunc, args: &[ColumnarValue]) -> ArrayRef {
        match call(func, args) {
            Ok(ColumnarValue::Array(a)) => a,
            Ok(ColumnarValue::Scalar(s)) => panic!("expected an array from {func:?}, got {s}"),
            Err(e) => panic!("{func:?} failed: {e}"),
        }
    }

    /// Calls `func` on constants and returns the constant result.
    pub fn call_scalar(func: ScalarFunc, args: &[ColumnarValue]) -> ScalarValue {
        match call(func, args) {
            Ok(ColumnarValue::Scalar(s)) => s,
            Ok(ColumnarValue::Array(a)) => panic!("expected a scalar from {func:?}, got {a:?}"),
            Err(e) => panic!("{func:?} failed: {e}"),
        }
    }

    /// The error message of a call that must fail.
    pub fn call_err(func: ScalarFunc, args: &[ColumnarValue]) -> String {
        match call(func, args) {
            Ok(v) => panic!("{func:?} should fail, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }
}
