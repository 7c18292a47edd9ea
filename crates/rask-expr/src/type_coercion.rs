//! Type rules: the result type of every expression and the casts inserted to get there.
//!
//! The rules follow DuckDB where SQL leaves a choice, so answers can be checked against it:
//!
//! | operands | result |
//! |---|---|
//! | integer `op` integer (`+ - * %`) | BIGINT |
//! | integer `/` integer, any `/` with a float or decimal | DOUBLE |
//! | DECIMAL `+ - *` DECIMAL or integer | DECIMAL, with Arrow's precision/scale rules (overflow is an error) |
//! | float with anything numeric | DOUBLE |
//! | DATE `±` INTERVAL | DATE (TIMESTAMP when the interval has a time part) |
//! | DATE `-` DATE | BIGINT days |
//! | comparisons | both sides cast to a common type; a string literal compared with a DATE is a DATE |
//!
//! Aggregates: `count` → BIGINT; `sum` of integers → BIGINT, of DECIMAL(p,s) → DECIMAL(38,s),
//! of floats → DOUBLE; `avg`, `stddev*`, `var*`, `corr`, `median`, `quantile_cont`,
//! `covar_*` → DOUBLE; `min`, `max`,
//! `first`, `last`, `any_value` → the input type; `string_agg` → VARCHAR.

use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use rask_common::{plan_err, Result};

use crate::expr::{AggFunc, Operator};

/// True for integer types.
pub fn is_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// True for integer, float and decimal types.
pub fn is_numeric(t: &DataType) -> bool {
    is_integer(t) || is_float(t) || matches!(t, DataType::Decimal128(_, _))
}

/// True for floating point types.
pub fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

/// True for string types.
pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// True for DATE and TIMESTAMP.
pub fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    )
}

/// The decimal type that holds every value of an integer type exactly.
pub fn integer_as_decimal(t: &DataType) -> DataType {
    match t {
        DataType::Int8 | DataType::UInt8 => DataType::Decimal128(3, 0),
        DataType::Int16 | DataType::UInt16 => DataType::Decimal128(5, 0),
        DataType::Int32 | DataType::UInt32 => DataType::Decimal128(10, 0),
        _ => DataType::Decimal128(20, 0),
    }
}

/// The timestamp type rask uses.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// The type both sides of a comparison (or the branches of a CASE, or a UNION's columns) are
/// cast to.
pub fn comparison_type(l: &DataType, r: &DataType) -> Option<DataType> {
    use DataType::*;
    if l == r {
        return Some(l.clone());
    }
    Some(match (l, r) {
        (Null, t) | (t, Null) => t.clone(),
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            let s = (*s1).max(*s2);
            let int_digits = (*p1 as i16 - *s1 as i16).max(*p2 as i16 - *s2 as i16);
            let p = (int_digits + s as i16).clamp(1, 38) as u8;
            Decimal128(p, s)
        }
        (Decimal128(_, _), t) | (t, Decimal128(_, _)) if is_float(t) => Float64,
        (d @ Decimal128(_, _), t) | (t, d @ Decimal128(_, _)) if is_integer(t) => {
            comparison_type(d, &integer_as_decimal(t))?
        }
        (a, b) if is_integer(a) && is_integer(b) => Int64,
        (a, b) if is_numeric(a) && is_numeric(b) => Float64,
        (a, b) if is_string(a) && is_string(b) => Utf8,
        (Date32, Timestamp(_, _)) | (Timestamp(_, _), Date32) => timestamp_type(),
        (Timestamp(_, _), Timestamp(_, _)) => timestamp_type(),
        (s, t) | (t, s) if is_string(s) && (is_temporal(t) || is_numeric(t)) => t.clone(),
        (Boolean, s) | (s, Boolean) if is_string(s) => Boolean,
        (Dictionary(_, v), t) | (t, Dictionary(_, v)) => comparison_type(v, t)?,
        _ => return None,
    })
}

/// Casts and result type of `l op r`: `(left_cast, right_cast, result)`.
pub fn binary_types(
    l: &DataType,
    op: Operator,
    r: &DataType,
) -> Result<(DataType, DataType, DataType)> {
    use DataType::*;
    if op.is_comparison() {
        let t = comparison_type(l, r).map_or_else(
            || plan_err!("cannot compare {l} with {r}: add an explicit CAST"),
            Ok,
        )?;
        return Ok((t.clone(), t, Boolean));
    }
    match op {
        Operator::And | Operator::Or => {
            for t in [l, r] {
                if !matches!(t, Boolean | Null) {
                    return plan_err!("{op} needs BOOLEAN operands, got {t}");
                }
            }
            Ok((Boolean, Boolean, Boolean))
        }
        Operator::StringConcat => Ok((Utf8, Utf8, Utf8)),
        _ => arithmetic_types(l, op, r),
    }
}

fn arithmetic_types(
    l: &DataType,
    op: Operator,
    r: &DataType,
) -> Result<(DataType, DataType, DataType)> {
    use DataType::*;
    let interval = Interval(IntervalUnit::MonthDayNano);
    match (l, r) {
        (Null, Null) => return Ok((Int64, Int64, Int64)),
        (Null, t) | (t, Null) if is_numeric(t) => return arithmetic_types(t, op, t),
        (Date32, Interval(_)) if matches!(op, Operator::Plus | Operator::Minus) => {
            return Ok((Date32, interval, Date32))
        }
        (Interval(_), Date32) if op == Operator::Plus => return Ok((interval, Date32, Date32)),
        (Timestamp(_, _), Interval(_)) if matches!(op, Operator::Plus | Operator::Minus) => {
            return Ok((timestamp_type(), interval, timestamp_type()))
        }
        (Date32, Date32) if op == Operator::Minus => return Ok((Date32, Date32, Int64)),
        (Date32, t) if is_integer(t) && matches!(op, Operator::Plus | Operator::Minus) => {
            return Ok((Date32, Int64, Date32))
        }
        (Interval(_), Interval(_)) if matches!(op, Operator::Plus | Operator::Minus) => {
            return Ok((interval.clone(), interval.clone(), interval))
        }
        _ => {}
    }
    if !is_numeric(l) || !is_numeric(r) {
        return plan_err!(
            "cannot apply '{op}' to {l} and {r}: arithmetic needs numbers (or date/interval); \
             CAST the operand explicitly"
        );
    }
    if op == Operator::Divide {
        return Ok((Float64, Float64, Float64));
    }
    if is_float(l) || is_float(r) {
        return Ok((Float64, Float64, Float64));
    }
    if is_integer(l) && is_integer(r) {
        return Ok((Int64, Int64, Int64));
    }
    // At least one decimal: cast an integer side to a decimal, keep each decimal's own type.
    let lt = if is_integer(l) {
        integer_as_decimal(l)
    } else {
        l.clone()
    };
    let rt = if is_integer(r) {
        integer_as_decimal(r)
    } else {
        r.clone()
    };
    let result = decimal_arithmetic_type(&lt, op, &rt)?;
    Ok((lt, rt, result))
}

/// Result type of a decimal operation, computed by the Arrow kernel itself on empty inputs so
/// that planning and execution can never disagree.
fn decimal_arithmetic_type(l: &DataType, op: Operator, r: &DataType) -> Result<DataType> {
    use arrow::compute::kernels::numeric;
    let a = arrow::array::new_empty_array(l);
    let b = arrow::array::new_empty_array(r);
    let out = match op {
        Operator::Plus => numeric::add(&a, &b),
        Operator::Minus => numeric::sub(&a, &b),
        Operator::Multiply => numeric::mul(&a, &b),
        Operator::Divide => numeric::div(&a, &b),
        Operator::Modulo => numeric::rem(&a, &b),
        _ => return plan_err!("cannot apply {op} to {l} and {r}"),
    };
    match out {
        Ok(arr) => Ok(arr.data_type().clone()),
        Err(e) => plan_err!("cannot apply {op} to {l} and {r}: {e}"),
    }
}

/// Return type of an aggregate over arguments of the given types.
pub fn aggregate_return_type(func: AggFunc, args: &[DataType]) -> Result<DataType> {
    use DataType::*;
    let first = || {
        args.first()
            .cloned()
            .map_or_else(|| plan_err!("{}() needs an argument", func.name()), Ok)
    };
    Ok(match func {
        AggFunc::Count | AggFunc::CountStar => Int64,
        AggFunc::Sum => match first()? {
            t if is_integer(&t) => Int64,
            Decimal128(_, s) => Decimal128(38, s),
            t if is_float(&t) => Float64,
            Null => Int64,
            t => return plan_err!("sum() of {t} is not defined: cast to a number"),
        },
        AggFunc::Avg
        | AggFunc::StddevSamp
        | AggFunc::StddevPop
        | AggFunc::VarSamp
        | AggFunc::VarPop
        | AggFunc::Median
        | AggFunc::Corr => {
            for t in args {
                if !is_numeric(t) && t != &Null {
                    return plan_err!("{}() of {t} is not defined: cast to a number", func.name());
                }
            }
            if func == AggFunc::Corr && args.len() != 2 {
                return plan_err!("corr() takes two arguments");
            }
            Float64
        }
        AggFunc::Min | AggFunc::Max | AggFunc::First | AggFunc::Last | AggFunc::AnyValue => {
            first()?
        }
        AggFunc::StringAgg => Utf8,
        // transform branch
        AggFunc::Quantile | AggFunc::CovarSamp | AggFunc::CovarPop => {
            for t in args {
                if !is_numeric(t) && t != &Null {
                    return plan_err!("{}() of {t} is not defined: cast to a number", func.name());
                }
            }
            if args.len() != 2 {
                return plan_err!("{}() takes two arguments", func.name());
            }
            Float64
        }
    })
}
