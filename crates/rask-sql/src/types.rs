//! SQL types and literals: the Arrow type of a SQL type name, and the [`ScalarValue`] of a
//! number, typed string or interval literal (DuckDB's typing rules).

use arrow::datatypes::{DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit};
use rask_common::{not_impl_err, plan_err, Error, Result, ScalarValue};
use sqlparser::ast::{self, ExactNumberInfo, TimezoneInfo};

/// The Arrow type of a SQL type.
///
/// | SQL | Arrow |
/// |---|---|
/// | TINYINT, SMALLINT, INTEGER/INT, BIGINT | Int8, Int16, Int32, Int64 |
/// | HUGEINT | Decimal128(38, 0) |
/// | REAL/FLOAT/FLOAT4, DOUBLE/FLOAT8 | Float32, Float64 |
/// | DECIMAL/NUMERIC (default (18, 3)) | Decimal128(p, s) |
/// | VARCHAR/TEXT/STRING/CHAR | Utf8 |
/// | DATE, TIMESTAMP/DATETIME | Date32, Timestamp(µs) |
/// | BOOLEAN, INTERVAL | Boolean, Interval(MonthDayNano) |
pub fn sql_to_arrow_type(t: &ast::DataType) -> Result<DataType> {
    use ast::DataType as S;
    Ok(match t {
        S::TinyInt(_) => DataType::Int8,
        S::SmallInt(_) | S::Int2(_) | S::Int16 => DataType::Int16,
        S::Int(_) | S::Integer(_) | S::Int4(_) | S::Int32 | S::Signed | S::SignedInteger => {
            DataType::Int32
        }
        S::BigInt(_) | S::Int8(_) | S::Int64 => DataType::Int64,
        S::HugeInt | S::Int128 => DataType::Decimal128(38, 0),
        S::UTinyInt | S::UInt8 | S::TinyIntUnsigned(_) => DataType::UInt8,
        S::USmallInt | S::UInt16 | S::SmallIntUnsigned(_) | S::Int2Unsigned(_) => DataType::UInt16,
        S::UInt32 | S::IntUnsigned(_) | S::IntegerUnsigned(_) | S::Int4Unsigned(_) => {
            DataType::UInt32
        }
        S::UBigInt | S::UInt64 | S::BigIntUnsigned(_) | S::Int8Unsigned(_) => DataType::UInt64,
        S::Real | S::Float4 | S::Float32 => DataType::Float32,
        S::Float(info) => match info {
            ExactNumberInfo::Precision(p) if *p > 24 => DataType::Float64,
            _ => DataType::Float32,
        },
        S::Double(_) | S::DoublePrecision | S::Float8 | S::Float64 => DataType::Float64,
        S::Decimal(info) | S::Numeric(info) | S::Dec(info) => decimal_type(info)?,
        S::Varchar(_)
        | S::Nvarchar(_)
        | S::Char(_)
        | S::Character(_)
        | S::CharVarying(_)
        | S::CharacterVarying(_)
        | S::Text
        | S::String(_)
        | S::Uuid => DataType::Utf8,
        S::Date => DataType::Date32,
        S::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            return not_impl_err!("TIMESTAMP WITH TIME ZONE is not supported yet")
        }
        S::Timestamp(_, _) | S::Datetime(_) | S::TimestampNtz(_) => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        S::Bool | S::Boolean => DataType::Boolean,
        S::Interval { .. } => DataType::Interval(IntervalUnit::MonthDayNano),
        S::Custom(name, _) => {
            let n = name.to_string().to_lowercase();
            match n.as_str() {
                "int1" => DataType::Int8,
                "int2" | "short" => DataType::Int16,
                "long" => DataType::Int64,
                "utinyint" => DataType::UInt8,
                "usmallint" => DataType::UInt16,
                "uinteger" | "uint" => DataType::UInt32,
                "ubigint" => DataType::UInt64,
                "hugeint" | "int128" => DataType::Decimal128(38, 0),
                "bpchar" | "name" => DataType::Utf8,
                "timestamp_us" => DataType::Timestamp(TimeUnit::Microsecond, None),
                _ => return not_impl_err!("SQL type {t} is not supported yet"),
            }
        }
        other => return not_impl_err!("SQL type {other} is not supported yet"),
    })
}

fn decimal_type(info: &ExactNumberInfo) -> Result<DataType> {
    let (p, s) = match info {
        ExactNumberInfo::None => (18, 3),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if p == 0 || p > 38 {
        return plan_err!("DECIMAL precision must be between 1 and 38, got {p}");
    }
    if s < 0 || s as u64 > p {
        return plan_err!("DECIMAL scale must be between 0 and the precision {p}, got {s}");
    }
    Ok(DataType::Decimal128(p as u8, s as i8))
}

/// The value of a numeric literal, typed like DuckDB: integers are BIGINT, `1.50` is
/// DECIMAL(3, 2) (digits as written), exponents make a DOUBLE. Values too wide for BIGINT or
/// DECIMAL(38) fall back to wider types.
pub fn number_literal(text: &str) -> Result<ScalarValue> {
    let s: String = text.chars().filter(|c| *c != '_').collect();
    let bad = || plan_err!("invalid number literal '{text}'");
    if s.contains(['e', 'E']) {
        return match s.parse::<f64>() {
            Ok(v) => Ok(ScalarValue::Float64(Some(v))),
            Err(_) => bad(),
        };
    }
    if let Some((int_part, frac)) = s.split_once('.') {
        if !int_part
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
        {
            return bad();
        }
        let scale = frac.len();
        let precision = (int_part.len() + scale).max(1);
        if precision > 38 {
            return match s.parse::<f64>() {
                Ok(v) => Ok(ScalarValue::Float64(Some(v))),
                Err(_) => bad(),
            };
        }
        let digits = format!("{int_part}{frac}");
        let digits = if digits.is_empty() {
            "0".to_string()
        } else {
            digits
        };
        return match digits.parse::<i128>() {
            Ok(v) => Ok(ScalarValue::Decimal128(
                Some(v),
                precision as u8,
                scale as i8,
            )),
            Err(_) => bad(),
        };
    }
    if !s.chars().all(|c| c.is_ascii_digit()) || s.is_empty() {
        return bad();
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(ScalarValue::Int64(Some(v)));
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.len() <= 38 {
        if let Ok(v) = trimmed.parse::<i128>() {
            return Ok(ScalarValue::Decimal128(Some(v), trimmed.len() as u8, 0));
        }
    }
    match s.parse::<f64>() {
        Ok(v) => Ok(ScalarValue::Float64(Some(v))),
        Err(_) => bad(),
    }
}

/// `-value` for a numeric literal, `None` when the value is not a number.
pub fn negate_literal(v: &ScalarValue) -> Option<ScalarValue> {
    Some(match v {
        ScalarValue::Int64(Some(x)) => match x.checked_neg() {
            Some(n) => ScalarValue::Int64(Some(n)),
            None => return None,
        },
        ScalarValue::Int32(Some(x)) => ScalarValue::Int32(Some(x.checked_neg()?)),
        ScalarValue::Float64(Some(x)) => ScalarValue::Float64(Some(-x)),
        ScalarValue::Decimal128(Some(x), p, s) => ScalarValue::Decimal128(Some(-x), *p, *s),
        ScalarValue::Interval(Some(i)) => ScalarValue::Interval(Some(IntervalMonthDayNano::new(
            -i.months,
            -i.days,
            -i.nanoseconds,
        ))),
        _ => return None,
    })
}

const NANOS_PER_SECOND: f64 = 1e9;

/// Adds `quantity` of `unit` to the interval being built.
fn add_interval_part(acc: &mut IntervalMonthDayNano, quantity: &str, unit: &str) -> Result<()> {
    let q: f64 = match quantity.parse() {
        Ok(q) => q,
        Err(_) => return plan_err!("invalid interval quantity '{quantity}'"),
    };
    let unit_l = unit.to_lowercase();
    let unit_s = unit_l
        .strip_suffix('s')
        .filter(|u| u.len() > 1)
        .unwrap_or(&unit_l);
    let whole = |q: f64, what: &str| -> Result<i32> {
        if q.fract() != 0.0 || q.abs() > i32::MAX as f64 {
            return plan_err!("interval {what} must be a whole number, got '{quantity}'");
        }
        Ok(q as i32)
    };
    let nanos = |per: f64| (q * per).round() as i64;
    match unit_s {
        "year" | "y" | "yr" | "yrs" => acc.months += whole(q * 12.0, "years")?,
        "quarter" => acc.months += whole(q * 3.0, "quarters")?,
        "decade" => acc.months += whole(q * 120.0, "decades")?,
        "century" | "centurie" => acc.months += whole(q * 1200.0, "centuries")?,
        "month" | "mon" => acc.months += whole(q, "months")?,
        "week" | "w" => acc.days += whole(q * 7.0, "weeks")?,
        "day" | "d" => acc.days += whole(q, "days")?,
        "hour" | "h" | "hr" => acc.nanoseconds += nanos(3600.0 * NANOS_PER_SECOND),
        "minute" | "min" | "m" => acc.nanoseconds += nanos(60.0 * NANOS_PER_SECOND),
        "second" | "sec" | "s" => acc.nanoseconds += nanos(NANOS_PER_SECOND),
        "millisecond" | "ms" | "msec" => acc.nanoseconds += nanos(1e6),
        "microsecond" | "us" | "usec" => acc.nanoseconds += nanos(1e3),
        _ => return plan_err!("unknown interval unit '{unit}'"),
    }
    Ok(())
}

/// The value of `INTERVAL 'text' [unit]`: `INTERVAL '3' MONTH`, `INTERVAL '90 days'`,
/// `INTERVAL '1 year 2 months'`, `INTERVAL '01:30:00'`.
pub fn interval_literal(text: &str, unit: Option<&str>) -> Result<ScalarValue> {
    let mut acc = IntervalMonthDayNano::new(0, 0, 0);
    let text = text.trim();
    if let Some(unit) = unit {
        add_interval_part(&mut acc, text, unit)?;
        return Ok(ScalarValue::Interval(Some(acc)));
    }
    let tokens = split_interval_tokens(text);
    if tokens.is_empty() {
        return plan_err!("invalid interval literal '{text}'");
    }
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.contains(':') {
            add_time_part(&mut acc, t)?;
            i += 1;
            continue;
        }
        match tokens.get(i + 1) {
            Some(unit) if !unit.contains(':') && unit.parse::<f64>().is_err() => {
                add_interval_part(&mut acc, t, unit)?;
                i += 2;
            }
            _ => {
                return plan_err!(
                    "invalid interval literal '{text}': '{t}' needs a unit such as DAY or MONTH"
                )
            }
        }
    }
    Ok(ScalarValue::Interval(Some(acc)))
}

/// Splits `'90days 3 hours'` into `["90", "days", "3", "hours"]`.
fn split_interval_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        // A number glued to its unit: `90days`.
        let split = word
            .char_indices()
            .find(|(_, c)| c.is_ascii_alphabetic())
            .map(|(i, _)| i);
        match split {
            Some(i) if i > 0 && !word.contains(':') => {
                out.push(word[..i].to_string());
                out.push(word[i..].to_string());
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

fn add_time_part(acc: &mut IntervalMonthDayNano, t: &str) -> Result<()> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let bad = || Error::Plan(format!("invalid interval time '{t}'"));
    if parts.len() < 2 || parts.len() > 3 {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
    let h = num(parts[0])?;
    let m = num(parts[1])?;
    let s = match parts.get(2) {
        Some(s) => num(s)?,
        None => 0.0,
    };
    let total = ((h * 3600.0 + m * 60.0 + s) * NANOS_PER_SECOND).round() as i64;
    acc.nanoseconds += if neg { -total } else { total };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number_literal("42").unwrap(), ScalarValue::Int64(Some(42)));
        assert_eq!(
            number_literal("0.06").unwrap(),
            ScalarValue::Decimal128(Some(6), 3, 2)
        );
        assert_eq!(
            number_literal("123.45").unwrap(),
            ScalarValue::Decimal128(Some(12345), 5, 2)
        );
        assert_eq!(
            number_literal(".5").unwrap(),
            ScalarValue::Decimal128(Some(5), 1, 1)
        );
        assert_eq!(
            number_literal("1e3").unwrap(),
            ScalarValue::Float64(Some(1000.0))
        );
        assert_eq!(
            number_literal("99999999999999999999").unwrap(),
            ScalarValue::Decimal128(Some(99999999999999999999), 20, 0)
        );
        assert!(number_literal("1.2.3").is_err());
    }

    #[test]
    fn intervals() {
        let iv = |m, d, n| ScalarValue::Interval(Some(IntervalMonthDayNano::new(m, d, n)));
        assert_eq!(interval_literal("3", Some("MONTH")).unwrap(), iv(3, 0, 0));
        assert_eq!(interval_literal("90 days", None).unwrap(), iv(0, 90, 0));
        assert_eq!(
            interval_literal("1 year 2 months", None).unwrap(),
            iv(14, 0, 0)
        );
        assert_eq!(
            interval_literal("2 hours", None).unwrap(),
            iv(0, 0, 7_200_000_000_000)
        );
        assert_eq!(
            interval_literal("1 day 01:00:00", None).unwrap(),
            iv(0, 1, 3_600_000_000_000)
        );
        assert!(interval_literal("3", None).is_err());
        assert!(interval_literal("3 fortnights", None).is_err());
    }
}
