//! String functions with Python's indexing, behind the DataFrame API's `str()` accessor:
//! `str_split_get` (pandas' `str.split(sep).str[i]`) and `str_slice` (`str.slice(start, stop)`,
//! i.e. `s[start:stop]`). Indices are 0-based and count characters; negative ones count from
//! the end.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use rask_common::{exec_err, internal_err, Result};

use super::{IntArg, StrArg};
use crate::columnar::ColumnarValue;

fn arg<'a>(args: &'a [ColumnarValue], i: usize, func: &str) -> Result<&'a ColumnarValue> {
    match args.get(i) {
        Some(a) => Ok(a),
        None => internal_err!("{func}() is missing argument {}", i + 1),
    }
}

/// `str_split_get(s, separator, i)`: piece `i` of `s` split on `separator` (pandas'
/// `s.str.split(sep).str[i]`): 0-based, negative from the end, NULL when there is no such
/// piece. Unlike `split_part` (DuckDB's, 1-based, `''` for a missing piece), an empty piece
/// and a missing one differ. An empty separator is an error, as in Python.
pub fn str_split_get(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "str_split_get")?)?;
    let sep = StrArg::new(arg(args, 1, "str_split_get")?)?;
    let index = IntArg::new(arg(args, 2, "str_split_get")?)?;
    let mut b = StringBuilder::with_capacity(n, 0);
    for i in 0..n {
        let (Some(v), Some(sep), Some(k)) = (s.get(i), sep.get(i), index.get(i)) else {
            b.append_null();
            continue;
        };
        if sep.is_empty() {
            return exec_err!("str_split_get(): empty separator (split on a non-empty string)");
        }
        let k = if k >= 0 {
            usize::try_from(k).ok()
        } else {
            // Counted from the end of the same left-to-right split ("aaa" split on "aa" is
            // ["", "a"]; a right-to-left split would give ["a", ""]).
            let pieces = v.matches(sep).count() + 1;
            usize::try_from(k.unsigned_abs())
                .ok()
                .and_then(|back| pieces.checked_sub(back))
        };
        b.append_option(k.and_then(|k| v.split(sep).nth(k)));
    }
    Ok(Arc::new(b.finish()))
}

/// Python's `s[start:stop]` bounds for a string of `len` characters, as a character range.
fn python_range(len: usize, start: Option<i64>, stop: Option<i64>) -> (usize, usize) {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |b: i64| -> usize {
        let b = if b < 0 { len_i.saturating_add(b) } else { b };
        usize::try_from(b.clamp(0, len_i)).unwrap_or(0)
    };
    (start.map_or(0, clamp), stop.map_or(len, clamp))
}

/// `str_slice(s[, start[, stop]])`: Python's `s[start:stop]` over characters (pandas'
/// `str.slice`): 0-based, `stop` excluded, negative bounds count from the end, bounds past
/// either end are clipped. A NULL bound means the bound is omitted (Python's `None`); only a
/// NULL `s` gives NULL.
pub fn str_slice(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "str_slice")?)?;
    let start = args.get(1).map(IntArg::new).transpose()?;
    let stop = args.get(2).map(IntArg::new).transpose()?;
    let mut b = StringBuilder::with_capacity(n, 0);
    for i in 0..n {
        let Some(v) = s.get(i) else {
            b.append_null();
            continue;
        };
        let st = start.as_ref().and_then(|a| a.get(i));
        let sp = stop.as_ref().and_then(|a| a.get(i));
        if v.is_ascii() {
            let (a, z) = python_range(v.len(), st, sp);
            b.append_value(if a < z { v.get(a..z).unwrap_or("") } else { "" });
            continue;
        }
        let (a, z) = python_range(v.chars().count(), st, sp);
        if a >= z {
            b.append_value("");
            continue;
        }
        let byte = |c: usize| v.char_indices().nth(c).map_or(v.len(), |(at, _)| at);
        b.append_value(v.get(byte(a)..byte(z)).unwrap_or(""));
    }
    Ok(Arc::new(b.finish()))
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;
    use crate::columnar::ColumnarValue;

    fn none() -> ColumnarValue {
        lit(ScalarValue::Int64(None))
    }

    #[test]
    fn split_get_matches_python() {
        // (value, sep, index, expected) from Python: (v.split(sep)[i] if in range else None).
        let cases: &[(&str, &str, i64, Option<&str>)] = &[
            ("a,b,c", ",", 0, Some("a")),
            ("a,b,c", ",", 2, Some("c")),
            ("a,b,c", ",", 3, None),
            ("a,b,c", ",", -1, Some("c")),
            ("a,b,c", ",", -3, Some("a")),
            ("a,b,c", ",", -4, None),
            ("a,,b", ",", 1, Some("")),
            ("", ",", 0, Some("")),
            ("aaa", "aa", -1, Some("a")),
            ("aaa", "aa", 0, Some("")),
            ("日本-語", "-", 1, Some("語")),
            ("x", ",", i64::MIN, None),
        ];
        for (v, sep, k, want) in cases {
            assert_eq!(
                call_scalar(StrSplitGet, &[s(v), s(sep), i(*k)]),
                ScalarValue::Utf8(want.map(str::to_string)),
                "{v:?}.split({sep:?})[{k}]"
            );
        }
        let out = call_array(
            StrSplitGet,
            &[strs(&[Some("a b"), None, Some("c")]), s(" "), i(1)],
        );
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("b"), None, None])
        );
        let err = call_err(StrSplitGet, &[strs(&[Some("a")]), s(""), i(0)]);
        assert!(err.contains("empty separator"), "{err}");
    }

    #[test]
    fn slice_matches_python() {
        // (start, stop, expected) on 'héllo!' from Python's 'héllo!'[start:stop].
        let cases: &[(Option<i64>, Option<i64>, &str)] = &[
            (Some(1), Some(3), "él"),
            (None, Some(2), "hé"),
            (Some(-2), None, "o!"),
            (Some(1), Some(-1), "éllo"),
            (Some(-10), Some(2), "hé"),
            (Some(4), Some(2), ""),
            (Some(10), None, ""),
            (None, None, "héllo!"),
            (Some(0), Some(100), "héllo!"),
            (Some(-3), Some(-1), "lo"),
            (Some(i64::MIN), Some(i64::MAX), "héllo!"),
        ];
        for (st, sp, want) in cases {
            let b = |x: &Option<i64>| x.map_or_else(none, i);
            for v in ["héllo!", "hello!"] {
                let want = if v.is_ascii() {
                    want.replace('é', "e")
                } else {
                    want.to_string()
                };
                assert_eq!(
                    call_scalar(StrSlice, &[s(v), b(st), b(sp)]),
                    ScalarValue::Utf8(Some(want)),
                    "{v}[{st:?}:{sp:?}]"
                );
            }
        }
        let out = call_array(StrSlice, &[strs(&[Some("abc"), None]), i(1)]);
        assert_eq!(out.as_ref(), &StringArray::from(vec![Some("bc"), None]));
    }
}
