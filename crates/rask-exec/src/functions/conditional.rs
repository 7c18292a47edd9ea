//! `coalesce`, `nullif`, `greatest` and `least`, built from Arrow's comparison, `zip` and
//! `nullif` kernels. Every argument is first brought to the result type.

use arrow::array::{new_null_array, Array, ArrayRef, BooleanArray};
use arrow::compute::kernels::{boolean, cmp, zip::zip};
use arrow::compute::{is_not_null, is_null, prep_null_mask_filter};
use arrow::datatypes::DataType;
use rask_common::{internal_err, Result};

use super::{array_of, datum, typed};
use crate::columnar::ColumnarValue;

/// The type the work is done in: dictionaries are decoded (the caller casts the result back).
fn work_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => v.as_ref(),
        t => t,
    }
}

fn is_null_scalar(v: &ColumnarValue) -> bool {
    matches!(v, ColumnarValue::Scalar(s) if s.is_null())
}

/// `coalesce(a, b, ...)`: the first non-NULL argument. Stops reading arguments once no row
/// is NULL.
pub fn coalesce(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let t = work_type(t);
    let mut acc: Option<ArrayRef> = None;
    for a in args {
        let v = typed(a, t, n)?;
        if is_null_scalar(&v) {
            continue;
        }
        let next = match (acc, &v) {
            (None, v) => v.clone().into_array(n)?,
            (Some(cur), v) => zip(&is_not_null(&cur)?, &cur, datum(v)?.as_ref())?,
        };
        if next.null_count() == 0 {
            return Ok(next);
        }
        acc = Some(next);
    }
    Ok(acc.unwrap_or_else(|| new_null_array(t, n)))
}

/// `nullif(a, b)`: NULL where `a = b`, else `a`.
pub fn nullif(args: &[ColumnarValue], t: &DataType, n: usize) -> Result<ArrayRef> {
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
        return internal_err!("nullif() needs two arguments");
    };
    let t = work_type(t);
    let a = array_of(a, t, n)?;
    let b = typed(b, t, n)?;
    if is_null_scalar(&b) {
        return Ok(a);
    }
    let equal = cmp::eq(&a, datum(&b)?.as_ref())?;
    Ok(arrow::compute::nullif(&a, &equal)?)
}

/// `greatest(a, b, ...)` / `least(...)`: NULL arguments are ignored; NULL only when all are.
pub fn greatest_least(
    args: &[ColumnarValue],
    t: &DataType,
    n: usize,
    greatest: bool,
) -> Result<ArrayRef> {
    let t = work_type(t);
    let Some((first, rest)) = args.split_first() else {
        return internal_err!("greatest()/least() need an argument");
    };
    let mut acc = array_of(first, t, n)?;
    for a in rest {
        let v = typed(a, t, n)?;
        if is_null_scalar(&v) {
            continue;
        }
        let vd = datum(&v)?;
        let better = if greatest {
            cmp::gt(vd.as_ref(), &acc)?
        } else {
            cmp::lt(vd.as_ref(), &acc)?
        };
        // Take the new value where it wins or where nothing was there yet.
        let better = match better.nulls() {
            Some(_) => prep_null_mask_filter(&better),
            None => better,
        };
        let take: BooleanArray = boolean::or(&better, &is_null(&acc)?)?;
        acc = zip(&take, vd.as_ref(), &acc)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use arrow::array::DictionaryArray;
    use arrow::array::{
        Date32Array, Decimal128Array, Float64Array, Int16Array, Int32Array, Int64Array, StringArray,
    };
    use arrow::datatypes::Int32Type;
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;

    #[test]
    fn coalesce_first_non_null() {
        let a = arr(Int64Array::from(vec![Some(1), None, None, None]));
        let b = arr(Int64Array::from(vec![Some(10), Some(20), None, None]));
        let out = call_array(Coalesce, &[a.clone(), b.clone(), i(7)]);
        assert_eq!(out.as_ref(), &Int64Array::from(vec![1, 20, 7, 7]));
        let out = call_array(Coalesce, &[a.clone(), b]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(1), Some(20), None, None])
        );
        let out = call_array(Coalesce, &[lit(ScalarValue::Null), a.clone()]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(1), None, None, None])
        );
        // Mixed types go to the common type.
        let out = call_array(
            Coalesce,
            &[
                arr(Int32Array::from(vec![None, Some(2)])),
                arr(Float64Array::from(vec![0.5, 0.5])),
            ],
        );
        assert_eq!(out.as_ref(), &Float64Array::from(vec![0.5, 2.0]));
        assert_eq!(
            call_scalar(Coalesce, &[lit(ScalarValue::Null), i(2), i(3)]),
            ScalarValue::Int64(Some(2))
        );
        assert_eq!(
            call_scalar(Coalesce, &[lit(ScalarValue::Null), lit(ScalarValue::Null)]),
            ScalarValue::Null
        );
        let out = call_array(Coalesce, &[strs(&[None, Some("x")]), s("-")]);
        assert_eq!(out.as_ref(), &StringArray::from(vec!["-", "x"]));
        let d16 = arr(Int16Array::from(vec![None, Some(3)]));
        let out = call_array(Coalesce, &[d16.clone(), d16]);
        assert_eq!(out.as_ref(), &Int16Array::from(vec![None, Some(3)]));
    }

    #[test]
    fn coalesce_dictionary() {
        let dict: DictionaryArray<Int32Type> =
            vec![Some("a"), None, Some("b")].into_iter().collect();
        let out = call_array(Coalesce, &[arr(dict.clone()), arr(dict)]);
        let out = arrow::compute::cast(&out, &arrow::datatypes::DataType::Utf8).unwrap();
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("a"), None, Some("b")])
        );
    }

    #[test]
    fn nullif_cases() {
        let a = arr(Int64Array::from(vec![Some(1), Some(2), None]));
        let out = call_array(NullIf, &[a.clone(), i(1)]);
        assert_eq!(out.as_ref(), &Int64Array::from(vec![None, Some(2), None]));
        let out = call_array(
            NullIf,
            &[
                a.clone(),
                arr(Int64Array::from(vec![None, Some(2), Some(3)])),
            ],
        );
        assert_eq!(out.as_ref(), &Int64Array::from(vec![Some(1), None, None]));
        let out = call_array(NullIf, &[a, lit(ScalarValue::Null)]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(1), Some(2), None])
        );
        assert_eq!(call_scalar(NullIf, &[i(1), i(1)]), ScalarValue::Int64(None));
        assert_eq!(
            call_scalar(NullIf, &[i(1), lit(ScalarValue::Null)]),
            ScalarValue::Int64(Some(1))
        );
        assert_eq!(
            call_scalar(NullIf, &[s("a"), s("b")]),
            ScalarValue::Utf8(Some("a".into()))
        );
    }

    #[test]
    fn greatest_least_ignore_nulls() {
        let a = arr(Int64Array::from(vec![Some(1), None, Some(5), None]));
        let b = arr(Int64Array::from(vec![Some(3), Some(2), None, None]));
        let out = call_array(Greatest, &[a.clone(), b.clone(), i(0)]);
        assert_eq!(out.as_ref(), &Int64Array::from(vec![3, 2, 5, 0]));
        let out = call_array(Least, &[a.clone(), b.clone()]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(1), Some(2), Some(5), None])
        );
        let out = call_array(Least, &[a, lit(ScalarValue::Null), b]);
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(1), Some(2), Some(5), None])
        );
        assert_eq!(
            call_scalar(Greatest, &[s("b"), s("a"), lit(ScalarValue::Null)]),
            ScalarValue::Utf8(Some("b".into()))
        );
        assert_eq!(
            call_scalar(
                Least,
                &[lit(ScalarValue::Null), lit(ScalarValue::Int64(None))]
            ),
            ScalarValue::Int64(None)
        );
        // Decimal and integer: compared as DECIMAL.
        let dec = Decimal128Array::from(vec![15i128])
            .with_precision_and_scale(2, 1)
            .unwrap();
        let out = call_array(Least, &[arr(dec), i(2)]);
        assert_eq!(
            out.data_type(),
            &arrow::datatypes::DataType::Decimal128(21, 1)
        );
        assert_eq!(
            arrow::array::AsArray::as_primitive::<arrow::datatypes::Decimal128Type>(&out).value(0),
            15
        );
        let dates = arr(Date32Array::from(vec![Some(1), None]));
        let out = call_array(Greatest, &[dates, lit(ScalarValue::Date32(Some(2)))]);
        assert_eq!(out.as_ref(), &Date32Array::from(vec![2, 2]));
        let out = call_array(
            Greatest,
            &[
                arr(Float64Array::from(vec![f64::NAN, 1.0])),
                arr(Float64Array::from(vec![1.0, 2.0])),
            ],
        );
        let out = arrow::array::AsArray::as_primitive::<arrow::datatypes::Float64Type>(&out);
        assert!(out.value(0).is_nan());
        assert_eq!(out.value(1), 2.0);
    }
}
