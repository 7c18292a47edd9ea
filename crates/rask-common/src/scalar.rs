//! A single typed value: literals in plans, constant-folding results, statistics.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, IntervalMonthDayNanoArray,
    LargeStringArray, StringArray, StringViewArray, TimestampMicrosecondArray, UInt16Array,
    UInt32Array, UInt64Array, UInt8Array,
};
use arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit};

use crate::{Error, Result};

/// A single value of an Arrow type; `None` payloads are typed NULLs.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarValue {
    /// The untyped NULL literal.
    Null,
    /// BOOLEAN
    Boolean(Option<bool>),
    /// BIGINT (every integer literal is one; narrower columns are widened when compared).
    Int64(Option<i64>),
    /// INTEGER
    Int32(Option<i32>),
    /// DOUBLE
    Float64(Option<f64>),
    /// DECIMAL(precision, scale) holding the unscaled value.
    Decimal128(Option<i128>, u8, i8),
    /// VARCHAR
    Utf8(Option<String>),
    /// DATE, days since 1970-01-01.
    Date32(Option<i32>),
    /// TIMESTAMP, microseconds since the epoch, no time zone.
    TimestampMicros(Option<i64>),
    /// INTERVAL as months, days and nanoseconds.
    Interval(Option<IntervalMonthDayNano>),
}

impl ScalarValue {
    /// The Arrow type of this value.
    pub fn data_type(&self) -> DataType {
        match self {
            ScalarValue::Null => DataType::Null,
            ScalarValue::Boolean(_) => DataType::Boolean,
            ScalarValue::Int64(_) => DataType::Int64,
            ScalarValue::Int32(_) => DataType::Int32,
            ScalarValue::Float64(_) => DataType::Float64,
            ScalarValue::Decimal128(_, p, s) => DataType::Decimal128(*p, *s),
            ScalarValue::Utf8(_) => DataType::Utf8,
            ScalarValue::Date32(_) => DataType::Date32,
            ScalarValue::TimestampMicros(_) => DataType::Timestamp(TimeUnit::Microsecond, None),
            ScalarValue::Interval(_) => {
                DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano)
            }
        }
    }

    /// True for NULL of any type.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            ScalarValue::Null
                | ScalarValue::Boolean(None)
                | ScalarValue::Int64(None)
                | ScalarValue::Int32(None)
                | ScalarValue::Float64(None)
                | ScalarValue::Decimal128(None, _, _)
                | ScalarValue::Utf8(None)
                | ScalarValue::Date32(None)
                | ScalarValue::TimestampMicros(None)
                | ScalarValue::Interval(None)
        )
    }

    /// An array repeating this value `len` times.
    pub fn to_array(&self, len: usize) -> Result<ArrayRef> {
        Ok(match self {
            ScalarValue::Null => new_null_array(&DataType::Null, len),
            ScalarValue::Boolean(v) => Arc::new(BooleanArray::from(vec![*v; len])),
            ScalarValue::Int64(v) => Arc::new(Int64Array::from(vec![*v; len])),
            ScalarValue::Int32(v) => Arc::new(Int32Array::from(vec![*v; len])),
            ScalarValue::Float64(v) => Arc::new(Float64Array::from(vec![*v; len])),
            ScalarValue::Decimal128(v, p, s) => {
                Arc::new(Decimal128Array::from(vec![*v; len]).with_precision_and_scale(*p, *s)?)
            }
            ScalarValue::Utf8(v) => Arc::new(StringArray::from(vec![v.as_deref(); len])),
            ScalarValue::Date32(v) => Arc::new(Date32Array::from(vec![*v; len])),
            ScalarValue::TimestampMicros(v) => {
                Arc::new(TimestampMicrosecondArray::from(vec![*v; len]))
            }
            ScalarValue::Interval(v) => Arc::new(IntervalMonthDayNanoArray::from(vec![*v; len])),
        })
    }

    /// The value at `index` of `array`, widened to one of the variants above.
    pub fn try_from_array(array: &dyn Array, index: usize) -> Result<ScalarValue> {
        macro_rules! get {
            ($ty:ty, $variant:ident, $conv:expr) => {{
                let a = array
                    .as_any()
                    .downcast_ref::<$ty>()
                    .ok_or_else(|| Error::Internal("scalar downcast".into()))?;
                let v = if a.is_null(index) {
                    None
                } else {
                    Some($conv(a.value(index)))
                };
                ScalarValue::$variant(v)
            }};
        }
        Ok(match array.data_type() {
            DataType::Null => ScalarValue::Null,
            DataType::Boolean => get!(BooleanArray, Boolean, |v| v),
            DataType::Int8 => get!(Int8Array, Int64, |v: i8| v as i64),
            DataType::Int16 => get!(Int16Array, Int64, |v: i16| v as i64),
            DataType::Int32 => get!(Int32Array, Int32, |v| v),
            DataType::Int64 => get!(Int64Array, Int64, |v| v),
            DataType::UInt8 => get!(UInt8Array, Int64, |v: u8| v as i64),
            DataType::UInt16 => get!(UInt16Array, Int64, |v: u16| v as i64),
            DataType::UInt32 => get!(UInt32Array, Int64, |v: u32| v as i64),
            DataType::UInt64 => get!(UInt64Array, Int64, |v: u64| v as i64),
            DataType::Float32 => get!(Float32Array, Float64, |v: f32| v as f64),
            DataType::Float64 => get!(Float64Array, Float64, |v| v),
            DataType::Utf8 => get!(StringArray, Utf8, |v: &str| v.to_string()),
            DataType::LargeUtf8 => get!(LargeStringArray, Utf8, |v: &str| v.to_string()),
            DataType::Utf8View => get!(StringViewArray, Utf8, |v: &str| v.to_string()),
            DataType::Date32 => get!(Date32Array, Date32, |v| v),
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                get!(TimestampMicrosecondArray, TimestampMicros, |v| v)
            }
            DataType::Decimal128(p, s) => {
                let a = array
                    .as_any()
                    .downcast_ref::<Decimal128Array>()
                    .ok_or_else(|| Error::Internal("scalar downcast".into()))?;
                let v = (!a.is_null(index)).then(|| a.value(index));
                ScalarValue::Decimal128(v, *p, *s)
            }
            DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => {
                get!(IntervalMonthDayNanoArray, Interval, |v| v)
            }
            DataType::Dictionary(_, _) => {
                let casted = arrow::compute::cast(array, &DataType::Utf8)?;
                return ScalarValue::try_from_array(casted.as_ref(), index);
            }
            other => {
                let casted = arrow::compute::cast(array, &DataType::Utf8)
                    .map_err(|_| Error::NotImplemented(format!("scalar values of type {other}")))?;
                return ScalarValue::try_from_array(casted.as_ref(), index);
            }
        })
    }

    /// Casts this value to `to` with Arrow's cast rules (errors on failure).
    pub fn cast_to(&self, to: &DataType) -> Result<ScalarValue> {
        if &self.data_type() == to {
            return Ok(self.clone());
        }
        let arr = self.to_array(1)?;
        let opts = arrow::compute::CastOptions {
            safe: false,
            format_options: Default::default(),
        };
        let casted = arrow::compute::cast_with_options(&arr, to, &opts)?;
        ScalarValue::try_from_array(casted.as_ref(), 0)
    }

    /// The value as f64 when it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ScalarValue::Int64(Some(v)) => Some(*v as f64),
            ScalarValue::Int32(Some(v)) => Some(*v as f64),
            ScalarValue::Float64(Some(v)) => Some(*v),
            ScalarValue::Decimal128(Some(v), _, s) => Some(*v as f64 / 10f64.powi(*s as i32)),
            ScalarValue::Date32(Some(v)) => Some(*v as f64),
            ScalarValue::TimestampMicros(Some(v)) => Some(*v as f64),
            _ => None,
        }
    }

    /// The value as i64 when it is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ScalarValue::Int64(Some(v)) => Some(*v),
            ScalarValue::Int32(Some(v)) => Some(*v as i64),
            _ => None,
        }
    }

    /// The string payload of a non-null VARCHAR.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ScalarValue::Utf8(Some(s)) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            return write!(f, "NULL");
        }
        match self {
            ScalarValue::Boolean(Some(v)) => write!(f, "{v}"),
            ScalarValue::Int64(Some(v)) => write!(f, "{v}"),
            ScalarValue::Int32(Some(v)) => write!(f, "{v}"),
            ScalarValue::Float64(Some(v)) => write!(f, "{v}"),
            ScalarValue::Utf8(Some(v)) => write!(f, "'{}'", v.replace('\'', "''")),
            _ => match self.to_array(1).and_then(|a| {
                arrow::util::display::array_value_to_string(&a, 0).map_err(Error::from)
            }) {
                Ok(s) => match self {
                    ScalarValue::Date32(_) => write!(f, "DATE '{s}'"),
                    ScalarValue::TimestampMicros(_) => write!(f, "TIMESTAMP '{s}'"),
                    ScalarValue::Interval(_) => write!(f, "INTERVAL '{s}'"),
                    _ => write!(f, "{s}"),
                },
                Err(_) => write!(f, "?"),
            },
        }
    }
}
