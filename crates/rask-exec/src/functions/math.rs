//! Numeric functions.
//!
//! `abs`, `floor`, `ceil` and `round` keep the argument's type (DECIMAL(p, s) rounded to an
//! integer becomes DECIMAL(p, 0), rounded to digits DECIMAL(p + 1, s): see
//! [`rask_expr::functions::signature`]). Rounding is half away from zero. The others work on
//! DOUBLE with IEEE results like DuckDB: `sqrt(-1)` and `ln(-1)` are NaN, `ln(0)` is
//! `-inf`.

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, ArrowPrimitiveType, AsArray, Float64Array, PrimitiveArray,
};
use arrow::compute::{binary, try_binary};
use arrow::datatypes::{
    ArrowNativeTypeOp, DataType, Decimal128Type, Float16Type, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type,
};
use arrow::error::ArrowError;
use rask_common::{internal_err, not_impl_err, Error, Result};
use rask_expr::ScalarFunc;

use super::{array_of, cast_strict, external, IntArg};
use crate::columnar::ColumnarValue;

fn first<'a>(args: &'a [ColumnarValue], func: &str) -> Result<&'a ColumnarValue> {
    match args.first() {
        Some(a) => Ok(a),
        None => internal_err!("{func}() needs an argument"),
    }
}

/// Maps Arrow's overflow error to one that names the function and type.
fn overflow<'a>(func: &'a str, t: &'a DataType) -> impl Fn(ArrowError) -> Error + 'a {
    move |e| match e {
        ArrowError::ArithmeticOverflow(m) => {
            Error::Execution(format!("{func}(): overflow on a {t} value ({m})"))
        }
        other => Error::from(other),
    }
}

fn abs_primitive<T: ArrowPrimitiveType>(a: &dyn Array) -> Result<PrimitiveArray<T>, ArrowError> {
    a.as_primitive::<T>().try_unary(|v| {
        if v.is_lt(T::Native::ZERO) {
            v.neg_checked()
        } else {
            Ok(v)
        }
    })
}

/// `abs(x)`: errors on the one value with no absolute value in its type (`-128::TINYINT`).
pub fn abs(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let arr = array_of(first(args, "abs")?, t, n)?;
    let a = arr.as_ref();
    let out: ArrayRef = match t {
        DataType::Int8 => Arc::new(abs_primitive::<Int8Type>(a).map_err(overflow("abs", t))?),
        DataType::Int16 => Arc::new(abs_primitive::<Int16Type>(a).map_err(overflow("abs", t))?),
        DataType::Int32 => Arc::new(abs_primitive::<Int32Type>(a).map_err(overflow("abs", t))?),
        DataType::Int64 => Arc::new(abs_primitive::<Int64Type>(a).map_err(overflow("abs", t))?),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            Arc::clone(&arr)
        }
        DataType::Float16 => Arc::new(abs_primitive::<Float16Type>(a)?),
        DataType::Float32 => Arc::new(abs_primitive::<Float32Type>(a)?),
        DataType::Float64 => Arc::new(abs_primitive::<Float64Type>(a)?),
        DataType::Decimal128(p, s) => Arc::new(
            abs_primitive::<Decimal128Type>(a)
                .map_err(overflow("abs", t))?
                .with_precision_and_scale(*p, *s)?,
        ),
        other => return not_impl_err!("abs() of {other}"),
    };
    Ok(out)
}

/// How [`round_decimal`] treats the dropped digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Half away from zero.
    Round,
    /// Towards negative infinity.
    Floor,
    /// Towards positive infinity.
    Ceil,
}

fn pow10(k: i64) -> Option<i128> {
    u32::try_from(k).ok().and_then(|k| 10i128.checked_pow(k))
}

/// Rounds the unscaled decimal `v` (scale `scale`) to `digits` decimal digits and returns it
/// unscaled at `out_scale`; `None` when it does not fit in an i128.
pub fn round_decimal(
    v: i128,
    scale: i8,
    digits: i64,
    mode: Rounding,
    out_scale: i8,
) -> Option<i128> {
    let dropped = i64::from(scale) - digits;
    if dropped <= 0 {
        // Nothing to round: only the scale changes.
        let shift = i64::from(out_scale) - i64::from(scale);
        return if shift >= 0 {
            v.checked_mul(pow10(shift)?)
        } else {
            Some(pow10(-shift).map_or(0, |f| v / f))
        };
    }
    let Some(f) = pow10(dropped) else {
        // |v| < 10^38 < 10^dropped: the result is 0, or ±10^dropped for floor/ceil.
        return match (mode, v.signum()) {
            (Rounding::Floor, -1) | (Rounding::Ceil, 1) => None,
            _ => Some(0),
        };
    };
    let (mut q, r) = (v / f, v % f);
    match mode {
        Rounding::Round if r.unsigned_abs() >= f.unsigned_abs().div_ceil(2) => q += v.signum(),
        Rounding::Floor if r < 0 => q -= 1,
        Rounding::Ceil if r > 0 => q += 1,
        _ => {}
    }
    // q counts units of 10^-digits; express it at out_scale.
    let shift = i64::from(out_scale) - digits;
    if q == 0 {
        Some(0)
    } else if shift >= 0 {
        q.checked_mul(pow10(shift)?)
    } else {
        Some(pow10(-shift).map_or(0, |f| q / f))
    }
}

/// Rounds a DECIMAL column to `digits` and checks the result fits `out`.
fn round_decimal_array(
    a: &ArrayRef,
    digits: &IntArg<'_>,
    mode: Rounding,
    out: &DataType,
    func: &str,
) -> Result<ArrayRef> {
    let (DataType::Decimal128(_, scale), DataType::Decimal128(p, s)) = (a.data_type(), out) else {
        return internal_err!("{func}() on {} to {out}", a.data_type());
    };
    let (scale, p, s) = (*scale, *p, *s);
    let limit = pow10(i64::from(p)).unwrap_or(i128::MAX);
    let one = |v: i128, d: i64| -> Result<i128, ArrowError> {
        match round_decimal(v, scale, d, mode, s) {
            Some(r) if r.unsigned_abs() < limit.unsigned_abs() => Ok(r),
            _ => Err(external(Error::Execution(format!(
                "{func}(): the result does not fit in {out}"
            )))),
        }
    };
    let a = a.as_primitive::<Decimal128Type>();
    let rounded: PrimitiveArray<Decimal128Type> = match digits {
        IntArg::Scalar(Some(d)) => a.try_unary(|v| one(v, *d))?,
        IntArg::Scalar(None) => return Ok(new_null_array(out, a.len())),
        IntArg::Array(d) => try_binary(a, *d, one)?,
    };
    Ok(Arc::new(rounded.with_precision_and_scale(p, s)?))
}

/// Rounds integers to a negative number of digits (`round(1250, -2)` is 1300); other digit
/// counts leave them as they are.
fn round_integers(a: &ArrayRef, digits: &IntArg<'_>, t: &DataType) -> Result<ArrayRef> {
    if matches!(digits, IntArg::Scalar(Some(d)) if *d >= 0) {
        return Ok(Arc::clone(a));
    }
    // Exact in i128, through DECIMAL(38, 0); the cast back errors when the result overflows.
    let wide = DataType::Decimal128(38, 0);
    let d = cast_strict(a, &wide)?;
    let out = round_decimal_array(&d, digits, Rounding::Round, &wide, "round")?;
    cast_strict(&out, t).map_err(|e| match e {
        Error::Arrow(_) => Error::Execution(format!("round(): the result does not fit in {t}")),
        e => e,
    })
}

/// Rounds `y` half away from zero, where `y` is the double nearest to an exact value
/// `y + residual`: when `y` looks like a tie the residual says which way the exact value lies.
fn round_exact(y: f64, residual: f64) -> f64 {
    let tie = (y - y.trunc()).abs() == 0.5;
    if tie && residual != 0.0 && (residual > 0.0) != (y > 0.0) {
        y.trunc()
    } else {
        y.round()
    }
}

/// DuckDB's `round(double, digits)`: rounds the exact binary value half away from zero
/// (`round(2.675, 2)` is 2.67 because 2.675 is stored as 2.67499...); an infinite or NaN
/// intermediate keeps the input (or gives 0 for negative digits).
fn round_f64(x: f64, digits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let d = digits.clamp(-400, 400) as i32;
    if d < 0 {
        let m = 10f64.powi(-d);
        let y = x / m;
        // x - y * m in one rounding: its sign is that of the exact quotient minus y.
        let r = round_exact(y, (-y).mul_add(m, x)) * m;
        if r.is_finite() {
            r
        } else {
            0.0
        }
    } else {
        let m = 10f64.powi(d);
        let y = x * m;
        // The exact product is y + residual (exact while m, a power of ten up to 1e22, is).
        let r = round_exact(y, x.mul_add(m, -y)) / m;
        if r.is_finite() {
            r
        } else {
            x
        }
    }
}

/// `round(x[, digits])`.
pub fn round(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let x = first(args, "round")?;
    let digits = match args.get(1) {
        Some(d) => IntArg::new(d)?,
        None => IntArg::Scalar(Some(0)),
    };
    match x.data_type() {
        DataType::Decimal128(_, _) => {
            let a = array_of(x, &x.data_type(), n)?;
            round_decimal_array(&a, &digits, Rounding::Round, t, "round")
        }
        xt if xt.is_integer() => round_integers(&array_of(x, t, n)?, &digits, t),
        xt if xt.is_floating() => {
            // REAL and HALF are rounded as DOUBLE and cast back by the caller.
            let a = array_of(x, &DataType::Float64, n)?;
            let a = a.as_primitive::<Float64Type>();
            let out: Float64Array = match &digits {
                IntArg::Scalar(Some(0)) => a.unary(f64::round),
                IntArg::Scalar(Some(d)) => a.unary(|v| round_f64(v, *d)),
                IntArg::Scalar(None) => return Ok(new_null_array(&DataType::Float64, n)),
                IntArg::Array(d) => binary(a, *d, round_f64)?,
            };
            Ok(Arc::new(out))
        }
        other => not_impl_err!("round() of {other}"),
    }
}

/// `floor(x)` and `ceil(x)`.
pub fn floor_ceil(
    args: &[ColumnarValue],
    t: &DataType,
    n: usize,
    mode: Rounding,
) -> Result<ArrayRef> {
    let x = first(args, "floor")?;
    let name = if mode == Rounding::Floor {
        "floor"
    } else {
        "ceil"
    };
    match x.data_type() {
        DataType::Decimal128(_, _) => {
            let a = array_of(x, &x.data_type(), n)?;
            round_decimal_array(&a, &IntArg::Scalar(Some(0)), mode, t, name)
        }
        xt if xt.is_integer() => array_of(x, t, n),
        xt if xt.is_floating() => {
            let a = array_of(x, &DataType::Float64, n)?;
            let a = a.as_primitive::<Float64Type>();
            let f = if mode == Rounding::Floor {
                f64::floor
            } else {
                f64::ceil
            };
            Ok(Arc::new(a.unary::<_, Float64Type>(f)))
        }
        other => not_impl_err!("{name}() of {other}"),
    }
}

/// `power(x, y)`: IEEE `pow` (`power(0, -1)` is `inf`, `power(-8, 1/3)` NaN, like DuckDB).
pub fn power(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let (Some(x), Some(y)) = (args.first(), args.get(1)) else {
        return internal_err!("power() needs two arguments");
    };
    let f64_scalar = |v: &ColumnarValue| match v {
        ColumnarValue::Scalar(s) => Some(s.as_f64()),
        ColumnarValue::Array(_) => None,
    };
    let out: Float64Array = match (f64_scalar(x), f64_scalar(y)) {
        (Some(None), _) | (_, Some(None)) => return Ok(new_null_array(&DataType::Float64, n)),
        (Some(Some(x)), Some(Some(y))) => Float64Array::from(vec![x.powf(y); n]),
        (None, Some(Some(y))) => {
            let a = array_of(x, &DataType::Float64, n)?;
            a.as_primitive::<Float64Type>().unary(|x| x.powf(y))
        }
        (Some(Some(x)), None) => {
            let b = array_of(y, &DataType::Float64, n)?;
            b.as_primitive::<Float64Type>().unary(|y| x.powf(y))
        }
        (None, None) => {
            let a = array_of(x, &DataType::Float64, n)?;
            let b = array_of(y, &DataType::Float64, n)?;
            binary(
                a.as_primitive::<Float64Type>(),
                b.as_primitive::<Float64Type>(),
                f64::powf,
            )?
        }
    };
    Ok(Arc::new(out))
}

/// `sqrt`, `ln`, `exp`, `log10` on DOUBLE.
pub fn float_unary(func: ScalarFunc, args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let f: fn(f64) -> f64 = match func {
        ScalarFunc::Sqrt => f64::sqrt,
        ScalarFunc::Ln => f64::ln,
        ScalarFunc::Exp => f64::exp,
        ScalarFunc::Log10 => f64::log10,
        other => return internal_err!("{}() is not a unary float function", other.name()),
    };
    let a = array_of(first(args, func.name())?, &DataType::Float64, n)?;
    Ok(Arc::new(
        a.as_primitive::<Float64Type>().unary::<_, Float64Type>(f),
    ))
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array,
        UInt8Array,
    };
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;
    use super::*;

    fn dec(v: &[Option<i128>], p: u8, s: i8) -> ColumnarValue {
        arr(Decimal128Array::from(v.to_vec())
            .with_precision_and_scale(p, s)
            .unwrap())
    }

    fn dec_lit(v: i128, p: u8, s: i8) -> ColumnarValue {
        lit(ScalarValue::Decimal128(Some(v), p, s))
    }

    fn f(v: f64) -> ColumnarValue {
        lit(ScalarValue::Float64(Some(v)))
    }

    #[test]
    fn abs_types_and_overflow() {
        let out = call_array(Abs, &[arr(Int32Array::from(vec![Some(-3), None, Some(4)]))]);
        assert_eq!(
            out.as_ref(),
            &Int32Array::from(vec![Some(3), None, Some(4)])
        );
        let out = call_array(Abs, &[arr(Int16Array::from(vec![-3i16]))]);
        assert_eq!(out.as_ref(), &Int16Array::from(vec![3i16]));
        let out = call_array(Abs, &[arr(UInt8Array::from(vec![200u8]))]);
        assert_eq!(out.as_ref(), &UInt8Array::from(vec![200u8]));
        let out = call_array(Abs, &[arr(Float32Array::from(vec![-1.5f32, -0.0]))]);
        assert_eq!(out.as_ref(), &Float32Array::from(vec![1.5f32, 0.0]));
        let out = call_array(Abs, &[dec(&[Some(-1234), None], 6, 2)]);
        assert_eq!(
            out.as_ref(),
            dec(&[Some(1234), None], 6, 2)
                .into_array(2)
                .unwrap()
                .as_ref()
        );
        assert_eq!(call_scalar(Abs, &[i(-5)]), ScalarValue::Int64(Some(5)));
        assert_eq!(
            call_scalar(Abs, &[lit(ScalarValue::Null)]),
            ScalarValue::Null
        );
        let err = call_err(Abs, &[arr(Int8Array::from(vec![-128i8]))]);
        assert!(err.contains("abs(): overflow on a Int8 value"), "{err}");
        let err = call_err(Abs, &[i(i64::MIN)]);
        assert!(err.contains("overflow"), "{err}");
    }

    #[test]
    fn round_doubles_half_away_from_zero() {
        let col = arr(Float64Array::from(vec![
            Some(2.5),
            Some(-2.5),
            Some(0.4),
            None,
            Some(1234.5678),
        ]));
        let out = call_array(Round, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(3.0), Some(-3.0), Some(0.0), None, Some(1235.0)])
        );
        let out = call_array(Round, &[col.clone(), i(-2)]);
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(0.0), Some(-0.0), Some(0.0), None, Some(1200.0)])
        );
        let out = call_array(
            Round,
            &[
                col,
                arr(Int64Array::from(vec![
                    Some(0),
                    Some(1),
                    Some(0),
                    Some(1),
                    None,
                ])),
            ],
        );
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(3.0), Some(-2.5), Some(0.0), None, None])
        );
        // From DuckDB.
        for (x, d, want) in [
            (2.675, 2, 2.67),
            (-2.675, 2, -2.67),
            (0.125, 2, 0.13),
            (1.005, 2, 1.0),
            (0.045, 2, 0.04),
            (1.45, 1, 1.4),
            (8.325, 2, 8.32),
            (123456789.125, 2, 123456789.13),
            (0.1, 20, 0.1),
            (1e20, 2, 1e20),
            (1250.0, -2, 1300.0),
            (-1250.0, -2, -1300.0),
        ] {
            assert_eq!(
                call_scalar(Round, &[f(x), i(d)]),
                ScalarValue::Float64(Some(want)),
                "round({x}, {d})"
            );
        }
        assert_eq!(
            call_scalar(Round, &[f(1.5), i(400)]),
            ScalarValue::Float64(Some(1.5))
        );
        assert_eq!(
            call_scalar(Round, &[f(1e300), i(-400)]),
            ScalarValue::Float64(Some(0.0))
        );
        assert_eq!(
            call_scalar(Round, &[f(-0.5)]),
            ScalarValue::Float64(Some(-1.0))
        );
        let out = call_array(Round, &[arr(Float32Array::from(vec![1.25f32])), i(1)]);
        assert_eq!(out.as_ref(), &Float32Array::from(vec![1.3f32]));
    }

    #[test]
    fn round_integers() {
        let col = arr(Int32Array::from(vec![
            Some(1234),
            Some(1250),
            Some(-1250),
            None,
        ]));
        let out = call_array(Round, &[col.clone(), i(-2)]);
        assert_eq!(
            out.as_ref(),
            &Int32Array::from(vec![Some(1200), Some(1300), Some(-1300), None])
        );
        let out = call_array(Round, &[col.clone(), i(1)]);
        assert_eq!(
            out.as_ref(),
            &Int32Array::from(vec![Some(1234), Some(1250), Some(-1250), None])
        );
        let out = call_array(Round, &[col, i(-30)]);
        assert_eq!(
            out.as_ref(),
            &Int32Array::from(vec![Some(0), Some(0), Some(0), None])
        );
        assert_eq!(
            call_scalar(Round, &[i(15), i(-1)]),
            ScalarValue::Int64(Some(20))
        );
        let err = call_err(Round, &[arr(Int8Array::from(vec![127i8])), i(-1)]);
        assert!(err.contains("does not fit in Int8"), "{err}");
    }

    #[test]
    fn round_decimals() {
        // 1.2345, -1.2355, 99.9950, NULL as DECIMAL(6,4).
        let col = dec(&[Some(12345), Some(-12355), Some(999950), None], 6, 4);
        let out = call_array(Round, &[col.clone(), i(2)]);
        let want = dec(&[Some(12300), Some(-12400), Some(1000000), None], 7, 4);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        let out = call_array(Round, std::slice::from_ref(&col));
        let want = dec(&[Some(1), Some(-1), Some(100), None], 6, 0);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        let out = call_array(Round, &[col.clone(), i(-1)]);
        let want = dec(&[Some(0), Some(0), Some(1000000), None], 7, 4);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        let out = call_array(Round, &[col, i(9)]);
        let want = dec(&[Some(12345), Some(-12355), Some(999950), None], 7, 4);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        // From DuckDB: round(99.99) = 100, round(12.5, -1) = 10, round(-12.5) = -13.
        assert_eq!(
            call_scalar(Round, &[dec_lit(9999, 4, 2)]),
            ScalarValue::Decimal128(Some(100), 4, 0)
        );
        assert_eq!(
            call_scalar(Round, &[dec_lit(125, 3, 1), i(-1)]),
            ScalarValue::Decimal128(Some(100), 4, 1)
        );
        assert_eq!(
            call_scalar(Round, &[dec_lit(-125, 3, 1)]),
            ScalarValue::Decimal128(Some(-13), 3, 0)
        );
        // A carry past the widened precision at 38 digits is an error, not a wrong value.
        let nines = 10i128.pow(38) - 1;
        let err = call_err(Round, &[dec_lit(nines, 38, 2), i(0)]);
        assert!(err.contains("does not fit in Decimal128(38, 2)"), "{err}");
    }

    #[test]
    fn round_decimal_helper() {
        use Rounding::*;
        assert_eq!(round_decimal(-15, 1, 0, Round, 0), Some(-2));
        assert_eq!(round_decimal(-15, 1, 0, Floor, 0), Some(-2));
        assert_eq!(round_decimal(-15, 1, 0, Ceil, 0), Some(-1));
        assert_eq!(round_decimal(15, 1, 0, Ceil, 0), Some(2));
        assert_eq!(round_decimal(10, 1, 0, Ceil, 0), Some(1));
        assert_eq!(round_decimal(5, 0, -40, Round, 0), Some(0));
        assert_eq!(round_decimal(5, 0, -40, Ceil, 0), None);
        assert_eq!(round_decimal(-5, 0, -40, Floor, 0), None);
        assert_eq!(round_decimal(-5, 0, -40, Ceil, 0), Some(0));
        assert_eq!(round_decimal(123, 2, 5, Round, 3), Some(1230));
    }

    #[test]
    fn floor_ceil_types() {
        let col = arr(Float64Array::from(vec![Some(-3.7), Some(3.2), None]));
        let out = call_array(Floor, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(-4.0), Some(3.0), None])
        );
        let out = call_array(Ceil, &[col]);
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(-3.0), Some(4.0), None])
        );
        let out = call_array(Floor, &[arr(Int8Array::from(vec![5i8]))]);
        assert_eq!(out.as_ref(), &Int8Array::from(vec![5i8]));
        // -1.5, 99.5, 2.0 as DECIMAL(3,1) -> DECIMAL(3,0).
        let col = dec(&[Some(-15), Some(995), Some(20), None], 3, 1);
        let out = call_array(Floor, std::slice::from_ref(&col));
        let want = dec(&[Some(-2), Some(99), Some(2), None], 3, 0);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        let out = call_array(Ceil, &[col]);
        let want = dec(&[Some(-1), Some(100), Some(2), None], 3, 0);
        assert_eq!(out.as_ref(), want.into_array(4).unwrap().as_ref());
        assert_eq!(
            call_scalar(Floor, &[dec_lit(-37, 2, 1)]),
            ScalarValue::Decimal128(Some(-4), 2, 0)
        );
        assert_eq!(
            call_scalar(Ceil, &[f(-0.5)]),
            ScalarValue::Float64(Some(-0.0))
        );
    }

    #[test]
    fn power_and_float_functions() {
        let col = arr(Float64Array::from(vec![Some(2.0), None, Some(4.0)]));
        let out = call_array(Power, &[col.clone(), i(2)]);
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(4.0), None, Some(16.0)])
        );
        let out = call_array(Power, &[i(2), col.clone()]);
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(4.0), None, Some(16.0)])
        );
        let out = call_array(Power, &[col.clone(), col.clone()]);
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(4.0), None, Some(256.0)])
        );
        let out = call_array(Power, &[col.clone(), lit(ScalarValue::Null)]);
        assert_eq!(out.as_ref(), &Float64Array::from(vec![None, None, None]));
        assert_eq!(
            call_scalar(Power, &[i(0), i(-1)]),
            ScalarValue::Float64(Some(f64::INFINITY))
        );
        let out = call_array(Sqrt, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &Float64Array::from(vec![Some(2f64.sqrt()), None, Some(2.0)])
        );
        let out = call_array(Sqrt, &[arr(Int32Array::from(vec![9]))]);
        assert_eq!(out.as_ref(), &Float64Array::from(vec![3.0]));
        assert_eq!(call_scalar(Ln, &[f(1.0)]), ScalarValue::Float64(Some(0.0)));
        assert_eq!(
            call_scalar(Log10, &[i(1000)]),
            ScalarValue::Float64(Some(3.0))
        );
        assert_eq!(call_scalar(Exp, &[i(0)]), ScalarValue::Float64(Some(1.0)));
        // DuckDB's IEEE results outside the domain.
        assert_eq!(
            call_scalar(Ln, &[i(0)]),
            ScalarValue::Float64(Some(f64::NEG_INFINITY))
        );
        assert_eq!(
            call_scalar(Log10, &[i(0)]),
            ScalarValue::Float64(Some(f64::NEG_INFINITY))
        );
        assert!(call_scalar(Sqrt, &[i(-1)])
            .as_f64()
            .is_some_and(f64::is_nan));
        assert!(call_scalar(Ln, &[i(-1)]).as_f64().is_some_and(f64::is_nan));
        assert_eq!(
            call_scalar(Sqrt, &[lit(ScalarValue::Null)]),
            ScalarValue::Float64(None)
        );
    }
}
