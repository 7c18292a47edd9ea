//! Date and time functions: `date_part` (which `EXTRACT` becomes) and `date_trunc`.
//!
//! Part names and their aliases are DuckDB's, matched case-insensitively. `date_part` gives
//! BIGINT; its calendar fields come from Arrow's temporal kernel. Timestamps count
//! microseconds; one with a time zone is read in its local time.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, Int32Array, Int64Array};
use arrow::compute::binary;
use arrow::compute::kernels::temporal::{date_part as arrow_date_part, DatePart as ArrowPart};
use arrow::datatypes::{
    DataType, Date32Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use chrono::{Datelike, NaiveDate, Weekday};
use rask_common::{exec_err, internal_err, Error, Result};

use super::{array_of, cast_strict, external, StrArg};
use crate::columnar::ColumnarValue;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A date or time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `year`
    Year,
    /// `quarter`, 1 to 4
    Quarter,
    /// `month`, 1 to 12
    Month,
    /// `week`, the ISO 8601 week, 1 to 53
    Week,
    /// `day` of the month
    Day,
    /// `dow`, 0 (Sunday) to 6
    DayOfWeek,
    /// `isodow`, 1 (Monday) to 7
    IsoDayOfWeek,
    /// `doy`, 1 to 366
    DayOfYear,
    /// `hour`
    Hour,
    /// `minute`
    Minute,
    /// `second`, without the fraction
    Second,
    /// `millisecond`: seconds and fraction in milliseconds (0 to 59999)
    Millisecond,
    /// `microsecond`: seconds and fraction in microseconds
    Microsecond,
    /// `epoch`: seconds since 1970-01-01
    Epoch,
    /// `isoyear`: the ISO 8601 week-numbering year
    IsoYear,
    /// `yearweek`: isoyear * 100 + week
    YearWeek,
    /// `decade`: year / 10
    Decade,
    /// `century`
    Century,
    /// `millennium`
    Millennium,
}

const PART_NAMES: &str = "year, quarter, month, week, day, dow, isodow, doy, hour, minute, \
second, millisecond, microsecond, epoch, isoyear, yearweek, decade, century, millennium";

const TRUNC_NAMES: &str = "millennium, century, decade, year, quarter, month, week, day, hour, \
minute, second, millisecond, microsecond";

impl Part {
    /// Parses a part name or one of DuckDB's aliases (`yr`, `mon`, `dayofweek`, ...).
    ///
    /// # Errors
    /// An execution error naming `func`, the value and the allowed names.
    pub fn parse(func: &str, name: &str) -> Result<Part> {
        use Part::*;
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "year" | "years" | "y" | "yr" | "yrs" => Year,
            "quarter" | "quarters" => Quarter,
            "month" | "months" | "mon" | "mons" => Month,
            "week" | "weeks" | "w" | "weekofyear" => Week,
            "day" | "days" | "d" | "dayofmonth" => Day,
            "dow" | "dayofweek" | "weekday" => DayOfWeek,
            "isodow" => IsoDayOfWeek,
            "doy" | "dayofyear" => DayOfYear,
            "hour" | "hours" | "h" | "hr" | "hrs" => Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => {
                Millisecond
            }
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => {
                Microsecond
            }
            "epoch" => Epoch,
            "isoyear" => IsoYear,
            "yearweek" => YearWeek,
            "decade" | "decades" | "dec" | "decs" => Decade,
            "century" | "centuries" | "cent" | "c" => Century,
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" | "millenium" => Millennium,
            _ => {
                return exec_err!(
                    "{func}(): unknown date part '{name}'; expected one of {PART_NAMES}"
                )
            }
        })
    }
}

/// A DATE or TIMESTAMP argument as DATE or TIMESTAMP(µs) array; a timestamp with a time
/// zone is read in local time (see [`super::temporal`]).
fn temporal_array(v: &ColumnarValue, n: usize) -> Result<ArrayRef> {
    match v.data_type() {
        DataType::Date32 => array_of(v, &DataType::Date32, n),
        _ => super::temporal::local_timestamps(v, n),
    }
}

/// `date_part(part, x)` for DATE or TIMESTAMP `x`, as BIGINT. A per-row `part` column is
/// supported; each distinct part is computed once for the batch.
pub fn date_part(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let (Some(part), Some(x)) = (args.first(), args.get(1)) else {
        return internal_err!("date_part() needs two arguments");
    };
    let part = StrArg::new(part)?;
    let x = temporal_array(x, n)?;
    match part {
        StrArg::Scalar(None) => Ok(new_null_array(&DataType::Int64, n)),
        StrArg::Scalar(Some(p)) => extract(&x, Part::parse("date_part", p)?),
        StrArg::Array(parts) => per_row_part(
            parts.iter(),
            &DataType::Int64,
            |p| extract(&x, p),
            "date_part",
        ),
    }
}

/// Evaluates `f` once per distinct part in `parts` and picks each row's value from the
/// results with Arrow's `interleave`; rows whose part is NULL are NULL (of type `t`).
fn per_row_part<'a>(
    parts: impl Iterator<Item = Option<&'a str>>,
    t: &DataType,
    f: impl Fn(Part) -> Result<ArrayRef>,
    func: &str,
) -> Result<ArrayRef> {
    let null = new_null_array(t, 1);
    let mut computed: Vec<(Part, ArrayRef)> = Vec::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (row, p) in parts.enumerate() {
        let Some(p) = p else {
            pairs.push((0, 0));
            continue;
        };
        let part = Part::parse(func, p)?;
        let k = match computed.iter().position(|(q, _)| *q == part) {
            Some(k) => k,
            None => {
                computed.push((part, f(part)?));
                computed.len() - 1
            }
        };
        pairs.push((k + 1, row));
    }
    let mut sources: Vec<&dyn Array> = vec![null.as_ref()];
    sources.extend(computed.iter().map(|(_, a)| a.as_ref()));
    Ok(arrow::compute::interleave(&sources, &pairs)?)
}

/// One part of every value of a DATE or TIMESTAMP(µs) array.
fn extract(x: &ArrayRef, part: Part) -> Result<ArrayRef> {
    let arrow = |p: ArrowPart| -> Result<ArrayRef> {
        cast_strict(&arrow_date_part(x.as_ref(), p)?, &DataType::Int64)
    };
    let from_year = |f: fn(i64) -> i64| -> Result<ArrayRef> {
        let year = arrow_date_part(x.as_ref(), ArrowPart::Year)?;
        Ok(Arc::new(
            year.as_primitive::<Int32Type>()
                .unary::<_, Int64Type>(|y| f(i64::from(y))),
        ))
    };
    let is_date = x.data_type() == &DataType::Date32;
    Ok(match part {
        Part::Year => arrow(ArrowPart::Year)?,
        Part::Quarter => arrow(ArrowPart::Quarter)?,
        Part::Month => arrow(ArrowPart::Month)?,
        Part::Week => arrow(ArrowPart::WeekISO)?,
        Part::Day => arrow(ArrowPart::Day)?,
        Part::DayOfWeek => arrow(ArrowPart::DayOfWeekSunday0)?,
        Part::IsoDayOfWeek => arrow(ArrowPart::DayOfWeekMonday1)?,
        Part::DayOfYear => arrow(ArrowPart::DayOfYear)?,
        // A DATE has no time of day: these are 0, like DuckDB.
        Part::Hour => arrow(ArrowPart::Hour)?,
        Part::Minute => arrow(ArrowPart::Minute)?,
        Part::Second => arrow(ArrowPart::Second)?,
        Part::IsoYear => arrow(ArrowPart::YearISO)?,
        Part::YearWeek => {
            let year = arrow_date_part(x.as_ref(), ArrowPart::YearISO)?;
            let week = arrow_date_part(x.as_ref(), ArrowPart::WeekISO)?;
            let (year, week): (&Int32Array, &Int32Array) =
                (year.as_primitive(), week.as_primitive());
            let out: Int64Array = binary(year, week, |y, w| i64::from(y) * 100 + i64::from(w))?;
            Arc::new(out)
        }
        // Integer division truncates towards zero, as in DuckDB.
        Part::Decade => from_year(|y| y / 10)?,
        Part::Century => from_year(|y| {
            if y > 0 {
                (y - 1) / 100 + 1
            } else {
                -(-y / 100 + 1)
            }
        })?,
        Part::Millennium => from_year(|y| {
            if y > 0 {
                (y - 1) / 1000 + 1
            } else {
                -(-y / 1000 + 1)
            }
        })?,
        Part::Millisecond | Part::Microsecond if is_date => {
            Arc::new(x.as_primitive::<Date32Type>().unary::<_, Int64Type>(|_| 0))
        }
        Part::Epoch if is_date => Arc::new(
            x.as_primitive::<Date32Type>()
                .unary::<_, Int64Type>(|d| i64::from(d) * 86_400),
        ),
        Part::Millisecond => Arc::new(
            x.as_primitive::<TimestampMicrosecondType>()
                .unary::<_, Int64Type>(|v| v.div_euclid(1_000).rem_euclid(60_000)),
        ),
        Part::Microsecond => Arc::new(
            x.as_primitive::<TimestampMicrosecondType>()
                .unary::<_, Int64Type>(|v| v.rem_euclid(60 * MICROS_PER_SECOND)),
        ),
        // Whole seconds, truncated towards zero (DuckDB's BIGINT epoch).
        Part::Epoch => Arc::new(
            x.as_primitive::<TimestampMicrosecondType>()
                .unary::<_, Int64Type>(|v| v / MICROS_PER_SECOND),
        ),
    })
}

/// `date_trunc(part, x)`: `x` (a TIMESTAMP) truncated to the start of its `part`. Weeks start
/// on Monday; `decade`, `century` and `millennium` truncate the year to a multiple of 10,
/// 100 and 1000 like DuckDB. `dow`, `isodow` and `doy` truncate to the day.
pub fn date_trunc(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let (Some(part), Some(x)) = (args.first(), args.get(1)) else {
        return internal_err!("date_trunc() needs two arguments");
    };
    let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
    let part = StrArg::new(part)?;
    let x = super::temporal::local_timestamps(x, n)?;
    let out = match part {
        StrArg::Scalar(None) => new_null_array(&ts, n),
        StrArg::Scalar(Some(p)) => truncate(&x, Part::parse("date_trunc", p)?)?,
        StrArg::Array(parts) => per_row_part(parts.iter(), &ts, |p| truncate(&x, p), "date_trunc")?,
    };
    if out.data_type() == t {
        Ok(out)
    } else {
        cast_strict(&out, t)
    }
}

/// Days since the epoch of the first day of the period `part` (month or longer) containing
/// day `days`.
fn period_start(days: i64, part: Part) -> Result<i64> {
    let date = i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(UNIX_EPOCH_DAYS_FROM_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt);
    let Some(date) = date else {
        return exec_err!("date_trunc(): timestamp out of range ({days} days from 1970-01-01)");
    };
    let (y, m) = (date.year(), date.month());
    let start = match part {
        Part::Year => NaiveDate::from_ymd_opt(y, 1, 1),
        Part::Quarter => NaiveDate::from_ymd_opt(y, (m - 1) / 3 * 3 + 1, 1),
        Part::Month => NaiveDate::from_ymd_opt(y, m, 1),
        Part::Decade => NaiveDate::from_ymd_opt(y / 10 * 10, 1, 1),
        Part::Century => NaiveDate::from_ymd_opt(y / 100 * 100, 1, 1),
        Part::Millennium => NaiveDate::from_ymd_opt(y / 1000 * 1000, 1, 1),
        Part::IsoYear => NaiveDate::from_isoywd_opt(date.iso_week().year(), 1, Weekday::Mon),
        _ => None,
    };
    match start {
        Some(s) => Ok(i64::from(s.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)),
        None => exec_err!("date_trunc(): cannot truncate {date} to {part:?}"),
    }
}

/// Truncates every value of a TIMESTAMP(µs) array.
fn truncate(x: &ArrayRef, part: Part) -> Result<ArrayRef> {
    let a = x.as_primitive::<TimestampMicrosecondType>();
    let unit = match part {
        Part::Microsecond => return Ok(Arc::clone(x)),
        Part::Millisecond => Some(1_000),
        Part::Second => Some(MICROS_PER_SECOND),
        Part::Minute => Some(60 * MICROS_PER_SECOND),
        Part::Hour => Some(3_600 * MICROS_PER_SECOND),
        Part::Day | Part::DayOfWeek | Part::IsoDayOfWeek | Part::DayOfYear => Some(MICROS_PER_DAY),
        _ => None,
    };
    let out_of_range = |v: i64| {
        external(Error::Execution(format!(
            "date_trunc(): timestamp out of range ({v} microseconds from 1970-01-01)"
        )))
    };
    if let Some(unit) = unit {
        let out = a.try_unary::<_, TimestampMicrosecondType, _>(|v| {
            v.checked_sub(v.rem_euclid(unit))
                .ok_or_else(|| out_of_range(v))
        })?;
        return Ok(Arc::new(out));
    }
    if part == Part::Week {
        // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
        let out = a.try_unary::<_, TimestampMicrosecondType, _>(|v| {
            let days = v.div_euclid(MICROS_PER_DAY);
            (days - (days + 3).rem_euclid(7))
                .checked_mul(MICROS_PER_DAY)
                .ok_or_else(|| out_of_range(v))
        })?;
        return Ok(Arc::new(out));
    }
    if !matches!(
        part,
        Part::Year
            | Part::Quarter
            | Part::Month
            | Part::Decade
            | Part::Century
            | Part::Millennium
            | Part::IsoYear
    ) {
        return exec_err!(
            "date_trunc(): cannot truncate to {part:?}; expected one of {TRUNC_NAMES}, isoyear"
        );
    }
    let out = a.try_unary::<_, TimestampMicrosecondType, _>(|v| {
        period_start(v.div_euclid(MICROS_PER_DAY), part)
            .map_err(external)?
            .checked_mul(MICROS_PER_DAY)
            .ok_or_else(|| out_of_range(v))
    });
    out.map(|o| Arc::new(o) as ArrayRef).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Date32Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use chrono::NaiveDate;
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;
    use crate::columnar::ColumnarValue;

    fn date(s: &str) -> i32 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
    }

    fn date_lit(s: &str) -> ColumnarValue {
        lit(ScalarValue::Date32(Some(date(s))))
    }

    fn part_of(part: &str, x: ColumnarValue) -> Option<i64> {
        call_scalar(DatePart, &[s(part), x]).as_i64()
    }

    #[test]
    fn date_part_on_dates() {
        let d = |v: &str| date_lit(v);
        // From DuckDB.
        assert_eq!(part_of("year", d("2024-03-15")), Some(2024));
        assert_eq!(part_of("month", d("2024-03-15")), Some(3));
        assert_eq!(part_of("day", d("2024-03-15")), Some(15));
        assert_eq!(part_of("quarter", d("2024-12-31")), Some(4));
        assert_eq!(part_of("doy", d("2024-12-31")), Some(366));
        assert_eq!(part_of("dow", d("2024-01-07")), Some(0));
        assert_eq!(part_of("isodow", d("2024-01-07")), Some(7));
        assert_eq!(part_of("week", d("2024-01-01")), Some(1));
        assert_eq!(part_of("week", d("2021-01-03")), Some(53));
        assert_eq!(part_of("isoyear", d("2021-01-01")), Some(2020));
        assert_eq!(part_of("yearweek", d("2024-01-01")), Some(202401));
        assert_eq!(part_of("decade", d("2023-05-05")), Some(202));
        assert_eq!(part_of("century", d("2000-05-05")), Some(20));
        assert_eq!(part_of("millennium", d("2001-01-01")), Some(3));
        assert_eq!(part_of("epoch", d("2020-01-01")), Some(1_577_836_800));
        assert_eq!(part_of("hour", d("2020-01-01")), Some(0));
        assert_eq!(part_of("YEARS", d("1999-01-01")), Some(1999));
        let col = arr(Date32Array::from(vec![
            Some(date("1969-12-31")),
            None,
            Some(date("2000-02-29")),
        ]));
        let out = call_array(DatePart, &[s("month"), col.clone()]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(12), None, Some(2)])
        );
        let out = call_array(DatePart, &[lit(ScalarValue::Utf8(None)), col]);
        assert_eq!(out.as_ref(), &Int64Array::from(vec![None, None, None]));
    }

    #[test]
    fn date_part_on_timestamps() {
        let t = ts_lit("2021-01-01 12:34:56.789");
        assert_eq!(part_of("hour", t.clone()), Some(12));
        assert_eq!(part_of("minute", t.clone()), Some(34));
        assert_eq!(part_of("second", t.clone()), Some(56));
        assert_eq!(part_of("millisecond", t.clone()), Some(56_789));
        assert_eq!(part_of("microsecond", t.clone()), Some(56_789_000));
        assert_eq!(part_of("year", t.clone()), Some(2021));
        assert_eq!(part_of("epoch", t), Some(1_609_504_496));
        let before = ts_lit("1969-12-31 23:59:58.250");
        assert_eq!(part_of("millisecond", before.clone()), Some(58_250));
        assert_eq!(part_of("second", before.clone()), Some(58));
        assert_eq!(part_of("epoch", before), Some(-1));
        assert_eq!(part_of("dow", ts_lit("2024-01-07 10:00:00")), Some(0));
        let col = arr(TimestampMicrosecondArray::from(vec![
            Some(ts("2024-05-06 07:08:09")),
            None,
            Some(ts("1999-12-31 23:59:59.999999")),
        ]));
        let out = call_array(DatePart, &[s("hour"), col.clone()]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(7), None, Some(23)])
        );
        // A part per row, including NULL parts.
        let parts = arr(StringArray::from(vec![Some("year"), Some("month"), None]));
        let out = call_array(DatePart, &[parts, col.clone()]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(2024), None, None])
        );
        let parts = arr(StringArray::from(vec![
            Some("day"),
            Some("day"),
            Some("minute"),
        ]));
        let out = call_array(DatePart, &[parts, col]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(6), None, Some(59)])
        );
    }

    #[test]
    fn date_part_string_argument_is_a_timestamp() {
        assert_eq!(part_of("month", s("2024-03-15 10:00:00")), Some(3));
    }

    #[test]
    fn unknown_parts_are_named() {
        let err = call_err(DatePart, &[s("fortnight"), date_lit("2020-01-01")]);
        assert!(err.contains("unknown date part 'fortnight'"), "{err}");
        assert!(err.contains("year, quarter, month"), "{err}");
        let err = call_err(DateTrunc, &[s("foo"), date_lit("2020-01-01")]);
        assert!(
            err.contains("date_trunc(): unknown date part 'foo'"),
            "{err}"
        );
        let err = call_err(DateTrunc, &[s("epoch"), date_lit("2020-01-01")]);
        assert!(
            err.contains("cannot truncate to Epoch; expected one of millennium"),
            "{err}"
        );
    }

    #[test]
    fn date_trunc_timestamps_and_dates() {
        let trunc = |part: &str, x: ColumnarValue| call_scalar(DateTrunc, &[s(part), x]);
        let t = ts_lit("2020-05-17 12:13:14.123456");
        let want = |v: &str| ScalarValue::TimestampMicros(Some(ts(v)));
        // From DuckDB.
        assert_eq!(trunc("quarter", t.clone()), want("2020-04-01 00:00:00"));
        assert_eq!(trunc("year", t.clone()), want("2020-01-01 00:00:00"));
        assert_eq!(trunc("month", t.clone()), want("2020-05-01 00:00:00"));
        assert_eq!(trunc("week", t.clone()), want("2020-05-11 00:00:00"));
        assert_eq!(trunc("day", t.clone()), want("2020-05-17 00:00:00"));
        assert_eq!(trunc("hour", t.clone()), want("2020-05-17 12:00:00"));
        assert_eq!(trunc("minute", t.clone()), want("2020-05-17 12:13:00"));
        assert_eq!(trunc("second", t.clone()), want("2020-05-17 12:13:14"));
        assert_eq!(
            trunc("millisecond", t.clone()),
            want("2020-05-17 12:13:14.123")
        );
        assert_eq!(
            trunc("microsecond", t.clone()),
            want("2020-05-17 12:13:14.123456")
        );
        assert_eq!(trunc("dow", t), want("2020-05-17 00:00:00"));
        assert_eq!(
            trunc("hour", ts_lit("1969-12-31 23:59:59.5")),
            want("1969-12-31 23:00:00")
        );
        assert_eq!(
            trunc("week", date_lit("2024-01-03")),
            want("2024-01-01 00:00:00")
        );
        assert_eq!(
            trunc("week", date_lit("1970-01-01")),
            want("1969-12-29 00:00:00")
        );
        assert_eq!(
            trunc("decade", date_lit("2023-01-01")),
            want("2020-01-01 00:00:00")
        );
        assert_eq!(
            trunc("century", date_lit("2023-05-05")),
            want("2000-01-01 00:00:00")
        );
        assert_eq!(
            trunc("millennium", date_lit("2023-01-01")),
            want("2000-01-01 00:00:00")
        );
        assert_eq!(
            trunc("isoyear", date_lit("2021-01-01")),
            want("2019-12-30 00:00:00")
        );
        assert_eq!(
            trunc("month", lit(ScalarValue::Date32(None))),
            ScalarValue::TimestampMicros(None)
        );
        for part in ["second", "week", "year"] {
            let min = lit(ScalarValue::TimestampMicros(Some(i64::MIN)));
            let err = call_err(DateTrunc, &[s(part), min]);
            assert!(err.contains("out of range"), "{part}: {err}");
        }
        let col = arr(Date32Array::from(vec![
            Some(date("2024-08-20")),
            None,
            Some(date("1900-03-01")),
        ]));
        let out = call_array(DateTrunc, &[s("quarter"), col.clone()]);
        let want_col = TimestampMicrosecondArray::from(vec![
            Some(ts("2024-07-01 00:00:00")),
            None,
            Some(ts("1900-01-01 00:00:00")),
        ]);
        assert_eq!(out.as_ref(), &want_col);
        let parts = arr(StringArray::from(vec![
            Some("year"),
            Some("day"),
            Some("month"),
        ]));
        let out = call_array(DateTrunc, &[parts, col]);
        let want_col = TimestampMicrosecondArray::from(vec![
            Some(ts("2024-01-01 00:00:00")),
            None,
            Some(ts("1900-03-01 00:00:00")),
        ]);
        assert_eq!(out.as_ref(), &want_col);
    }
}
