//! Date and time functions behind the DataFrame API's `dt()` accessor: `strftime`,
//! `time_bucket` (DuckDB's) and the local-time reading shared with `date_part`/`date_trunc`.
//!
//! # Time zones
//! A TIMESTAMP with a time zone (Arrow `Timestamp(_, Some(tz))`, e.g. from Parquet or
//! `from_batches`) is read in its zone's local (wall-clock) time, as pandas' `.dt` does: the
//! hour of `2024-03-05 12:00 UTC` in `Europe/Paris` is 13. Results that are timestamps
//! (`time_bucket`, `date_trunc`) carry no zone: they are that local wall-clock time.
//! `strftime` formats in the zone, so `%z`/`%Z` work there (and are an error without one).

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{new_null_array, Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit, TimestampMicrosecondType};
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, Months, NaiveDateTime, Offset, TimeZone};
use rask_common::{exec_err, internal_err, Error, Result, ScalarValue};

use super::{array_of, cast_strict, external, StrArg};
use crate::columnar::ColumnarValue;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// TIMESTAMP(µs) without a zone.
fn naive_ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// A DATE or TIMESTAMP argument as a zone-less TIMESTAMP(µs) array of local wall-clock
/// times (see the module doc).
///
/// # Errors
/// An unknown time zone name, or a timestamp out of chrono's range.
pub(crate) fn local_timestamps(v: &ColumnarValue, n: usize) -> Result<ArrayRef> {
    let DataType::Timestamp(_, Some(tz)) = v.data_type() else {
        return array_of(v, &naive_ts(), n);
    };
    let utc = array_of(
        v,
        &DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::clone(&tz))),
        n,
    )?;
    let zone = parse_zone(&tz)?;
    let out = utc
        .as_primitive::<TimestampMicrosecondType>()
        .try_unary::<_, TimestampMicrosecondType, _>(|v| {
            let at = DateTime::from_timestamp_micros(v)
                .ok_or_else(|| external(out_of_range(v)))?
                .naive_utc();
            let offset = zone.offset_from_utc_datetime(&at).fix().local_minus_utc();
            v.checked_add(i64::from(offset) * 1_000_000)
                .ok_or_else(|| external(out_of_range(v)))
        })?
        .with_timezone_opt(None::<Arc<str>>);
    Ok(Arc::new(out))
}

fn parse_zone(tz: &str) -> Result<Tz> {
    Tz::from_str(tz).map_err(|e| Error::Execution(format!("unknown time zone '{tz}': {e}")))
}

fn out_of_range(v: i64) -> Error {
    Error::Execution(format!(
        "timestamp out of range ({v} microseconds from 1970-01-01)"
    ))
}

/// A chrono format string with `%f` read as Python and DuckDB read it (microseconds, six
/// digits) rather than chrono's nanoseconds.
fn chrono_format(fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len() + 2);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            match chars.next() {
                Some('f') => out.push_str("6f"),
                Some(d) => out.push(d),
                None => {}
            }
        }
    }
    out
}

/// The parsed items of format `fmt`.
fn format_items(fmt: &str) -> Result<Vec<Item<'static>>> {
    StrftimeItems::new(&chrono_format(fmt))
        .parse_to_owned()
        .map_err(|e| Error::Execution(format!("strftime(): invalid format '{fmt}': {e}")))
}

/// `strftime(ts, format)`: a DATE or TIMESTAMP formatted with a chrono format string
/// (<https://docs.rs/chrono/latest/chrono/format/strftime/>), which for the common fields
/// (`%Y %m %d %H %M %S %j %a %b %A %B %p %y %e`) agrees with Python's and DuckDB's; `%f` is
/// microseconds (six digits), as in both. A DATE formats as its midnight. A timestamp with a
/// time zone formats in local time and `%z`/`%Z` show its offset/zone; without one they are
/// an error.
pub fn strftime(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let (Some(x), Some(fmt)) = (args.first(), args.get(1)) else {
        return internal_err!("strftime() needs two arguments");
    };
    let zone = match x.data_type() {
        DataType::Timestamp(_, Some(tz)) => Some(parse_zone(&tz)?),
        _ => None,
    };
    // UTC instants when there is a zone (formatted through it), wall-clock times otherwise.
    let t = DataType::Timestamp(
        TimeUnit::Microsecond,
        match x.data_type() {
            DataType::Timestamp(_, tz) => tz,
            _ => None,
        },
    );
    let x = array_of(x, &t, n)?;
    let x = x.as_primitive::<TimestampMicrosecondType>();
    let fmt = StrArg::new(fmt)?;
    let constant = match fmt {
        StrArg::Scalar(None) => return Ok(new_null_array(&DataType::Utf8, n)),
        StrArg::Scalar(Some(f)) => Some(format_items(f)?),
        StrArg::Array(_) => None,
    };
    let mut b = StringBuilder::with_capacity(n, n * 20);
    let mut buf = String::new();
    for i in 0..n {
        let (true, Some(f)) = (x.is_valid(i), fmt.get(i)) else {
            b.append_null();
            continue;
        };
        let v = x.value(i);
        let owned;
        let items = match &constant {
            Some(items) => items,
            None => {
                owned = format_items(f)?;
                &owned
            }
        };
        let Some(at) = DateTime::from_timestamp_micros(v) else {
            return Err(out_of_range(v));
        };
        buf.clear();
        let written = match &zone {
            Some(z) => write!(
                buf,
                "{}",
                z.from_utc_datetime(&at.naive_utc())
                    .format_with_items(items.iter())
            ),
            None => write!(buf, "{}", at.naive_utc().format_with_items(items.iter())),
        };
        if written.is_err() {
            return exec_err!(
                "strftime(): cannot format with '{f}'{}",
                if zone.is_none() {
                    " (a time zone field such as %z or %Z needs a TIMESTAMP with a time zone)"
                } else {
                    ""
                }
            );
        }
        b.append_value(&buf);
    }
    Ok(Arc::new(b.finish()))
}

/// DuckDB's default origin for widths in days or smaller: Monday 2000-01-03.
const DAY_ORIGIN: i64 = 946_857_600_000_000;
/// DuckDB's default origin for widths in months: 2000-01-01.
const MONTH_ORIGIN: i64 = 946_684_800_000_000;

/// A bucket width: whole months, or microseconds.
#[derive(Debug, Clone, Copy)]
enum Width {
    Months(i32),
    Micros(i64),
}

fn width_of(w: IntervalMonthDayNano) -> Result<Width> {
    let micros = i64::from(w.days)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(w.nanoseconds / 1_000));
    match (w.months, micros) {
        (m, Some(0)) if m > 0 => Ok(Width::Months(m)),
        (0, Some(u)) if u > 0 => Ok(Width::Micros(u)),
        (0, _) if w.days == 0 && w.nanoseconds > 0 => exec_err!(
            "time_bucket(): a bucket width under one microsecond is not supported \
             (timestamps count microseconds)"
        ),
        (m, _) if m != 0 && (w.days != 0 || w.nanoseconds != 0) => exec_err!(
            "time_bucket(): a bucket width cannot mix months with days or time; use one of them"
        ),
        _ => exec_err!("time_bucket(): the bucket width must be positive"),
    }
}

/// A constant INTERVAL argument (`None` when NULL).
fn constant_interval(v: &ColumnarValue, what: &str) -> Result<Option<IntervalMonthDayNano>> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Interval(i)) => Ok(*i),
        ColumnarValue::Scalar(s) if s.is_null() => Ok(None),
        _ => exec_err!("time_bucket(): the {what} must be a constant INTERVAL"),
    }
}

fn months_of(v: i64) -> Result<(NaiveDateTime, i64)> {
    let at = DateTime::from_timestamp_micros(v)
        .ok_or_else(|| out_of_range(v))?
        .naive_utc();
    Ok((at, i64::from(at.year()) * 12 + i64::from(at.month0())))
}

fn add_months(at: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    let m = u32::try_from(months.unsigned_abs()).ok()?;
    if months >= 0 {
        at.checked_add_months(Months::new(m))
    } else {
        at.checked_sub_months(Months::new(m))
    }
}

/// The start of the bucket of `width` holding `v` (µs), buckets starting at `origin`.
fn bucket(v: i64, width: Width, origin: i64) -> Result<i64> {
    match width {
        Width::Micros(w) => {
            let k = v
                .checked_sub(origin)
                .map(|d| d.div_euclid(w))
                .ok_or_else(|| out_of_range(v))?;
            k.checked_mul(w)
                .and_then(|d| d.checked_add(origin))
                .ok_or_else(|| out_of_range(v))
        }
        Width::Months(w) => {
            let (_, vm) = months_of(v)?;
            let (o, om) = months_of(origin)?;
            let w = i64::from(w);
            let mut k = (vm - om).div_euclid(w);
            // The origin's day and time may put bucket k's start after `v`.
            loop {
                let Some(start) = add_months(o, k * w) else {
                    return Err(out_of_range(v));
                };
                let start = start.and_utc().timestamp_micros();
                if start <= v {
                    return Ok(start);
                }
                k -= 1;
            }
        }
    }
}

/// `time_bucket(width, x[, origin | offset])`, DuckDB's: the start of the `width`-sized
/// bucket holding `x`. Buckets start at `origin` (default: 2000-01-03, a Monday, for widths in
/// days or smaller; 2000-01-01 for widths in months) or at the default origin moved by
/// `offset`. A width mixes no months with days or time. `width`, `origin` and `offset` must
/// be constants. A DATE gives a DATE (its midnight's bucket, as a date); a timestamp gives a
/// zone-less TIMESTAMP of local time (see the module doc).
pub fn time_bucket(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let (Some(w), Some(x)) = (args.first(), args.get(1)) else {
        return internal_err!("time_bucket() needs two arguments");
    };
    let Some(width) = constant_interval(w, "bucket width")? else {
        return Ok(new_null_array(t, n));
    };
    let width = width_of(width)?;
    let default_origin = match width {
        Width::Months(_) => MONTH_ORIGIN,
        Width::Micros(_) => DAY_ORIGIN,
    };
    let origin = match args.get(2) {
        None => default_origin,
        Some(o) if matches!(o.data_type(), DataType::Interval(_)) => {
            let Some(off) = constant_interval(o, "offset")? else {
                return Ok(new_null_array(t, n));
            };
            if off.months != 0 {
                return exec_err!("time_bucket(): an offset in months is not supported");
            }
            i64::from(off.days)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|d| d.checked_add(off.nanoseconds / 1_000))
                .and_then(|d| d.checked_add(default_origin))
                .ok_or_else(|| Error::Execution("time_bucket(): offset out of range".into()))?
        }
        Some(ColumnarValue::Scalar(ScalarValue::TimestampMicros(o))) => match o {
            Some(o) => *o,
            None => return Ok(new_null_array(t, n)),
        },
        Some(ColumnarValue::Scalar(s)) if s.is_null() => return Ok(new_null_array(t, n)),
        Some(_) => return exec_err!("time_bucket(): the origin must be a constant TIMESTAMP"),
    };
    let x = local_timestamps(x, n)?;
    let out = x
        .as_primitive::<TimestampMicrosecondType>()
        .try_unary::<_, TimestampMicrosecondType, _>(|v| {
            bucket(v, width, origin).map_err(external)
        })?;
    let out: ArrayRef = Arc::new(out);
    if out.data_type() == t {
        Ok(out)
    } else {
        cast_strict(&out, t)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Date32Array, StringArray, TimestampMicrosecondArray};
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;
    use crate::columnar::ColumnarValue;

    fn interval(months: i32, days: i32, nanos: i64) -> ColumnarValue {
        lit(ScalarValue::Interval(Some(
            arrow::datatypes::IntervalMonthDayNano::new(months, days, nanos),
        )))
    }

    const MINUTE: i64 = 60_000_000_000;

    #[test]
    fn time_bucket_matches_duckdb() {
        // From DuckDB: time_bucket(INTERVAL '15 minutes', TIMESTAMP '2024-03-05 13:44:05')
        // = 13:30; '7 days' = 2024-03-04 (Mondays from 2000-01-03); '1 month' = 2024-03-01;
        // '7 days' with origin 1970-01-01 = 2024-02-29; '1 hour' of 1960-03-05 13:44:05 =
        // 13:00; '2 hours' with offset '30 minutes' = 12:30.
        let x = ts_lit("2024-03-05 13:44:05");
        let cases = [
            (interval(0, 0, 15 * MINUTE), None, "2024-03-05 13:30:00"),
            (interval(0, 7, 0), None, "2024-03-04 00:00:00"),
            (interval(1, 0, 0), None, "2024-03-01 00:00:00"),
            (
                interval(0, 7, 0),
                Some(ts_lit("1970-01-01 00:00:00")),
                "2024-02-29 00:00:00",
            ),
            (
                interval(0, 0, 120 * MINUTE),
                Some(interval(0, 0, 30 * MINUTE)),
                "2024-03-05 12:30:00",
            ),
        ];
        for (w, origin, want) in cases {
            let mut args = vec![w, x.clone()];
            args.extend(origin);
            assert_eq!(
                call_scalar(TimeBucket, &args),
                ScalarValue::TimestampMicros(Some(ts(want))),
                "{want}"
            );
        }
        assert_eq!(
            call_scalar(
                TimeBucket,
                &[interval(0, 0, 60 * MINUTE), ts_lit("1960-03-05 13:44:05")]
            ),
            ScalarValue::TimestampMicros(Some(ts("1960-03-05 13:00:00")))
        );
        // DATE in, DATE out: DuckDB time_bucket(INTERVAL '2 months', DATE '2024-03-05')
        // = 2024-03-01.
        let d = Date32Array::from(vec![Some(19787), None]);
        let out = call_array(TimeBucket, &[interval(2, 0, 0), arr(d)]);
        assert_eq!(out.as_ref(), &Date32Array::from(vec![Some(19783), None]));
        // A month origin on the 15th.
        assert_eq!(
            call_scalar(
                TimeBucket,
                &[
                    interval(1, 0, 0),
                    ts_lit("2024-03-10 00:00:00"),
                    ts_lit("2000-01-15 00:00:00")
                ]
            ),
            ScalarValue::TimestampMicros(Some(ts("2024-02-15 00:00:00")))
        );
    }

    #[test]
    fn time_bucket_errors() {
        let x = ts_lit("2024-03-05 13:44:05");
        let err = call_err(TimeBucket, &[interval(1, 1, 0), x.clone()]);
        assert!(err.contains("cannot mix months"), "{err}");
        let err = call_err(TimeBucket, &[interval(0, 0, 0), x.clone()]);
        assert!(err.contains("must be positive"), "{err}");
        let err = call_err(TimeBucket, &[interval(0, 0, 5), x]);
        assert!(err.contains("under one microsecond"), "{err}");
    }

    #[test]
    fn strftime_formats() {
        // DuckDB: strftime(TIMESTAMP '2024-03-05 13:04:05.123456', '%Y/%m/%d %H:%M:%S %a %b %j')
        // = '2024/03/05 13:04:05 Tue Mar 065'.
        assert_eq!(
            call_scalar(
                Strftime,
                &[
                    ts_lit("2024-03-05 13:04:05.123456"),
                    s("%Y/%m/%d %H:%M:%S %a %b %j")
                ]
            ),
            ScalarValue::Utf8(Some("2024/03/05 13:04:05 Tue Mar 065".into()))
        );
        assert_eq!(
            call_scalar(
                Strftime,
                &[ts_lit("2024-03-05 13:04:05.123456"), s("%S.%f %%f")]
            ),
            ScalarValue::Utf8(Some("05.123456 %f".into()))
        );
        let x = TimestampMicrosecondArray::from(vec![Some(0), None]);
        let out = call_array(Strftime, &[arr(x.clone()), s("%Y-%m-%d")]);
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("1970-01-01"), None])
        );
        // In a zone: local time, and %z works.
        let zoned = x.clone().with_timezone("Europe/Paris");
        let out = call_array(Strftime, &[arr(zoned.clone()), s("%H:%M %z")]);
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("01:00 +0100"), None])
        );
        let err = call_err(Strftime, &[arr(x), s("%H %z")]);
        assert!(err.contains("needs a TIMESTAMP with a time zone"), "{err}");
        let err = call_err(Strftime, &[ts_lit("2024-03-05 13:04:05"), s("%Q")]);
        assert!(err.contains("invalid format '%Q'"), "{err}");
        // date_part reads the local hour too (12:00 UTC is 13:00 in Paris in winter).
        let noon = TimestampMicrosecondArray::from(vec![ts("2024-03-05 12:00:00")])
            .with_timezone("Europe/Paris");
        let out = call_array(DatePart, &[s("hour"), arr(noon.clone())]);
        assert_eq!(out.as_ref(), &arrow::array::Int64Array::from(vec![13]));
        let out = call_array(DateTrunc, &[s("hour"), arr(noon)]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out.as_ref(),
            &TimestampMicrosecondArray::from(vec![ts("2024-03-05 13:00:00")])
        );
    }
}
