//! The small set of Arrow types the engine sees, and how file types map onto it.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use rask_common::Result;

/// The engine-facing type for a type found in a file.
///
/// Strings become `Utf8`, binaries `Binary`, timestamps `Timestamp(Microsecond, None)` (UTC
/// values kept), small integers `Int32`, `UInt32`/`UInt64` `Int64`, floats `Float64`, small
/// decimals `Decimal128`. Nested and other types are left as they are.
pub(crate) fn normalize_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, value) => normalize_type(value),
        DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 => DataType::Float64,
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => DataType::Decimal128(*p, *s),
        other => other.clone(),
    }
}

/// Cast options that fail (rather than produce NULL) on values that do not fit.
pub(crate) fn strict_cast() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        format_options: Default::default(),
    }
}

/// Casts `array` to `to` when its type differs.
pub(crate) fn cast_if_needed(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        Ok(Arc::clone(array))
    } else {
        Ok(cast_with_options(array, to, &strict_cast())?)
    }
}

/// A batch of `schema` from `columns`, valid also when there are no columns.
pub(crate) fn make_batch(
    schema: &SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &options,
    )?)
}

/// Where one output column of a scan comes from.
#[derive(Debug, Clone)]
pub(crate) enum ColumnSource {
    /// Position in the batch the file reader returns.
    File(usize),
    /// Hive partition column: position in the file's partition values.
    Hive(usize),
}

/// What differs between the columns `a` of one file and `b` of another, for error messages:
/// the first column missing from either side, else the first position where the order differs.
pub(crate) fn column_difference(a: &[String], b: &[String], a_file: &str, b_file: &str) -> String {
    if let Some(missing) = a.iter().find(|n| !b.contains(n)) {
        return format!("column '{missing}' of {a_file} is missing from {b_file}");
    }
    if let Some(extra) = b.iter().find(|n| !a.contains(n)) {
        return format!("column '{extra}' of {b_file} is not in {a_file}");
    }
    if a.len() != b.len() {
        return format!(
            "{a_file} has {} columns but {b_file} has {} (a repeated name?)",
            a.len(),
            b.len()
        );
    }
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!(
            "column {} is '{}' in {a_file} but '{}' in {b_file}",
            i + 1,
            a[i],
            b[i]
        ),
        None => "the columns are the same".to_string(),
    }
}
