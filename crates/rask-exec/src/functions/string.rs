//! String functions. Positions and lengths count characters (Unicode code points), not bytes,
//! like DuckDB; ASCII columns take byte-level fast paths.

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Int64Array, StringArray, StringBuilder,
};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::compute::kernels::substring::substring_by_char;
use arrow::compute::kernels::{comparison, length as length_kernel, regexp};
use arrow::datatypes::DataType;
use rask_common::{exec_err, internal_err, Error, Result};
use rask_expr::ScalarFunc;

use super::{cast_strict, datum, IntArg, StrArg};
use crate::columnar::ColumnarValue;

/// Bytes to reserve for a result about as long as argument `v`.
fn capacity_hint(v: &StrArg<'_>, n: usize) -> usize {
    match v {
        StrArg::Array(a) => a.value_data().len(),
        StrArg::Scalar(s) => s.map_or(0, |s| s.len().saturating_mul(n)),
    }
}

/// Builds a VARCHAR column whose values are slices of the inputs.
fn from_slices<'a>(
    n: usize,
    bytes: usize,
    mut f: impl FnMut(usize) -> Option<&'a str>,
) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(n, bytes);
    for i in 0..n {
        b.append_option(f(i));
    }
    Arc::new(b.finish())
}

/// Builds a VARCHAR column from values written into a scratch buffer; `f` returns false for
/// NULL.
fn from_writer(
    n: usize,
    bytes: usize,
    mut f: impl FnMut(usize, &mut String) -> Result<bool>,
) -> Result<ArrayRef> {
    let mut b = StringBuilder::with_capacity(n, bytes);
    let mut buf = String::new();
    for i in 0..n {
        buf.clear();
        if f(i, &mut buf)? {
            b.append_value(&buf);
        } else {
            b.append_null();
        }
    }
    Ok(Arc::new(b.finish()))
}

fn arg<'a>(args: &'a [ColumnarValue], i: usize, func: &str) -> Result<&'a ColumnarValue> {
    match args.get(i) {
        Some(a) => Ok(a),
        None => internal_err!("{func}() is missing argument {}", i + 1),
    }
}

/// `lower(s)`: lower case, one code point at a time (DuckDB's simple case mapping).
pub fn lower(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    change_case(StrArg::new(arg(args, 0, "lower")?)?, n, false)
}

/// `upper(s)`: upper case, one code point at a time (`ß` becomes `ẞ`, not `SS`).
pub fn upper(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    change_case(StrArg::new(arg(args, 0, "upper")?)?, n, true)
}

fn change_case(s: StrArg<'_>, n: usize, upper: bool) -> Result<ArrayRef> {
    if let StrArg::Array(a) = &s {
        if a.is_ascii() {
            return ascii_change_case(a, upper);
        }
    }
    from_writer(n, capacity_hint(&s, n), |i, buf| {
        let Some(v) = s.get(i) else {
            return Ok(false);
        };
        for c in v.chars() {
            buf.push(if upper { upper_char(c) } else { lower_char(c) });
        }
        Ok(true)
    })
}

/// The single-code-point upper case of `c`, or `c` when there is none.
fn upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ if c == 'ß' => 'ẞ',
        _ => c,
    }
}

/// The single-code-point lower case of `c` (`İ` has a two-code-point full mapping whose
/// first code point is its simple mapping `i`).
fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Changes the case of an all-ASCII column byte by byte, keeping its offsets and nulls.
fn ascii_change_case(a: &StringArray, upper: bool) -> Result<ArrayRef> {
    let offsets = a.value_offsets();
    let (first, last) = match (offsets.first(), offsets.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Ok(Arc::new(a.clone())),
    };
    let bytes = a
        .value_data()
        .get(first as usize..last as usize)
        .unwrap_or_default();
    let values: Vec<u8> = if upper {
        bytes.iter().map(u8::to_ascii_uppercase).collect()
    } else {
        bytes.iter().map(u8::to_ascii_lowercase).collect()
    };
    let offsets = if first == 0 {
        a.offsets().clone()
    } else {
        OffsetBuffer::new(offsets.iter().map(|o| o - first).collect::<Vec<_>>().into())
    };
    Ok(Arc::new(StringArray::try_new(
        offsets,
        Buffer::from_vec(values),
        a.nulls().cloned(),
    )?))
}

/// `length(s)`: the number of characters, as BIGINT.
pub fn length(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    Ok(match StrArg::new(arg(args, 0, "length")?)? {
        // One byte is one character: Arrow's byte length kernel.
        StrArg::Array(a) if a.is_ascii() => {
            cast_strict(&length_kernel::length(a)?, &DataType::Int64)?
        }
        StrArg::Array(a) => Arc::new(Int64Array::from_unary(a, |v| v.chars().count() as i64)),
        StrArg::Scalar(v) => Arc::new(Int64Array::from(vec![
            v.map(|v| v.chars().count() as i64);
            n
        ])),
    })
}

/// `substring(s, start[, length])`: 1-based like SQL. DuckDB's rules: a negative `start`
/// counts from the end, `start` 0 is one before the first character, a negative `length`
/// takes the characters before `start`, and the window is clipped to the string.
pub fn substring(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "substring")?)?;
    let start = IntArg::new(arg(args, 1, "substring")?)?;
    let len = args.get(2).map(IntArg::new).transpose()?;
    // A column with constant bounds that Arrow's kernel expresses directly: its start is
    // 0-based from the front (or from the back with no length) and it has no negative length.
    if let (StrArg::Array(a), IntArg::Scalar(st)) = (&s, &start) {
        let len = match &len {
            None => Some(None),
            Some(IntArg::Scalar(Some(l))) if *l >= 0 => Some(Some(*l)),
            Some(IntArg::Scalar(None)) => return Ok(new_null_array(&DataType::Utf8, n)),
            Some(_) => None,
        };
        let Some(st) = *st else {
            return Ok(new_null_array(&DataType::Utf8, n));
        };
        let arrow_args = match (st, len) {
            (0, Some(l)) => Some((0, l.map(|l| (l - 1).max(0) as u64))),
            (st, Some(l)) if st > 0 => Some((st - 1, l.map(|l| l as u64))),
            (st, Some(None)) => Some((st, None)),
            _ => None,
        };
        if let Some((st, l)) = arrow_args {
            return Ok(Arc::new(substring_by_char(a, st, l)?));
        }
    }
    Ok(from_slices(n, capacity_hint(&s, n), |i| {
        let v = s.get(i)?;
        let st = start.get(i)?;
        let l = match &len {
            None => None,
            Some(l) => Some(l.get(i)?),
        };
        Some(substring_window(v, st, l))
    }))
}

/// DuckDB's substring of one value: see [`substring`].
fn substring_window(v: &str, offset: i64, len: Option<i64>) -> &str {
    let ascii = v.is_ascii();
    let size = if ascii { v.len() } else { v.chars().count() } as i64;
    let mut start = match offset {
        o if o > 0 => o - 1,
        0 => -1,
        o => size.saturating_add(o),
    };
    let end = match len {
        None => i64::MAX,
        Some(l) if l >= 0 => start.saturating_add(l),
        Some(l) => {
            let end = start;
            start = start.saturating_add(l);
            end
        }
    };
    let (start, end) = (start.clamp(0, size) as usize, end.clamp(0, size) as usize);
    if start >= end {
        return "";
    }
    if ascii {
        return v.get(start..end).unwrap_or_default();
    }
    let byte = |chars: usize| v.char_indices().nth(chars).map_or(v.len(), |(b, _)| b);
    v.get(byte(start)..byte(end)).unwrap_or_default()
}

/// Which ends [`trim`] strips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimSide {
    /// `trim`
    Both,
    /// `ltrim`
    Left,
    /// `rtrim`
    Right,
}

/// DuckDB's default trim set: the Unicode space separators (category Zs), which include
/// the no-break space but not tabs or newlines.
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn trim_by(v: &str, side: TrimSide, f: impl Fn(char) -> bool) -> &str {
    match side {
        TrimSide::Both => v.trim_matches(&f),
        TrimSide::Left => v.trim_start_matches(&f),
        TrimSide::Right => v.trim_end_matches(f),
    }
}

/// `trim(s[, characters])`, `ltrim`, `rtrim`: strips spaces, or any of `characters`.
pub fn trim(args: &[ColumnarValue], n: usize, side: TrimSide) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "trim")?)?;
    let chars = args.get(1).map(StrArg::new).transpose()?;
    let cap = capacity_hint(&s, n);
    Ok(match chars {
        None => from_slices(n, cap, |i| {
            Some(trim_by(s.get(i)?, side, is_space_separator))
        }),
        Some(StrArg::Scalar(None)) => new_null_array(&DataType::Utf8, n),
        Some(StrArg::Scalar(Some(set))) => {
            let set: Vec<char> = set.chars().collect();
            from_slices(n, cap, |i| {
                Some(trim_by(s.get(i)?, side, |c| set.contains(&c)))
            })
        }
        Some(set @ StrArg::Array(_)) => from_slices(n, cap, |i| {
            let set = set.get(i)?;
            Some(trim_by(s.get(i)?, side, |c| set.contains(c)))
        }),
    })
}

/// `concat(a, b, ...)`: NULL arguments count as empty strings, so the result is never NULL.
pub fn concat(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let parts = args.iter().map(StrArg::new).collect::<Result<Vec<_>>>()?;
    let cap = parts.iter().map(|p| capacity_hint(p, n)).sum();
    from_writer(n, cap, |i, buf| {
        for p in &parts {
            if let Some(v) = p.get(i) {
                buf.push_str(v);
            }
        }
        Ok(true)
    })
}

/// `starts_with(s, prefix)`, `ends_with(s, suffix)`, `contains(s, needle)` with Arrow's
/// kernels.
pub fn string_predicate(func: ScalarFunc, args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let (l, r) = (arg(args, 0, func.name())?, arg(args, 1, func.name())?);
    for v in [l, r] {
        if matches!(StrArg::new(v)?, StrArg::Scalar(None)) {
            return Ok(new_null_array(&DataType::Boolean, n));
        }
    }
    let (ld, rd) = (datum(l)?, datum(r)?);
    let (ld, rd) = (ld.as_ref(), rd.as_ref());
    let out = match func {
        ScalarFunc::StartsWith => comparison::starts_with(ld, rd)?,
        ScalarFunc::EndsWith => comparison::ends_with(ld, rd)?,
        ScalarFunc::Contains => comparison::contains(ld, rd)?,
        other => return internal_err!("{}() is not a string predicate", other.name()),
    };
    Ok(Arc::new(out))
}

/// `replace(s, from, to)`: every occurrence of `from`; an empty `from` changes nothing.
pub fn replace(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "replace")?)?;
    let from = StrArg::new(arg(args, 1, "replace")?)?;
    let to = StrArg::new(arg(args, 2, "replace")?)?;
    from_writer(n, capacity_hint(&s, n), |i, buf| {
        let (Some(v), Some(from), Some(to)) = (s.get(i), from.get(i), to.get(i)) else {
            return Ok(false);
        };
        if from.is_empty() {
            buf.push_str(v);
            return Ok(true);
        }
        let mut last = 0;
        for (at, m) in v.match_indices(from) {
            buf.push_str(v.get(last..at).unwrap_or_default());
            buf.push_str(to);
            last = at + m.len();
        }
        buf.push_str(v.get(last..).unwrap_or_default());
        Ok(true)
    })
}

/// `split_part(s, separator, index)`: field `index` (1-based; negative counts from the end)
/// of `s` split on `separator`, or `''` when there is no such field. An empty separator
/// splits into characters, like DuckDB's `string_split`.
pub fn split_part(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let s = StrArg::new(arg(args, 0, "split_part")?)?;
    let sep = StrArg::new(arg(args, 1, "split_part")?)?;
    let index = IntArg::new(arg(args, 2, "split_part")?)?;
    Ok(from_slices(n, capacity_hint(&s, n), |i| {
        Some(split_part_one(s.get(i)?, sep.get(i)?, index.get(i)?))
    }))
}

fn split_part_one<'a>(v: &'a str, sep: &str, index: i64) -> &'a str {
    // Field k counted from the front (index > 0) or back (index < 0), 0-based.
    let k = usize::try_from(index.unsigned_abs().saturating_sub(1)).unwrap_or(usize::MAX);
    let field = match (index, sep.is_empty()) {
        (0, _) => None,
        (i, true) => {
            let mut chars = v.char_indices();
            let c = if i > 0 {
                chars.nth(k)
            } else {
                chars.nth_back(k)
            };
            c.and_then(|(b, c)| v.get(b..b + c.len_utf8()))
        }
        (i, false) if i > 0 => v.split(sep).nth(k),
        _ => v.rsplit(sep).nth(k),
    };
    field.unwrap_or_default()
}

/// Rust regex flags and escaping for DuckDB's regex options string.
#[derive(Debug, Default)]
pub(crate) struct RegexOptions {
    flags: String,
    literal: bool,
    /// `g`: every match (only `regexp_replace` reads it).
    pub(crate) global: bool,
}

impl RegexOptions {
    /// Parses DuckDB's options string for `func`.
    pub(crate) fn parse_for(func: &str, options: &str) -> Result<Self> {
        let (mut case_insensitive, mut dot_nl, mut multi_line, mut literal) =
            (false, false, false, false);
        let mut global = false;
        for c in options.chars() {
            match c {
                'c' => case_insensitive = false,
                'i' => case_insensitive = true,
                'l' => literal = true,
                'm' | 'n' | 'p' => {
                    multi_line = true;
                    dot_nl = false;
                }
                's' => {
                    dot_nl = true;
                    multi_line = false;
                }
                'g' => global = true,
                other => {
                    return exec_err!(
                        "{func}(): unrecognized regex option '{other}' (expected c, i, l, m, n, p, s or g)"
                    )
                }
            }
        }
        let mut flags = String::new();
        for (on, f) in [(case_insensitive, 'i'), (dot_nl, 's'), (multi_line, 'm')] {
            if on {
                flags.push(f);
            }
        }
        Ok(RegexOptions {
            flags,
            literal,
            global,
        })
    }

    fn parse(options: &str) -> Result<Self> {
        Self::parse_for("regexp_matches", options)
    }

    /// The pattern with the options applied.
    pub(crate) fn pattern(&self, p: &str) -> String {
        let p = if self.literal {
            regex::escape(p)
        } else {
            p.to_string()
        };
        if self.flags.is_empty() {
            p
        } else {
            format!("(?{}){p}", self.flags)
        }
    }
}

fn regex_error(pattern: &str, e: arrow::error::ArrowError) -> Error {
    match regex::Regex::new(pattern) {
        Err(re) => Error::Execution(format!(
            "regexp_matches(): invalid regular expression '{pattern}': {re}"
        )),
        Ok(_) => Error::from(e),
    }
}

/// `regexp_matches(s, pattern[, options])`: whether `pattern` matches anywhere in `s`, with
/// Arrow's regexp kernels. Options (a constant) as in DuckDB: `i` case-insensitive, `c`
/// case-sensitive, `s` `.` matches newlines, `m`/`n`/`p` newline-sensitive, `l` literal.
pub fn regexp_matches(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    let value = arg(args, 0, "regexp_matches")?;
    let pattern = StrArg::new(arg(args, 1, "regexp_matches")?)?;
    let options = match args.get(2).map(StrArg::new).transpose()? {
        None => RegexOptions::default(),
        Some(StrArg::Scalar(None)) => return Ok(new_null_array(&DataType::Boolean, n)),
        Some(StrArg::Scalar(Some(o))) => RegexOptions::parse(o)?,
        Some(StrArg::Array(_)) => {
            return exec_err!("regexp_matches(): the options argument must be a constant")
        }
    };
    let values = match value {
        ColumnarValue::Scalar(s) if s.is_null() => {
            return Ok(new_null_array(&DataType::Boolean, n))
        }
        other => super::array_of(other, &DataType::Utf8, n)?,
    };
    let values = values.as_string::<i32>();
    let out = match pattern {
        StrArg::Scalar(None) => return Ok(new_null_array(&DataType::Boolean, n)),
        StrArg::Scalar(Some(p)) => {
            let p = options.pattern(p);
            regexp::regexp_is_match_scalar(values, &p, None).map_err(|e| regex_error(&p, e))?
        }
        StrArg::Array(patterns) => {
            let adjusted;
            let patterns = if options.literal || !options.flags.is_empty() {
                adjusted = patterns
                    .iter()
                    .map(|p| p.map(|p| options.pattern(p)))
                    .collect::<StringArray>();
                &adjusted
            } else {
                patterns
            };
            regexp::regexp_is_match(values, patterns, None::<&StringArray>).map_err(|e| {
                let bad = patterns
                    .iter()
                    .flatten()
                    .find(|p| regex::Regex::new(p).is_err());
                match bad {
                    Some(p) => regex_error(p, e),
                    None => Error::from(e),
                }
            })?
        }
    };
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use arrow::array::{BooleanArray, Int64Array, StringArray};
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;

    fn utf8(v: &[Option<&str>]) -> StringArray {
        StringArray::from(v.to_vec())
    }

    fn str_scalar(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.to_string()))
    }

    #[test]
    fn lower_upper_ascii_unicode_and_nulls() {
        let col = strs(&[Some("HeLLo"), None, Some("ÀÉΣ"), Some("straße"), Some("")]);
        let out = call_array(Lower, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("hello"), None, Some("àéσ"), Some("straße"), Some("")])
        );
        let out = call_array(Upper, &[col]);
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("HELLO"), None, Some("ÀÉΣ"), Some("STRAẞE"), Some("")])
        );
        // The ASCII fast path on a sliced column.
        let sliced = StringArray::from(vec!["AB", "Cd", "eF"]).slice(1, 2);
        let out = call_array(Lower, &[arr(sliced)]);
        assert_eq!(out.as_ref(), &utf8(&[Some("cd"), Some("ef")]));
        assert_eq!(call_scalar(Upper, &[s("İx")]), str_scalar("İX"));
        assert_eq!(call_scalar(Lower, &[s("İX")]), str_scalar("ix"));
        assert_eq!(
            call_scalar(Lower, &[lit(ScalarValue::Null)]),
            ScalarValue::Utf8(None)
        );
    }

    #[test]
    fn length_counts_characters() {
        let out = call_array(
            Length,
            &[strs(&[Some("héllo"), None, Some(""), Some("日本語")])],
        );
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(5), None, Some(0), Some(3)])
        );
        let out = call_array(Length, &[strs(&[Some("abc"), None])]);
        assert_eq!(out.as_ref(), &Int64Array::from(vec![Some(3), None]));
        assert_eq!(
            call_scalar(Length, &[s("e\u{301}")]),
            ScalarValue::Int64(Some(2))
        );
    }

    #[test]
    fn substring_matches_duckdb() {
        // (start, length, expected) on 'hello', from DuckDB.
        let cases: &[(i64, Option<i64>, &str)] = &[
            (2, Some(3), "ell"),
            (1, Some(0), ""),
            (0, Some(2), "h"),
            (0, Some(1), ""),
            (0, None, "hello"),
            (-2, None, "lo"),
            (-6, Some(3), "he"),
            (-10, Some(3), ""),
            (-10, None, "hello"),
            (3, None, "llo"),
            (10, None, ""),
            (2, Some(-5), "h"),
            (-3, Some(-1), "e"),
            (7, Some(-3), "lo"),
            (-1, Some(10), "o"),
            (0, Some(-1), ""),
        ];
        let col = strs(&[Some("hello"), None]);
        for (st, len, want) in cases {
            let mut args = vec![col.clone(), i(*st)];
            let mut sargs = vec![s("hello"), i(*st)];
            if let Some(l) = len {
                args.push(i(*l));
                sargs.push(i(*l));
            }
            // Constant bounds (Arrow fast path or the general path).
            let out = call_array(Substring, &args);
            assert_eq!(
                out.as_ref(),
                &utf8(&[Some(want), None]),
                "substring({st}, {len:?})"
            );
            // All constants.
            assert_eq!(
                call_scalar(Substring, &sargs),
                str_scalar(want),
                "{st} {len:?}"
            );
            // Bounds from columns.
            let mut cargs = vec![col.clone(), arr(Int64Array::from(vec![*st, *st]))];
            if let Some(l) = len {
                cargs.push(arr(Int64Array::from(vec![*l, *l])));
            }
            let out = call_array(Substring, &cargs);
            assert_eq!(
                out.as_ref(),
                &utf8(&[Some(want), None]),
                "column {st} {len:?}"
            );
        }
    }

    #[test]
    fn substring_unicode_and_nulls() {
        let col = strs(&[Some("héllo"), Some("日本語"), None]);
        let out = call_array(Substring, &[col.clone(), i(2), i(2)]);
        assert_eq!(out.as_ref(), &utf8(&[Some("él"), Some("本語"), None]));
        let out = call_array(Substring, &[col.clone(), i(-4), i(2)]);
        assert_eq!(out.as_ref(), &utf8(&[Some("él"), Some("日"), None]));
        let out = call_array(Substring, &[col.clone(), i(3), i(-2)]);
        assert_eq!(out.as_ref(), &utf8(&[Some("hé"), Some("日本"), None]));
        let out = call_array(Substring, &[col.clone(), lit(ScalarValue::Int64(None))]);
        assert_eq!(out.as_ref(), &utf8(&[None, None, None]));
        let out = call_array(
            Substring,
            &[
                col,
                i(1),
                arr(Int64Array::from(vec![Some(1), None, Some(1)])),
            ],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("h"), None, None]));
    }

    #[test]
    fn trim_family() {
        let col = strs(&[Some("  a b  "), Some("\t x "), Some("\u{a0}y"), None]);
        let out = call_array(Trim, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("a b"), Some("\t x"), Some("y"), None])
        );
        let out = call_array(LTrim, std::slice::from_ref(&col));
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("a b  "), Some("\t x "), Some("y"), None])
        );
        let out = call_array(RTrim, &[col]);
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("  a b"), Some("\t x"), Some("\u{a0}y"), None])
        );
        assert_eq!(call_scalar(Trim, &[s("xxhixy"), s("xy")]), str_scalar("hi"));
        assert_eq!(call_scalar(RTrim, &[s("aab"), s("b")]), str_scalar("aa"));
        assert_eq!(call_scalar(LTrim, &[s("ééa"), s("é")]), str_scalar("a"));
        assert_eq!(
            call_scalar(Trim, &[s("x"), lit(ScalarValue::Null)]),
            ScalarValue::Utf8(None)
        );
        let out = call_array(
            Trim,
            &[strs(&[Some("-a-"), Some("+b+")]), strs(&[Some("-"), None])],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("a"), None]));
    }

    #[test]
    fn concat_skips_nulls() {
        let out = call_array(
            Concat,
            &[strs(&[Some("a"), None]), s("-"), strs(&[None, Some("b")])],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("a-"), Some("-b")]));
        assert_eq!(
            call_scalar(Concat, &[lit(ScalarValue::Null)]),
            str_scalar("")
        );
        assert_eq!(call_scalar(Concat, &[s("a"), i(1)]), str_scalar("a1"));
        assert_eq!(call_scalar(Concat, &[]), str_scalar(""));
    }

    #[test]
    fn predicates() {
        let col = strs(&[Some("abc"), Some("xbc"), None]);
        let out = call_array(StartsWith, &[col.clone(), s("ab")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(false), None])
        );
        let out = call_array(EndsWith, &[col.clone(), s("bc")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(true), None])
        );
        let out = call_array(
            Contains,
            &[col.clone(), strs(&[Some("c"), Some("a"), Some("a")])],
        );
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(false), None])
        );
        let out = call_array(Contains, &[col, lit(ScalarValue::Null)]);
        assert_eq!(out.as_ref(), &BooleanArray::from(vec![None, None, None]));
        assert_eq!(
            call_scalar(StartsWith, &[s("abc"), s("")]),
            ScalarValue::Boolean(Some(true))
        );
        assert_eq!(
            call_scalar(Contains, &[s("日本語"), s("本")]),
            ScalarValue::Boolean(Some(true))
        );
    }

    #[test]
    fn replace_all() {
        let out = call_array(
            Replace,
            &[
                strs(&[Some("a.b.c"), None, Some("日本日")]),
                s("."),
                s("--"),
            ],
        );
        assert_eq!(
            out.as_ref(),
            &utf8(&[Some("a--b--c"), None, Some("日本日")])
        );
        assert_eq!(
            call_scalar(Replace, &[s("日本日"), s("日"), s("x")]),
            str_scalar("x本x")
        );
        assert_eq!(
            call_scalar(Replace, &[s("abc"), s(""), s("x")]),
            str_scalar("abc")
        );
        assert_eq!(
            call_scalar(Replace, &[s("aaa"), s("aa"), s("b")]),
            str_scalar("ba")
        );
        assert_eq!(
            call_scalar(Replace, &[s("abc"), s("b"), lit(ScalarValue::Null)]),
            ScalarValue::Utf8(None)
        );
    }

    #[test]
    fn split_part_matches_duckdb() {
        let cases: &[(&str, &str, i64, &str)] = &[
            ("a,b,c", ",", 1, "a"),
            ("a,b,c", ",", 3, "c"),
            ("a,b,c", ",", 4, ""),
            ("a,b,c", ",", -1, "c"),
            ("a,b,c", ",", -3, "a"),
            ("a,b,c", ",", -4, ""),
            ("a,b", ",", 0, ""),
            ("abc", "x", 1, "abc"),
            ("abc", "x", 2, ""),
            ("", ",", 1, ""),
            ("a,,b", ",", 2, ""),
            ("a::b", "::", 2, "b"),
            ("abc", "", 2, "b"),
            ("aé日", "", -1, "日"),
            ("aé日", "", 4, ""),
        ];
        for (v, sep, k, want) in cases {
            assert_eq!(
                call_scalar(SplitPart, &[s(v), s(sep), i(*k)]),
                str_scalar(want),
                "{v} {sep} {k}"
            );
        }
        let out = call_array(
            SplitPart,
            &[
                strs(&[Some("a-b"), None, Some("c-d")]),
                s("-"),
                arr(Int64Array::from(vec![Some(2), Some(1), None])),
            ],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("b"), None, None]));
    }

    #[test]
    fn regexp_matches_options() {
        let col = strs(&[Some("abc"), Some("ABC"), None, Some("a\nb")]);
        let out = call_array(RegexpMatch, &[col.clone(), s("b")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(false), None, Some(true)])
        );
        let out = call_array(RegexpMatch, &[col.clone(), s("^b"), s("i")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(false), Some(false), None, Some(false)])
        );
        let out = call_array(RegexpMatch, &[col.clone(), s("B"), s("i")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(true), None, Some(true)])
        );
        let out = call_array(RegexpMatch, &[col.clone(), s("a.b")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(false), Some(false), None, Some(false)])
        );
        let out = call_array(RegexpMatch, &[col.clone(), s("a.b"), s("s")]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(false), Some(false), None, Some(true)])
        );
        assert_eq!(
            call_scalar(RegexpMatch, &[s("a.c"), s("."), s("l")]),
            ScalarValue::Boolean(Some(true))
        );
        assert_eq!(
            call_scalar(RegexpMatch, &[s("abc"), s("."), s("l")]),
            ScalarValue::Boolean(Some(false))
        );
        // Patterns from a column, with options.
        let out = call_array(
            RegexpMatch,
            &[
                col.clone(),
                strs(&[Some("^A"), Some("c$"), Some("x"), None]),
                s("i"),
            ],
        );
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![Some(true), Some(true), None, None])
        );
        let out = call_array(RegexpMatch, &[col.clone(), lit(ScalarValue::Null)]);
        assert_eq!(
            out.as_ref(),
            &BooleanArray::from(vec![None, None, None, None])
        );
        let err = call_err(RegexpMatch, &[col.clone(), s("b"), s("z")]);
        assert!(err.contains("unrecognized regex option 'z'"), "{err}");
        let err = call_err(RegexpMatch, &[col.clone(), s("(")]);
        assert!(err.contains("invalid regular expression '('"), "{err}");
        let err = call_err(
            RegexpMatch,
            &[col, strs(&[Some("a"), Some("["), None, None])],
        );
        assert!(err.contains("invalid regular expression '['"), "{err}");
    }
}
