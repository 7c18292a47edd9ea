//! Regular-expression functions that return text: DuckDB's `regexp_extract` and
//! `regexp_replace`, and `str_extract` (pandas' `str.extract`).
//!
//! Patterns use the Rust `regex` crate's syntax (RE2-like, as DuckDB's: no look-around, no
//! back-references). A constant pattern is compiled once per batch and cached per thread, so a
//! query compiles it about once per worker; a pattern column compiles each distinct value
//! through the same cache. An invalid pattern is an execution error naming it.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::DataType;
use hashbrown::HashMap;
use rask_common::{exec_err, internal_err, Result};
use regex::Regex;

use super::string::RegexOptions;
use super::{IntArg, StrArg};
use crate::columnar::ColumnarValue;

/// Cached compiled patterns per thread; cleared when it holds this many.
const CACHE_LIMIT: usize = 64;

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// `pattern` compiled (once per thread while it stays cached).
///
/// # Errors
/// An execution error naming `func` and the pattern when it is not a valid regex.
pub(crate) fn compiled(func: &str, pattern: &str) -> Result<Regex> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => return exec_err!("{func}(): invalid regular expression '{pattern}': {e}"),
    };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

fn arg<'a>(args: &'a [ColumnarValue], i: usize, func: &str) -> Result<&'a ColumnarValue> {
    match args.get(i) {
        Some(a) => Ok(a),
        None => internal_err!("{func}() is missing argument {}", i + 1),
    }
}

/// The regex options argument `i` (a constant); `Ok(None)` when it is NULL.
fn options(args: &[ColumnarValue], i: usize, func: &str) -> Result<Option<RegexOptions>> {
    match args.get(i).map(StrArg::new).transpose()? {
        None => Ok(Some(RegexOptions::default())),
        Some(StrArg::Scalar(None)) => Ok(None),
        Some(StrArg::Scalar(Some(o))) => RegexOptions::parse_for(func, o).map(Some),
        Some(StrArg::Array(_)) => exec_err!("{func}(): the options argument must be a constant"),
    }
}

/// Compiles row `i`'s pattern: the constant one, or the row's through the cache.
struct Patterns<'a> {
    func: &'static str,
    arg: StrArg<'a>,
    options: RegexOptions,
    constant: Option<Regex>,
}

impl<'a> Patterns<'a> {
    fn new(func: &'static str, arg: StrArg<'a>, options: RegexOptions) -> Result<Self> {
        let constant = match arg {
            StrArg::Scalar(Some(p)) => Some(compiled(func, &options.pattern(p))?),
            _ => None,
        };
        Ok(Patterns {
            func,
            arg,
            options,
            constant,
        })
    }

    fn get(&self, i: usize) -> Result<Option<Regex>> {
        if let Some(re) = &self.constant {
            return Ok(Some(re.clone()));
        }
        match self.arg.get(i) {
            None => Ok(None),
            Some(p) => compiled(self.func, &self.options.pattern(p)).map(Some),
        }
    }

    /// True when every row's pattern is NULL.
    fn all_null(&self) -> bool {
        matches!(self.arg, StrArg::Scalar(None))
    }
}

/// `regexp_extract(s, pattern[, group[, options]])` (`null_on_miss == false`, DuckDB: `''`
/// when nothing matches or the group took no part) and `str_extract(s, pattern[, group])`
/// (`null_on_miss == true`, pandas' `str.extract`: NULL then). `group` 0 (the default) is the
/// whole match; a group the pattern does not have is an error.
pub fn regexp_extract(args: &[ColumnarValue], n: usize, null_on_miss: bool) -> Result<ArrayRef> {
    let func = if null_on_miss {
        "str_extract"
    } else {
        "regexp_extract"
    };
    let s = StrArg::new(arg(args, 0, func)?)?;
    let Some(options) = options(args, 3, func)? else {
        return Ok(new_null_array(&DataType::Utf8, n));
    };
    let patterns = Patterns::new(func, StrArg::new(arg(args, 1, func)?)?, options)?;
    let group = args.get(2).map(IntArg::new).transpose()?;
    if patterns.all_null() || matches!(s, StrArg::Scalar(None)) {
        return Ok(new_null_array(&DataType::Utf8, n));
    }
    let mut b = arrow::array::StringBuilder::with_capacity(n, 0);
    for i in 0..n {
        let (Some(v), Some(re)) = (s.get(i), patterns.get(i)?) else {
            b.append_null();
            continue;
        };
        let g = match &group {
            None => 0,
            Some(g) => match g.get(i) {
                Some(g) => g,
                None => {
                    b.append_null();
                    continue;
                }
            },
        };
        let groups = re.captures_len();
        let Some(g) = usize::try_from(g).ok().filter(|g| *g < groups) else {
            return exec_err!(
                "{func}(): group {g} does not exist in pattern '{}' ({} capture groups)",
                re.as_str(),
                groups - 1
            );
        };
        match re.captures(v).and_then(|c| c.get(g)) {
            Some(m) => b.append_value(m.as_str()),
            None if null_on_miss => b.append_null(),
            None => b.append_value(""),
        }
    }
    Ok(Arc::new(b.finish()))
}

/// The `regex` crate's replacement string for an RE2/DuckDB one: `\0`..`\9` name groups,
/// `\\` is a backslash and `$` is literal. Errors name the replacement: another escape, or a
/// group the pattern lacks (`groups` counts the whole match).
fn rust_replacement(func: &str, rep: &str, groups: usize) -> Result<String> {
    let mut out = String::with_capacity(rep.len() + 8);
    let mut chars = rep.chars();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some(d) if d.is_ascii_digit() => {
                    let g = (d as u8 - b'0') as usize;
                    if g >= groups {
                        return exec_err!(
                            "{func}(): replacement '{rep}' refers to group \\{g}, but the pattern \
                             has {} capture groups",
                            groups - 1
                        );
                    }
                    out.push_str(&format!("${{{g}}}"));
                }
                other => {
                    let what = other.map_or("a trailing '\\'".to_string(), |o| format!("'\\{o}'"));
                    return exec_err!(
                        "{func}(): invalid replacement '{rep}': {what} is not a group reference \
                         (\\0 to \\9); write \\\\ for a backslash"
                    );
                }
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `regexp_replace(s, pattern, replacement[, options])`, DuckDB's: replaces the first match,
/// or every match with the `g` option (the DataFrame API's `str().replace_regex` passes `g`,
/// as pandas replaces all). The replacement refers to groups as `\1` (RE2, DuckDB and Python
/// write them so); `$` is literal.
pub fn regexp_replace(args: &[ColumnarValue], n: usize) -> Result<ArrayRef> {
    const FUNC: &str = "regexp_replace";
    let s = StrArg::new(arg(args, 0, FUNC)?)?;
    let rep = StrArg::new(arg(args, 2, FUNC)?)?;
    let Some(options) = options(args, 3, FUNC)? else {
        return Ok(new_null_array(&DataType::Utf8, n));
    };
    let global = options.global;
    let patterns = Patterns::new(FUNC, StrArg::new(arg(args, 1, FUNC)?)?, options)?;
    if patterns.all_null()
        || matches!(s, StrArg::Scalar(None))
        || matches!(rep, StrArg::Scalar(None))
    {
        return Ok(new_null_array(&DataType::Utf8, n));
    }
    // A constant replacement for a constant pattern is translated once.
    let constant_rep = match (&patterns.constant, &rep) {
        (Some(re), StrArg::Scalar(Some(r))) => Some(rust_replacement(FUNC, r, re.captures_len())?),
        _ => None,
    };
    let mut b = arrow::array::StringBuilder::with_capacity(n, 0);
    for i in 0..n {
        let (Some(v), Some(re), Some(r)) = (s.get(i), patterns.get(i)?, rep.get(i)) else {
            b.append_null();
            continue;
        };
        let translated;
        let r = match &constant_rep {
            Some(r) => r.as_str(),
            None => {
                translated = rust_replacement(FUNC, r, re.captures_len())?;
                translated.as_str()
            }
        };
        if global {
            b.append_value(re.replace_all(v, r));
        } else {
            b.append_value(re.replace(v, r));
        }
    }
    Ok(Arc::new(b.finish()))
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use rask_common::ScalarValue;
    use rask_expr::ScalarFunc::*;

    use super::super::test_util::*;

    fn utf8(v: &[Option<&str>]) -> StringArray {
        StringArray::from(v.to_vec())
    }

    fn text(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.to_string()))
    }

    #[test]
    fn regexp_extract_matches_duckdb() {
        // Expected values from DuckDB 1.x:
        // SELECT regexp_extract('abc123', '[0-9]+'), regexp_extract('abc', '[0-9]+'),
        //        regexp_extract('a1b22', '([a-z])([0-9]+)', 2), regexp_extract('ab', '(x)?b', 1)
        assert_eq!(
            call_scalar(RegexpExtract, &[s("abc123"), s("[0-9]+")]),
            text("123")
        );
        assert_eq!(
            call_scalar(RegexpExtract, &[s("abc"), s("[0-9]+")]),
            text("")
        );
        assert_eq!(
            call_scalar(RegexpExtract, &[s("a1b22"), s("([a-z])([0-9]+)"), i(2)]),
            text("1")
        );
        assert_eq!(
            call_scalar(RegexpExtract, &[s("ab"), s("(x)?b"), i(1)]),
            text("")
        );
        assert_eq!(
            call_scalar(RegexpExtract, &[s("ABC"), s("b"), i(0), s("i")]),
            text("B")
        );
        let out = call_array(
            RegexpExtract,
            &[strs(&[Some("x1"), None, Some("y")]), s("[0-9]")],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("1"), None, Some("")]));
    }

    #[test]
    fn str_extract_is_null_on_a_miss() {
        // pandas: pd.Series(['a1b22', 'zz', None, 'ab']).str.extract('([a-z])([0-9]+)?')[1]
        // -> ['1', NaN, NaN, NaN]
        let out = call_array(
            StrExtract,
            &[
                strs(&[Some("a1b22"), Some("zz"), None, Some("ab")]),
                s("([a-z])([0-9]+)?"),
                i(2),
            ],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("1"), None, None, None]));
        // Patterns from a column, compiled through the cache.
        let out = call_array(
            StrExtract,
            &[
                strs(&[Some("abc"), Some("abc"), Some("abc")]),
                strs(&[Some("b."), Some("x"), None]),
            ],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("bc"), None, None]));
    }

    #[test]
    fn regex_errors_name_the_pattern() {
        let err = call_err(StrExtract, &[strs(&[Some("a")]), s("(")]);
        assert!(
            err.contains("str_extract(): invalid regular expression '('"),
            "{err}"
        );
        let err = call_err(RegexpExtract, &[strs(&[Some("a")]), s("(a)"), i(2)]);
        assert!(
            err.contains("group 2 does not exist in pattern '(a)'"),
            "{err}"
        );
        let err = call_err(RegexpReplace, &[strs(&[Some("a")]), s("["), s("x")]);
        assert!(
            err.contains("regexp_replace(): invalid regular expression '['"),
            "{err}"
        );
        let err = call_err(RegexpReplace, &[strs(&[Some("a")]), s("(a)"), s("\\2")]);
        assert!(err.contains("refers to group \\2"), "{err}");
        let err = call_err(RegexpReplace, &[strs(&[Some("a")]), s("a"), s("\\q")]);
        assert!(err.contains("'\\q' is not a group reference"), "{err}");
        let err = call_err(RegexpReplace, &[strs(&[Some("a")]), s("a"), s("b"), s("z")]);
        assert!(
            err.contains("regexp_replace(): unrecognized regex option 'z'"),
            "{err}"
        );
    }

    #[test]
    fn regexp_replace_matches_duckdb() {
        // DuckDB: regexp_replace('a1b22', '[0-9]', 'X') -> 'aXb22'; with 'g' -> 'aXbXX';
        // regexp_replace('a1b22', '([a-z])([0-9]+)', '\2\1', 'g') -> '1a22b';
        // regexp_replace('abc', 'b', '$0') -> 'a$0c'
        assert_eq!(
            call_scalar(RegexpReplace, &[s("a1b22"), s("[0-9]"), s("X")]),
            text("aXb22")
        );
        assert_eq!(
            call_scalar(RegexpReplace, &[s("a1b22"), s("[0-9]"), s("X"), s("g")]),
            text("aXbXX")
        );
        assert_eq!(
            call_scalar(
                RegexpReplace,
                &[s("a1b22"), s("([a-z])([0-9]+)"), s("\\2\\1"), s("g")]
            ),
            text("1a22b")
        );
        assert_eq!(
            call_scalar(RegexpReplace, &[s("abc"), s("b"), s("$0")]),
            text("a$0c")
        );
        assert_eq!(
            call_scalar(RegexpReplace, &[s("a.c"), s("."), s("\\\\"), s("lg")]),
            text("a\\c")
        );
        let out = call_array(
            RegexpReplace,
            &[
                strs(&[Some("aa"), None, Some("ba")]),
                strs(&[Some("a"), Some("a"), Some("b")]),
                s("<\\0>"),
                s("g"),
            ],
        );
        assert_eq!(out.as_ref(), &utf8(&[Some("<a><a>"), None, Some("<b>a")]));
        assert_eq!(
            call_scalar(
                RegexpReplace,
                &[s("a"), s("a"), lit(ScalarValue::Utf8(None))]
            ),
            ScalarValue::Utf8(None)
        );
    }
}
