//! Interop with [Polars](https://pola.rs) (cargo feature `polars`):
//! [`DataFrame::to_polars`] and [`SessionContext::from_polars`].
//!
//! rask computes with arrow-rs, Polars with polars-arrow: two implementations of the same
//! columnar format in one process. Columns cross between them through the
//! [Arrow C data interface](https://arrow.apache.org/docs/format/CDataInterface.html): one side
//! exports an array as the spec's `ArrowArray` struct (buffer pointers plus a release callback
//! that keeps the owner alive), the other wraps those buffers without copying them. arrow-rs's
//! `FFI_ArrowArray`/`FFI_ArrowSchema` and polars-arrow's `ArrowArray`/`ArrowSchema` are both
//! `#[repr(C)]` copies of the spec's structs, so a value of one is moved into the other as it
//! is. polars-arrow is reached as `polars_core::utils::arrow`, so polars-core is the only
//! dependency the feature adds.
//!
//! # What is copied
//! Buffers pass over as they are wherever both sides lay a type out alike: integers, floats,
//! booleans, dates, timestamps, durations, decimals, nulls, Polars strings and binary (views)
//! to rask, and rask's `Utf8View` strings to Polars. A conversion copies where Polars stores a
//! type differently: rask's `Utf8`/`LargeUtf8` strings become Polars views, `List` offsets
//! widen to `LargeList`, second-resolution timestamps and durations become milliseconds,
//! `Time32` becomes nanosecond `Time`; dictionary columns (to Polars) and Categorical/Enum
//! columns (to rask) are cast to plain strings; Polars lists of only nulls are rebuilt (its
//! export of a null array carries a buffer the C data interface does not have, which arrow-rs
//! refuses), and Polars frames whose columns are chunked differently are rechunked. Other types are refused with
//! [`Error::NotImplemented`](rask_common::Error::NotImplemented), naming the column and type.

use std::borrow::Cow;
use std::fmt::Display;
use std::sync::Arc;

use arrow::array::{
    make_array, new_empty_array, new_null_array, Array, ArrayRef, LargeListArray, RecordBatch,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::ffi::{from_ffi_and_data_type, FFI_ArrowArray, FFI_ArrowSchema};
use polars_core::error::PolarsError;
use polars_core::frame::column::Column;
use polars_core::prelude::{CompatLevel, DataType as PlDataType, Series, TimeZone};
// polars-arrow, as polars-core re-exports it.
use polars_core::utils::arrow as pa;
use rask_common::{internal_err, not_impl_err, plan_err, Error, Result};

use crate::{DataFrame, SessionContext};

impl DataFrame {
    /// Runs the frame and returns the result as a Polars `DataFrame`.
    ///
    /// Each column becomes one Series whose chunks are the result's record batches, handed over
    /// through the Arrow C data interface. Integer, float, boolean, date, timestamp, duration,
    /// decimal and `Utf8View` string buffers are shared, not copied. Polars copies where it
    /// stores a type differently: `Utf8`/`LargeUtf8` strings become string views, `List`
    /// offsets widen to `LargeList`, second-resolution timestamps and durations become
    /// milliseconds, `Time32` becomes nanosecond `Time`; dictionary columns are cast to their
    /// value type. An empty result gives an empty Polars frame with the same columns and types.
    ///
    /// # Example
    /// ```
    /// use rask::SessionContext;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ctx = SessionContext::new();
    /// let df = ctx.sql("SELECT * FROM (VALUES (1, 'x'), (2, NULL), (3, 'z')) t(k, v) WHERE k > 1")?;
    /// let pl = df.to_polars()?;
    /// assert_eq!(pl.shape(), (2, 2));
    /// assert_eq!(pl.column("k")?.i64()?.get(0), Some(2));
    /// assert_eq!(pl.column("v")?.str()?.get(1), Some("z"));
    /// assert_eq!(pl.column("v")?.null_count(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any error of running the frame; [`Error::NotImplemented`] for a column type Polars has no
    /// counterpart for (intervals, structs, maps, `Float16`, fixed-size binary and lists,
    /// `Decimal32/64/256`, a decimal with a negative scale), or a timestamp time zone Polars
    /// rejects; [`Error::Execution`] when Polars refuses the columns (for example two columns
    /// of one name).
    ///
    /// # See also
    /// [`SessionContext::from_polars`], the way back.
    pub fn to_polars(&self) -> Result<polars_core::frame::DataFrame> {
        let schema = self.schema();
        let batches = self.collect()?;
        let height = batches.iter().map(RecordBatch::num_rows).sum();
        let batches: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();

        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let target = to_polars_type(field.name(), field.data_type())?;
            let target = Field::new(field.name(), target, true);
            let chunks = if batches.is_empty() {
                vec![new_empty_array(field.data_type())]
            } else {
                let mut chunks = Vec::with_capacity(batches.len());
                for b in &batches {
                    match b.columns().get(i) {
                        Some(c) => chunks.push(Arc::clone(c)),
                        None => {
                            return internal_err!(
                                "a result batch has {} columns, the schema {}",
                                b.num_columns(),
                                schema.fields().len()
                            )
                        }
                    }
                }
                chunks
            };
            columns.push(Column::from(array_chunks_to_series(&target, chunks)?));
        }
        polars_core::frame::DataFrame::new(height, columns)
            .map_err(|e| polars_error("to_polars: building the Polars frame", e))
    }
}

impl SessionContext {
    /// A rask frame over the data of a Polars `DataFrame`, one partition per chunk.
    ///
    /// The columns' buffers are handed over through the Arrow C data interface, not copied
    /// (Polars strings arrive as `Utf8View`, lists as `LargeList`), except that Categorical and
    /// Enum columns are cast to strings, and lists of only nulls are rebuilt. When the columns
    /// are chunked differently they are rechunked (copied) into one chunk each first.
    ///
    /// # Example
    /// ```
    /// use polars_core::df;
    /// use rask::{col, lit, SessionContext};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pl = df!("city" => ["Oslo", "Rome", "Oslo"], "temp" => [3i64, 21, 5])?;
    /// let ctx = SessionContext::new();
    /// let df = ctx.from_polars(&pl)?;
    /// assert_eq!(df.filter(col("temp").lt(lit(10i64)))?.count()?, 2);
    /// let warm = df.filter(col("temp").gt(lit(10i64)))?.to_polars()?;
    /// assert_eq!(warm.column("city")?.str()?.get(0), Some("Rome"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Plan`] for a frame with no columns; [`Error::NotImplemented`] for a column type
    /// rask has no Arrow counterpart for (Object, Struct, Array, `Int128`, `UInt128`,
    /// `Float16`, extension types, lists of those), naming the column.
    ///
    /// # See also
    /// [`DataFrame::to_polars`], the way back.
    pub fn from_polars(&self, df: &polars_core::frame::DataFrame) -> Result<DataFrame> {
        if df.width() == 0 {
            return plan_err!("from_polars: the Polars frame has no columns");
        }
        // The Series to export, and the arrow-rs type each arrives as.
        let mut series = Vec::with_capacity(df.width());
        let mut fields = Vec::with_capacity(df.width());
        for column in df.columns() {
            let s = column.as_materialized_series();
            let dtype = s.dtype();
            let s = if dtype.is_categorical() || dtype.is_enum() {
                s.cast(&PlDataType::String).map_err(|e| {
                    polars_error(
                        format!("from_polars: casting column {} to String", s.name()),
                        e,
                    )
                })?
            } else {
                check_polars_type(s.name(), dtype, dtype)?;
                s.clone()
            };
            fields.push(Field::new(s.name().as_str(), arrow_type(&s)?, true));
            series.push(s);
        }
        let schema = Arc::new(Schema::new(fields));

        let first: Vec<usize> = series[0].chunk_lengths().collect();
        if series
            .iter()
            .any(|s| !s.chunk_lengths().eq(first.iter().copied()))
        {
            series = series.iter().map(|s| s.rechunk()).collect();
        }
        // polars-arrow exports a null array with a (null) validity buffer where the C data
        // interface has none, which arrow-rs refuses. A top-level null column has no data to
        // hand over and is made anew; nulls inside lists travel as booleans, cast back after.
        let mut wire = Vec::with_capacity(series.len());
        for s in &mut series {
            if let Some(without_nulls) = nulls_as_booleans(s.dtype()) {
                *s = s.cast(&without_nulls).map_err(|e| {
                    polars_error(format!("from_polars: casting column {}", s.name()), e)
                })?;
            }
            wire.push(arrow_type(s)?);
        }

        let n_chunks = series[0].n_chunks();
        let mut partitions = Vec::with_capacity(n_chunks);
        for chunk in 0..n_chunks {
            let mut arrays = Vec::with_capacity(series.len());
            for ((s, wire), field) in series.iter().zip(&wire).zip(schema.fields()) {
                if wire == &DataType::Null {
                    let len = s.chunks().get(chunk).map_or(0, |c| c.len());
                    arrays.push(new_null_array(&DataType::Null, len));
                    continue;
                }
                if s.chunks().get(chunk).is_none() {
                    return internal_err!(
                        "from_polars: column {} has {} chunks after aligning, column {} {}",
                        s.name(),
                        s.n_chunks(),
                        series[0].name(),
                        n_chunks
                    );
                }
                let pl_field = s
                    .dtype()
                    .to_arrow_field(s.name().clone(), CompatLevel::newest());
                let array = s
                    .to_arrow_with_field(chunk, Cow::Owned(pl_field), true)
                    .map_err(|e| {
                        polars_error(format!("from_polars: exporting column {}", s.name()), e)
                    })?;
                // SAFETY: polars-arrow's `ArrowArray` and arrow-rs's `FFI_ArrowArray` are both
                // the C data interface's `#[repr(C)]` struct (`transmute` checks the sizes
                // agree); ownership, with the release callback that keeps the Polars buffers
                // alive, moves to arrow-rs.
                let ffi_array = unsafe {
                    std::mem::transmute::<pa::ffi::ArrowArray, FFI_ArrowArray>(
                        pa::ffi::export_array_to_c(array),
                    )
                };
                // SAFETY: `ffi_array` was just exported by polars-arrow from an array of the
                // Polars type `wire` was imported from; arrow-rs validates the buffers it wraps.
                let data = unsafe { from_ffi_and_data_type(ffi_array, wire.clone()) }?;
                let array = make_array(data);
                arrays.push(if wire == field.data_type() {
                    array
                } else {
                    booleans_as_nulls(&array, field.data_type())?
                });
            }
            let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
            if batch.num_rows() > 0 {
                partitions.push(vec![batch]);
            }
        }
        if partitions.is_empty() {
            partitions.push(vec![]);
        }
        self.from_batches(schema, partitions)
    }
}

/// The type a column of arrow-rs type `dt` is handed to Polars as: `dt` itself (nested field
/// metadata dropped), or for dictionaries the value type (the column is cast first).
fn to_polars_type(name: &str, dt: &DataType) -> Result<DataType> {
    use DataType as D;
    Ok(match dt {
        D::Null
        | D::Boolean
        | D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Float32
        | D::Float64
        | D::Utf8
        | D::LargeUtf8
        | D::Utf8View
        | D::Binary
        | D::LargeBinary
        | D::BinaryView
        | D::Date32
        | D::Date64
        | D::Time32(_)
        | D::Time64(_)
        | D::Duration(_) => dt.clone(),
        D::Timestamp(_, tz) => {
            // Polars validates zone names when its `timezones` feature is on, and would
            // panic on one it rejects while importing: ask it first.
            if let Err(e) = TimeZone::opt_try_new(tz.as_deref()) {
                return not_impl_err!(
                    "to_polars: column {name} has type {dt}, whose time zone Polars rejects: {e}"
                );
            }
            dt.clone()
        }
        D::Decimal128(p, s) if (1..=38).contains(p) && *s >= 0 && s.unsigned_abs() <= *p => {
            dt.clone()
        }
        D::Dictionary(_, values) if !matches!(values.as_ref(), D::Dictionary(..)) => {
            to_polars_type(name, values)?
        }
        D::List(f) => D::List(Arc::new(Field::new(
            f.name(),
            to_polars_type(name, f.data_type())?,
            f.is_nullable(),
        ))),
        D::LargeList(f) => D::LargeList(Arc::new(Field::new(
            f.name(),
            to_polars_type(name, f.data_type())?,
            f.is_nullable(),
        ))),
        other => {
            return not_impl_err!(
                "to_polars: column {name} has type {other}, which has no Polars counterpart"
            )
        }
    })
}

/// One Series from the arrays of one column, each handed over through the C data interface.
/// `target` carries the column's name and [`to_polars_type`]; arrays of another type
/// (dictionaries) are cast to it first.
fn array_chunks_to_series(target: &Field, chunks: Vec<ArrayRef>) -> Result<Series> {
    let name = target.name();
    let ffi_schema = FFI_ArrowSchema::try_from(target)?;
    // SAFETY: arrow-rs's `FFI_ArrowSchema` and polars-arrow's `ArrowSchema` are the same
    // `#[repr(C)]` struct of the C data interface; `ffi_schema` is a valid export that outlives
    // this borrow, and polars only reads it (it copies names and types out).
    let pl_field = unsafe {
        let ptr: *const pa::ffi::ArrowSchema = (&raw const ffi_schema).cast();
        pa::ffi::import_field_from_c(&*ptr)
    }
    .map_err(|e| polars_error(format!("to_polars: importing the type of column {name}"), e))?;

    let mut pl_chunks = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let chunk = if chunk.data_type() == target.data_type() {
            chunk
        } else {
            arrow::compute::cast(&chunk, target.data_type())?
        };
        // SAFETY: as for the schema: the same C struct in both crates (`transmute` checks the
        // sizes agree); ownership, and with it the release callback that keeps the arrow-rs
        // buffers alive, moves to polars.
        let ffi_array = unsafe {
            std::mem::transmute::<FFI_ArrowArray, pa::ffi::ArrowArray>(FFI_ArrowArray::new(
                &chunk.to_data(),
            ))
        };
        // SAFETY: `ffi_array` is a valid export of an array of exactly `target`'s type (cast
        // above), which is what `pl_field` was imported from.
        let array = unsafe { pa::ffi::import_array_from_c(ffi_array, pl_field.dtype.clone()) }
            .map_err(|e| polars_error(format!("to_polars: importing column {name}"), e))?;
        pl_chunks.push(array);
    }
    Series::try_from((&pl_field, pl_chunks))
        .map_err(|e| polars_error(format!("to_polars: building column {name}"), e))
}

/// Fails unless rask can take a Polars column of type `dt` (`top` is the column's whole type,
/// for the message).
fn check_polars_type(name: &str, dt: &PlDataType, top: &PlDataType) -> Result<()> {
    use PlDataType as D;
    match dt {
        D::Boolean
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::Float32
        | D::Float64
        | D::String
        | D::Binary
        | D::Date
        | D::Datetime(_, _)
        | D::Duration(_)
        | D::Time
        | D::Decimal(_, _)
        | D::Null => Ok(()),
        D::List(inner) => check_polars_type(name, inner, top),
        other => not_impl_err!(
            "from_polars: column {name} has Polars type {top}: {other} has no Arrow \
             counterpart rask can take"
        ),
    }
}

/// The arrow-rs type a Polars Series is exported as, read back through the C data interface.
fn arrow_type(s: &Series) -> Result<DataType> {
    let pl_field = s
        .dtype()
        .to_arrow_field(s.name().clone(), CompatLevel::newest());
    // SAFETY: polars-arrow's `ArrowSchema` and arrow-rs's `FFI_ArrowSchema` are both the C data
    // interface's `#[repr(C)]` struct (`transmute` checks the sizes agree), so the export moves
    // into arrow-rs, which calls its release callback on drop.
    let ffi_schema = unsafe {
        std::mem::transmute::<pa::ffi::ArrowSchema, FFI_ArrowSchema>(pa::ffi::export_field_to_c(
            &pl_field,
        ))
    };
    Ok(Field::try_from(&ffi_schema)?.data_type().clone())
}

/// For a list (of lists ...) of `Null`, the same type with `Boolean` inside. (Lists are the
/// only nesting [`check_polars_type`] lets through, so `Null` can only be the innermost type.)
fn nulls_as_booleans(dt: &PlDataType) -> Option<PlDataType> {
    fn replace(dt: &PlDataType) -> PlDataType {
        match dt {
            PlDataType::Null => PlDataType::Boolean,
            PlDataType::List(inner) => PlDataType::List(Box::new(replace(inner))),
            other => other.clone(),
        }
    }
    match dt {
        PlDataType::List(_) if dt.is_nested_null() => Some(replace(dt)),
        _ => None,
    }
}

/// Undoes [`nulls_as_booleans`] on an imported array: `target` is the list type with `Null`
/// inside, `array` the same lists with booleans there (arrow-rs casts nothing to `Null`).
fn booleans_as_nulls(array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    match target {
        DataType::Null => Ok(new_null_array(&DataType::Null, array.len())),
        DataType::LargeList(item) => {
            let Some(list) = array.as_any().downcast_ref::<LargeListArray>() else {
                return internal_err!(
                    "from_polars: expected a large list, got {}",
                    array.data_type()
                );
            };
            let values = booleans_as_nulls(list.values(), item.data_type())?;
            Ok(Arc::new(LargeListArray::try_new(
                Arc::clone(item),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        other => internal_err!("from_polars: no null lists to rebuild in {other}"),
    }
}

fn polars_error(context: impl Display, e: PolarsError) -> Error {
    Error::Execution(format!("{context}: {e}"))
}
