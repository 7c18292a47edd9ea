//! Key verification on candidate pairs: typed loops comparing probe row `pi[k]` with build row
//! `bi[k]`, column by column.

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, GenericByteArray, GenericByteViewArray,
    UInt32Array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::kernels::cmp;
use arrow::compute::take;
use arrow::datatypes::*;
use rask_common::{internal_err, Result};

/// Clears `keep[k]` for pairs whose keys differ. A NULL on either side is a mismatch, or, when
/// `null_aware`, a match (`NOT IN`: the comparison is not FALSE).
pub(super) fn verify_keys(
    probe: &[ArrayRef],
    build: &[ArrayRef],
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) -> Result<()> {
    if probe.len() != build.len() {
        return internal_err!(
            "{} probe keys against {} build keys",
            probe.len(),
            build.len()
        );
    }
    for (p, b) in probe.iter().zip(build) {
        if p.data_type() != b.data_type() {
            return internal_err!(
                "join key types differ: {} (probe) and {} (build)",
                p.data_type(),
                b.data_type()
            );
        }
        verify_column(p, b, pi, bi, keep, null_aware)?;
    }
    Ok(())
}

fn nulls(a: &dyn Array) -> Option<NullBuffer> {
    a.logical_nulls().filter(|n| n.null_count() > 0)
}

/// Runs `eq` on the pairs still kept, with NULL handling.
#[inline(always)]
fn compare<F: Fn(usize, usize) -> bool>(
    pn: Option<&NullBuffer>,
    bn: Option<&NullBuffer>,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
    eq: F,
) {
    match (pn, bn) {
        (None, None) => {
            for ((k, &p), &b) in keep.iter_mut().zip(pi).zip(bi) {
                *k = *k && eq(p as usize, b as usize);
            }
        }
        _ => {
            for ((k, &p), &b) in keep.iter_mut().zip(pi).zip(bi) {
                if !*k {
                    continue;
                }
                let (p, b) = (p as usize, b as usize);
                let both = pn.is_none_or(|n| n.is_valid(p)) && bn.is_none_or(|n| n.is_valid(b));
                *k = if both { eq(p, b) } else { null_aware };
            }
        }
    }
}

fn primitive<T: ArrowPrimitiveType>(
    p: &dyn Array,
    b: &dyn Array,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) where
    T::Native: PartialEq,
{
    let (pn, bn) = (nulls(p), nulls(b));
    let pv = p.as_primitive::<T>().values();
    let bv = b.as_primitive::<T>().values();
    compare(
        pn.as_ref(),
        bn.as_ref(),
        pi,
        bi,
        keep,
        null_aware,
        |x, y| pv[x] == bv[y],
    );
}

/// Floats compare with `=` (so `-0.0 = 0.0`), and NaN equals NaN, as the engine hash says.
fn float<T: ArrowPrimitiveType>(
    p: &dyn Array,
    b: &dyn Array,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) where
    T::Native: PartialEq + Into<f64>,
{
    let (pn, bn) = (nulls(p), nulls(b));
    let pv = p.as_primitive::<T>().values();
    let bv = b.as_primitive::<T>().values();
    compare(
        pn.as_ref(),
        bn.as_ref(),
        pi,
        bi,
        keep,
        null_aware,
        |x, y| {
            let (u, v): (f64, f64) = (pv[x].into(), bv[y].into());
            u == v || (u.is_nan() && v.is_nan())
        },
    );
}

fn bytes<T: ByteArrayType>(
    p: &GenericByteArray<T>,
    b: &GenericByteArray<T>,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) {
    let (pn, bn) = (nulls(p), nulls(b));
    let (po, pd) = (p.value_offsets(), p.value_data());
    let (bo, bd) = (b.value_offsets(), b.value_data());
    compare(
        pn.as_ref(),
        bn.as_ref(),
        pi,
        bi,
        keep,
        null_aware,
        |x, y| {
            let (ps, pe) = (po[x].as_usize(), po[x + 1].as_usize());
            let (bs, be) = (bo[y].as_usize(), bo[y + 1].as_usize());
            pe - ps == be - bs && pd[ps..pe] == bd[bs..be]
        },
    );
}

fn views<T: ByteViewType + ?Sized>(
    p: &GenericByteViewArray<T>,
    b: &GenericByteViewArray<T>,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) {
    let (pn, bn) = (nulls(p), nulls(b));
    let (pv, bv) = (p.views(), b.views());
    compare(
        pn.as_ref(),
        bn.as_ref(),
        pi,
        bi,
        keep,
        null_aware,
        |x, y| {
            // The low 32 bits of a view are the length.
            if pv[x] as u32 != bv[y] as u32 {
                return false;
            }
            let (u, v): (&[u8], &[u8]) = (p.value(x).as_ref(), b.value(y).as_ref());
            u == v
        },
    );
}

fn verify_column(
    p: &ArrayRef,
    b: &ArrayRef,
    pi: &[u32],
    bi: &[u32],
    keep: &mut [bool],
    null_aware: bool,
) -> Result<()> {
    macro_rules! prim {
        ($t:ty) => {
            primitive::<$t>(p.as_ref(), b.as_ref(), pi, bi, keep, null_aware)
        };
    }
    match p.data_type() {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Date32 => prim!(Date32Type),
        DataType::Date64 => prim!(Date64Type),
        DataType::Decimal128(_, _) => prim!(Decimal128Type),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim!(TimestampNanosecondType),
        DataType::Float32 => float::<Float32Type>(p.as_ref(), b.as_ref(), pi, bi, keep, null_aware),
        DataType::Float64 => float::<Float64Type>(p.as_ref(), b.as_ref(), pi, bi, keep, null_aware),
        DataType::Utf8 => bytes(
            p.as_string::<i32>(),
            b.as_string::<i32>(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::LargeUtf8 => bytes(
            p.as_string::<i64>(),
            b.as_string::<i64>(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::Binary => bytes(
            p.as_binary::<i32>(),
            b.as_binary::<i32>(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::LargeBinary => bytes(
            p.as_binary::<i64>(),
            b.as_binary::<i64>(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::Utf8View => views(
            p.as_string_view(),
            b.as_string_view(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::BinaryView => views(
            p.as_binary_view(),
            b.as_binary_view(),
            pi,
            bi,
            keep,
            null_aware,
        ),
        DataType::Boolean => {
            let (pn, bn) = (nulls(p.as_ref()), nulls(b.as_ref()));
            let (pa, ba) = (p.as_boolean(), b.as_boolean());
            compare(
                pn.as_ref(),
                bn.as_ref(),
                pi,
                bi,
                keep,
                null_aware,
                |x, y| pa.value(x) == ba.value(y),
            );
        }
        DataType::Null => compare(None, None, pi, bi, keep, null_aware, |_, _| null_aware),
        _ => {
            // Anything else: gather both sides and compare with the arrow kernel.
            let pt = take(p.as_ref(), &UInt32Array::from(pi.to_vec()), None)?;
            let bt = take(b.as_ref(), &UInt32Array::from(bi.to_vec()), None)?;
            let eq = cmp::eq(&pt, &bt)?;
            for (i, k) in keep.iter_mut().enumerate() {
                if *k {
                    *k = if eq.is_null(i) {
                        null_aware
                    } else {
                        eq.value(i)
                    };
                }
            }
        }
    }
    Ok(())
}
