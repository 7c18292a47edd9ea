//! [`ColumnData`]: one column of values written in Rust code, for
//! [`SessionContext::from_columns`](crate::SessionContext::from_columns).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float32Array, Float64Array, Int32Array, Int64Array,
    StringArray,
};

/// The values of one column, made from a Rust vector (`Option` items give NULLs) or from any
/// Arrow array.
///
/// | Rust values | column type |
/// |---|---|
/// | `Vec<i64>`, `Vec<Option<i64>>` | BIGINT (Int64) |
/// | `Vec<i32>`, `Vec<Option<i32>>` | INTEGER (Int32) |
/// | `Vec<f64>`, `Vec<Option<f64>>` | DOUBLE (Float64) |
/// | `Vec<f32>`, `Vec<Option<f32>>` | FLOAT (Float32) |
/// | `Vec<bool>`, `Vec<Option<bool>>` | BOOLEAN |
/// | `Vec<&str>`, `Vec<String>`, `Vec<Option<&str>>`, `Vec<Option<String>>` | VARCHAR (Utf8) |
/// | `ArrayRef` (any Arrow array), [`ColumnData::dates`] | as given, DATE |
///
/// ```
/// use rask::{ColumnData, SessionContext};
/// # fn main() -> rask::Result<()> {
/// let ctx = SessionContext::new();
/// let df = ctx.from_columns(vec![
///     ("id", ColumnData::from(vec![1i64, 2, 3])),
///     ("name", ColumnData::from(vec![Some("a"), None, Some("c")])),
/// ])?;
/// assert_eq!(df.columns(), vec!["id", "name"]);
/// assert_eq!(df.count()?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ColumnData(pub(crate) ArrayRef);

impl ColumnData {
    /// The values as an Arrow array.
    pub fn array(&self) -> &ArrayRef {
        &self.0
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A DATE column from days since 1970-01-01 (`None`: NULL).
    ///
    /// ```
    /// use rask::ColumnData;
    /// let d = ColumnData::dates(vec![Some(0), None]);
    /// assert_eq!(d.len(), 2);
    /// ```
    pub fn dates(days: Vec<Option<i32>>) -> Self {
        ColumnData(Arc::new(Date32Array::from(days)))
    }
}

impl From<ArrayRef> for ColumnData {
    fn from(a: ArrayRef) -> Self {
        ColumnData(a)
    }
}

macro_rules! from_vec {
    ($t:ty, $array:ty) => {
        impl From<Vec<$t>> for ColumnData {
            fn from(v: Vec<$t>) -> Self {
                ColumnData(Arc::new(<$array>::from(v)))
            }
        }
        impl From<Vec<Option<$t>>> for ColumnData {
            fn from(v: Vec<Option<$t>>) -> Self {
                ColumnData(Arc::new(<$array>::from(v)))
            }
        }
        impl From<&[$t]> for ColumnData {
            fn from(v: &[$t]) -> Self {
                ColumnData(Arc::new(<$array>::from(v.to_vec())))
            }
        }
    };
}

from_vec!(i64, Int64Array);
from_vec!(i32, Int32Array);
from_vec!(f64, Float64Array);
from_vec!(f32, Float32Array);
from_vec!(bool, BooleanArray);
from_vec!(&str, StringArray);
from_vec!(String, StringArray);
