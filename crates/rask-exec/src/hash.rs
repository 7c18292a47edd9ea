//! The engine hash: one 64-bit hash per row, with a fixed seed so that every worker, and
//! every spill read back later, agrees on it.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, GenericByteArray, GenericByteViewArray,
};
use arrow::datatypes::{
    ArrowPrimitiveType, ByteArrayType, ByteViewType, DataType, Date32Type, Date64Type,
    Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use rask_common::{Error, Result};

const NULL_HASH: u64 = 0x5bd1_e995_1234_5678;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Mixes a 64-bit value (murmur3's finaliser).
#[inline(always)]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Hashes a byte string, 8 bytes at a time.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(0x2127_599b_f432_5c37);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(0x8802_2b2f_7f4e_2b45);
        h = h.rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(0x8802_2b2f_7f4e_2b45);
    }
    mix64(h)
}

/// Combines a column's hash into a running row hash.
#[inline(always)]
pub fn combine(acc: u64, h: u64) -> u64 {
    (acc.rotate_left(5) ^ h).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// A value that hashes to 64 bits.
pub trait HashValue {
    /// The hash.
    fn hash64(&self) -> u64;
}

macro_rules! hash_int {
    ($($t:ty),*) => {$(
        impl HashValue for $t {
            #[inline(always)]
            fn hash64(&self) -> u64 { mix64((*self as u64) ^ SEED) }
        }
    )*};
}
hash_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl HashValue for i128 {
    #[inline(always)]
    fn hash64(&self) -> u64 {
        mix64((*self as u64) ^ SEED ^ mix64((*self >> 64) as u64))
    }
}
impl HashValue for f64 {
    #[inline(always)]
    fn hash64(&self) -> u64 {
        // -0.0 and 0.0 are equal; all NaNs are one value.
        let v = if *self == 0.0 {
            0.0f64
        } else if self.is_nan() {
            f64::NAN
        } else {
            *self
        };
        mix64(v.to_bits() ^ SEED)
    }
}
impl HashValue for f32 {
    #[inline(always)]
    fn hash64(&self) -> u64 {
        (*self as f64).hash64()
    }
}
impl HashValue for arrow::datatypes::i256 {
    fn hash64(&self) -> u64 {
        hash_bytes(&self.to_le_bytes())
    }
}
fn hash_primitive<T>(array: &dyn Array, hashes: &mut [u64], first: bool)
where
    T: ArrowPrimitiveType,
    T::Native: HashValue,
{
    let a = array.as_primitive::<T>();
    let values = a.values();
    if a.null_count() == 0 {
        if first {
            for (h, v) in hashes.iter_mut().zip(values.iter()) {
                *h = v.hash64();
            }
        } else {
            for (h, v) in hashes.iter_mut().zip(values.iter()) {
                *h = combine(*h, v.hash64());
            }
        }
    } else {
        for (i, h) in hashes.iter_mut().enumerate() {
            let v = if a.is_null(i) {
                NULL_HASH
            } else {
                values[i].hash64()
            };
            *h = if first { v } else { combine(*h, v) };
        }
    }
}

fn hash_bytes_array<T: ByteArrayType>(a: &GenericByteArray<T>, hashes: &mut [u64], first: bool) {
    for (i, h) in hashes.iter_mut().enumerate() {
        let v = if a.is_null(i) {
            NULL_HASH
        } else {
            let b: &[u8] = a.value(i).as_ref();
            hash_bytes(b)
        };
        *h = if first { v } else { combine(*h, v) };
    }
}

fn hash_view_array<T: ByteViewType + ?Sized>(
    a: &GenericByteViewArray<T>,
    hashes: &mut [u64],
    first: bool,
) {
    for (i, h) in hashes.iter_mut().enumerate() {
        let v = if a.is_null(i) {
            NULL_HASH
        } else {
            let b: &[u8] = a.value(i).as_ref();
            hash_bytes(b)
        };
        *h = if first { v } else { combine(*h, v) };
    }
}

/// Hashes one column into `hashes` (overwriting when `first`, else combining).
pub fn hash_array(array: &dyn Array, hashes: &mut [u64], first: bool) -> Result<()> {
    match array.data_type() {
        DataType::Int8 => hash_primitive::<Int8Type>(array, hashes, first),
        DataType::Int16 => hash_primitive::<Int16Type>(array, hashes, first),
        DataType::Int32 => hash_primitive::<Int32Type>(array, hashes, first),
        DataType::Int64 => hash_primitive::<Int64Type>(array, hashes, first),
        DataType::UInt8 => hash_primitive::<UInt8Type>(array, hashes, first),
        DataType::UInt16 => hash_primitive::<UInt16Type>(array, hashes, first),
        DataType::UInt32 => hash_primitive::<UInt32Type>(array, hashes, first),
        DataType::UInt64 => hash_primitive::<UInt64Type>(array, hashes, first),
        DataType::Float32 => hash_primitive::<Float32Type>(array, hashes, first),
        DataType::Float64 => hash_primitive::<Float64Type>(array, hashes, first),
        DataType::Date32 => hash_primitive::<Date32Type>(array, hashes, first),
        DataType::Date64 => hash_primitive::<Date64Type>(array, hashes, first),
        DataType::Decimal128(_, _) => hash_primitive::<Decimal128Type>(array, hashes, first),
        DataType::Timestamp(unit, _) => match unit {
            arrow::datatypes::TimeUnit::Second => {
                hash_primitive::<TimestampSecondType>(array, hashes, first)
            }
            arrow::datatypes::TimeUnit::Millisecond => {
                hash_primitive::<TimestampMillisecondType>(array, hashes, first)
            }
            arrow::datatypes::TimeUnit::Microsecond => {
                hash_primitive::<TimestampMicrosecondType>(array, hashes, first)
            }
            arrow::datatypes::TimeUnit::Nanosecond => {
                hash_primitive::<TimestampNanosecondType>(array, hashes, first)
            }
        },
        DataType::Utf8 => hash_bytes_array(array.as_string::<i32>(), hashes, first),
        DataType::LargeUtf8 => hash_bytes_array(array.as_string::<i64>(), hashes, first),
        DataType::Binary => hash_bytes_array(array.as_binary::<i32>(), hashes, first),
        DataType::Utf8View => hash_view_array(array.as_string_view(), hashes, first),
        DataType::BinaryView => hash_view_array(array.as_binary_view(), hashes, first),
        DataType::Boolean => {
            let a: &BooleanArray = array.as_boolean();
            for (i, h) in hashes.iter_mut().enumerate() {
                let v = if a.is_null(i) {
                    NULL_HASH
                } else {
                    (a.value(i) as u64).hash64()
                };
                *h = if first { v } else { combine(*h, v) };
            }
        }
        DataType::Null => {
            for h in hashes.iter_mut() {
                *h = if first {
                    NULL_HASH
                } else {
                    combine(*h, NULL_HASH)
                };
            }
        }
        DataType::Dictionary(_, value_type) => {
            let casted = arrow::compute::cast(array, value_type)?;
            hash_array(casted.as_ref(), hashes, first)?;
        }
        other => {
            return Err(Error::NotImplemented(format!(
                "hashing values of type {other}"
            )))
        }
    }
    Ok(())
}

/// Hashes rows of several columns into `hashes` (resized to the row count).
pub fn hash_columns(columns: &[ArrayRef], num_rows: usize, hashes: &mut Vec<u64>) -> Result<()> {
    hashes.clear();
    hashes.resize(num_rows, SEED);
    for (i, c) in columns.iter().enumerate() {
        hash_array(c.as_ref(), hashes, i == 0)?;
    }
    Ok(())
}

/// Hashes of the rows of `keys`: [`hash_columns`], or for key types it does not know the hash
/// of their row encoding. Dictionary columns hash like their values.
pub fn hash_rows(keys: &[ArrayRef], num_rows: usize) -> Result<Vec<u64>> {
    let keys = keys
        .iter()
        .map(|k| match k.data_type() {
            DataType::Dictionary(_, v) => Ok(arrow::compute::cast(k, v)?),
            _ => Ok(Arc::clone(k)),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut hashes = Vec::new();
    if hash_columns(&keys, num_rows, &mut hashes).is_err() {
        let conv = arrow::row::RowConverter::new(
            keys.iter()
                .map(|k| arrow::row::SortField::new(k.data_type().clone()))
                .collect(),
        )?;
        let rows = conv.convert_columns(&keys)?;
        hashes = rows.iter().map(|r| hash_bytes(r.as_ref())).collect();
    }
    Ok(hashes)
}
