//! LIKE / ILIKE with a constant pattern, compiled once.
//!
//! Patterns made of literal segments and `%` (the TPC-H cases `'%green%'`,
//! `'%special%requests%'`, `'PROMO%'`) run as chained `memchr::memmem` searches; patterns
//! with `_` or escapes fall back to a regex.

use arrow::array::{Array, BooleanArray, BooleanBufferBuilder, StringArray};
use memchr::memmem::Finder;

/// A compiled LIKE pattern.
#[derive(Debug)]
pub struct LikeMatcher {
    kind: Kind,
    case_insensitive: bool,
}

#[derive(Debug)]
enum Kind {
    /// Literal segments separated by `%`; `anchored_start`/`anchored_end` say whether the
    /// pattern does not start/end with `%`.
    Segments {
        segments: Vec<Vec<u8>>,
        finders: Vec<Finder<'static>>,
        anchored_start: bool,
        anchored_end: bool,
    },
    Regex(regex::bytes::Regex),
}

impl LikeMatcher {
    /// Compiles `pattern` (`%` any run, `_` one character, `\` escapes).
    pub fn new(pattern: &str, case_insensitive: bool) -> Self {
        let pat = if case_insensitive {
            pattern.to_lowercase()
        } else {
            pattern.to_string()
        };
        let simple = !pat.contains('_') && !pat.contains('\\');
        let kind = if simple {
            let anchored_start = !pat.starts_with('%');
            let anchored_end = !pat.ends_with('%');
            let segments: Vec<Vec<u8>> = pat
                .split('%')
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .collect();
            let finders = segments
                .iter()
                .map(|s| Finder::new(s.as_slice()).into_owned())
                .collect();
            Kind::Segments {
                segments,
                finders,
                anchored_start,
                anchored_end,
            }
        } else {
            let mut re = String::from("(?s)^");
            let mut chars = pat.chars();
            while let Some(c) = chars.next() {
                match c {
                    '%' => re.push_str(".*"),
                    '_' => re.push('.'),
                    '\\' => {
                        if let Some(n) = chars.next() {
                            re.push_str(&regex::escape(&n.to_string()));
                        }
                    }
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            match regex::bytes::Regex::new(&re) {
                Ok(r) => Kind::Regex(r),
                // An escaped pattern always compiles; keep a matcher that matches nothing.
                Err(_) => Kind::Segments {
                    segments: vec![],
                    finders: vec![],
                    anchored_start: true,
                    anchored_end: true,
                },
            }
        };
        LikeMatcher {
            kind,
            case_insensitive,
        }
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        if self.case_insensitive {
            let lower = value.to_lowercase();
            self.matches_bytes(lower.as_bytes())
        } else {
            self.matches_bytes(value.as_bytes())
        }
    }

    fn matches_bytes(&self, v: &[u8]) -> bool {
        match &self.kind {
            Kind::Regex(r) => r.is_match(v),
            Kind::Segments {
                segments,
                finders,
                anchored_start,
                anchored_end,
            } => {
                if segments.is_empty() {
                    // '' matches only ''; '%' (or '%%') matches everything.
                    return !(*anchored_start && *anchored_end) || v.is_empty();
                }
                let last = segments.len() - 1;
                let mut pos = 0usize;
                for (i, (seg, finder)) in segments.iter().zip(finders).enumerate() {
                    if i == 0 && *anchored_start {
                        if !v.starts_with(seg) {
                            return false;
                        }
                        if last == 0 && *anchored_end {
                            return v.len() == seg.len();
                        }
                        pos = seg.len();
                        continue;
                    }
                    if i == last && *anchored_end {
                        return v.len() >= pos + seg.len() && v.ends_with(seg);
                    }
                    match finder.find(&v[pos..]) {
                        Some(at) => pos += at + seg.len(),
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// Evaluates over a string array (NULL stays NULL).
    pub fn evaluate(&self, values: &StringArray, negated: bool) -> BooleanArray {
        let mut bits = BooleanBufferBuilder::new(values.len());
        for i in 0..values.len() {
            bits.append(self.matches(values.value(i)) != negated);
        }
        BooleanArray::new(bits.finish(), values.nulls().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("abc", "ab", false),
            ("a%", "abc", true),
            ("%c", "abc", true),
            ("%b%", "abc", true),
            ("%x%", "abc", false),
            ("%special%requests%", "a special big requests x", true),
            ("%special%requests%", "requests special", false),
            ("a%c", "abc", true),
            ("a%c", "ac", true),
            ("a%c", "a", false),
            ("ab%bc", "abc", false),
            ("a_c", "abc", true),
            ("a_c", "abbc", false),
            ("%", "", true),
            ("", "", true),
            ("", "a", false),
            ("PROMO%", "PROMO BRUSHED", true),
            ("%BRASS", "LARGE BRASS", true),
        ];
        for (p, v, want) in cases {
            assert_eq!(LikeMatcher::new(p, false).matches(v), *want, "{v} LIKE {p}");
        }
        assert!(LikeMatcher::new("%ABC%", true).matches("xabcx"));
    }
}
