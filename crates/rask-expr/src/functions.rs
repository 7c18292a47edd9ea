//! Signatures of scalar functions: the types arguments are cast to and the result type.

use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use rask_common::{plan_err, Result};

use crate::expr::ScalarFunc;
use crate::type_coercion::{comparison_type, is_numeric, timestamp_type};

/// The result type of rounding `t`: DECIMAL(p, s) becomes DECIMAL(p, 0) when rounding to an
/// integer, or DECIMAL(p + 1, s) when rounding to a number of digits; other types stay.
fn rounded_decimal(t: &DataType, with_digits: bool) -> DataType {
    match t {
        DataType::Decimal128(p, s) if *s > 0 && !with_digits => DataType::Decimal128(*p, 0),
        DataType::Decimal128(p, s) if *s > 0 => DataType::Decimal128((*p + 1).min(38), *s),
        _ => t.clone(),
    }
}

/// The types each argument is cast to before `func` runs, and the result type.
///
/// # Errors
/// A plan error naming the function when the argument count or types do not fit.
pub fn signature(func: ScalarFunc, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
    use DataType::*;
    use ScalarFunc::*;
    let n = args.len();
    let arity = |lo: usize, hi: usize| -> Result<()> {
        if n < lo || n > hi {
            let want = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo} to {hi}")
            };
            return plan_err!("{}() takes {want} arguments, got {n}", func.name());
        }
        Ok(())
    };
    let num = |t: &DataType| -> Result<DataType> {
        if is_numeric(t) || t == &Null {
            Ok(t.clone())
        } else {
            plan_err!("{}() needs a number, got {t}", func.name())
        }
    };
    Ok(match func {
        Lower | Upper => {
            arity(1, 1)?;
            (vec![Utf8], Utf8)
        }
        Trim | LTrim | RTrim => {
            arity(1, 2)?;
            (vec![Utf8; n], Utf8)
        }
        Length => {
            arity(1, 1)?;
            (vec![Utf8], Int64)
        }
        Substring => {
            arity(2, 3)?;
            let mut v = vec![Utf8];
            v.extend(std::iter::repeat_n(Int64, n - 1));
            (v, Utf8)
        }
        Concat => (vec![Utf8; n], Utf8),
        StartsWith | EndsWith | Contains => {
            arity(2, 2)?;
            (vec![Utf8, Utf8], Boolean)
        }
        RegexpMatch => {
            arity(2, 3)?;
            (vec![Utf8; n], Boolean)
        }
        Replace => {
            arity(3, 3)?;
            (vec![Utf8, Utf8, Utf8], Utf8)
        }
        SplitPart => {
            arity(3, 3)?;
            (vec![Utf8, Utf8, Int64], Utf8)
        }
        Coalesce | Greatest | Least => {
            if n == 0 {
                return plan_err!("{}() needs at least one argument", func.name());
            }
            let mut t = args[0].clone();
            for a in &args[1..] {
                t = match comparison_type(&t, a) {
                    Some(t) => t,
                    None => {
                        return plan_err!(
                            "{}() arguments have incompatible types {t} and {a}",
                            func.name()
                        )
                    }
                };
            }
            (vec![t.clone(); n], t)
        }
        NullIf => {
            arity(2, 2)?;
            let t = match comparison_type(&args[0], &args[1]) {
                Some(t) => t,
                None => return plan_err!("nullif() arguments have incompatible types"),
            };
            (vec![t.clone(), t.clone()], t)
        }
        Abs => {
            arity(1, 1)?;
            let t = num(&args[0])?;
            (vec![t.clone()], t)
        }
        // Like DuckDB, rounding a DECIMAL(p, s) to an integer gives DECIMAL(p, 0): the rounded
        // value can have one more integer digit (99.5 -> 100), which the dropped scale makes
        // room for.
        Floor | Ceil => {
            arity(1, 1)?;
            let t = num(&args[0])?;
            (vec![t.clone()], rounded_decimal(&t, false))
        }
        Round => {
            arity(1, 2)?;
            let t = num(&args[0])?;
            let mut v = vec![t.clone()];
            if n == 2 {
                v.push(Int64);
            }
            // With a digits argument the scale stays (it is not known when planning), so
            // the precision grows by one for the possible carry (99.99 -> 100.00).
            (v, rounded_decimal(&t, n == 2))
        }
        Power => {
            arity(2, 2)?;
            (vec![Float64, Float64], Float64)
        }
        Sqrt | Ln | Exp | Log10 => {
            arity(1, 1)?;
            num(&args[0])?;
            (vec![Float64], Float64)
        }
        DatePart => {
            arity(2, 2)?;
            let t = match &args[1] {
                Date32 => Date32,
                // The zone is kept, so that fields are read in local time (see `local_time`).
                Timestamp(_, tz) => Timestamp(TimeUnit::Microsecond, tz.clone()),
                t if crate::type_coercion::is_string(t) => timestamp_type(),
                t => return plan_err!("date_part() needs a DATE or TIMESTAMP, got {t}"),
            };
            (vec![Utf8, t], Int64)
        }
        DateTrunc => {
            arity(2, 2)?;
            let t = match &args[1] {
                Timestamp(_, tz) => Timestamp(TimeUnit::Microsecond, tz.clone()),
                _ => timestamp_type(),
            };
            (vec![Utf8, t], timestamp_type())
        }
        // accessors branch
        RegexpExtract => {
            arity(2, 4)?;
            let mut v = vec![Utf8, Utf8];
            if n >= 3 {
                v.push(Int64);
            }
            if n == 4 {
                v.push(Utf8);
            }
            (v, Utf8)
        }
        StrExtract => {
            arity(2, 3)?;
            let mut v = vec![Utf8, Utf8];
            if n == 3 {
                v.push(Int64);
            }
            (v, Utf8)
        }
        RegexpReplace => {
            arity(3, 4)?;
            (vec![Utf8; n], Utf8)
        }
        Strftime => {
            arity(2, 2)?;
            (vec![local_timestamp(func, &args[0])?, Utf8], Utf8)
        }
        TimeBucket => {
            arity(2, 3)?;
            let width = match &args[0] {
                Interval(_) | Null => Interval(IntervalUnit::MonthDayNano),
                t if crate::type_coercion::is_string(t) => Interval(IntervalUnit::MonthDayNano),
                t => return plan_err!("time_bucket() needs an INTERVAL bucket width, got {t}"),
            };
            // DATE in, DATE out (like DuckDB); timestamps come out without a zone.
            let (x, result) = match &args[1] {
                Date32 => (Date32, Date32),
                t => (local_timestamp(func, t)?, timestamp_type()),
            };
            let mut v = vec![width, x];
            if n == 3 {
                v.push(match &args[2] {
                    Interval(_) => Interval(IntervalUnit::MonthDayNano),
                    Date32 | Timestamp(_, _) | Null => timestamp_type(),
                    t if crate::type_coercion::is_string(t) => timestamp_type(),
                    t => {
                        return plan_err!(
                            "time_bucket() needs an origin TIMESTAMP or an offset INTERVAL, got {t}"
                        )
                    }
                });
            }
            (v, result)
        }
        StrSplitGet => {
            arity(3, 3)?;
            (vec![Utf8, Utf8, Int64], Utf8)
        }
        StrSlice => {
            arity(1, 3)?;
            let mut v = vec![Utf8];
            v.extend(std::iter::repeat_n(Int64, n - 1));
            (v, Utf8)
        }
        // transform branch
        Hash => {
            if n == 0 {
                return plan_err!("hash() needs at least one argument");
            }
            (args.to_vec(), UInt64)
        }
    })
}

/// The type a DATE or TIMESTAMP argument is cast to when a function reads its local
/// (wall-clock) fields: TIMESTAMP in microseconds, keeping a time zone when there is one.
fn local_timestamp(func: ScalarFunc, t: &DataType) -> Result<DataType> {
    Ok(match t {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::Date32 | DataType::Date64 | DataType::Null => timestamp_type(),
        t if crate::type_coercion::is_string(t) => timestamp_type(),
        t => return plan_err!("{}() needs a DATE or TIMESTAMP, got {t}", func.name()),
    })
}
