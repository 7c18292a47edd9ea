//! Splitting a script into statements on top-level `;`.

/// One statement of a script: its byte offset in the script and its text (trimmed).
pub(crate) struct Piece {
    pub offset: usize,
    pub text: String,
}

/// Splits `script` on `;` outside quotes (`'..'`, `".."`, `E'..'`, `$tag$..$tag$`) and
/// comments (`-- ..`, `/* .. */`). Pieces holding only whitespace and comments are dropped.
pub(crate) fn split(script: &str) -> Vec<Piece> {
    let bytes = script.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let n = bytes.len();
    let push = |from: usize, to: usize, pieces: &mut Vec<Piece>| {
        let raw = &script[from..to];
        if has_code(raw) {
            let lead = raw.len() - raw.trim_start().len();
            pieces.push(Piece {
                offset: from + lead,
                text: raw.trim().to_string(),
            });
        }
    };
    while i < n {
        let c = bytes[i];
        match c {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < n && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' if i == 0 || !is_ident_byte(bytes[i - 1]) => {
                // `$tag$ ... $tag$` (tag may be empty); `$1` parameters are not quotes.
                let mut j = i + 1;
                while j < n && (bytes[j].is_ascii_alphabetic() || bytes[j] == b'_') {
                    j += 1;
                }
                if j < n && bytes[j] == b'$' {
                    let tag = &script[i..=j];
                    match script[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = n,
                    }
                } else {
                    i += 1;
                }
            }
            b';' => {
                push(start, i, &mut pieces);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < n {
        push(start, n, &mut pieces);
    }
    pieces
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index just past the quoted string starting at `i` (doubled quotes escape; with
/// `backslash`, `\x` escapes too). Unterminated strings run to the end.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        let c = bytes[i];
        if backslash && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// True when `text` has something besides whitespace and comments.
fn has_code(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            match text[i + 2..].find("*/") {
                Some(end) => i = i + 2 + end + 2,
                None => return false,
            }
        } else {
            return true;
        }
    }
    false
}

/// The text with leading whitespace and comments removed.
pub(crate) fn strip_leading_comments(text: &str) -> &str {
    let mut t = text.trim_start();
    loop {
        if let Some(rest) = t.strip_prefix("--") {
            t = match rest.find('\n') {
                Some(i) => rest[i + 1..].trim_start(),
                None => "",
            };
        } else if let Some(rest) = t.strip_prefix("/*") {
            t = match rest.find("*/") {
                Some(i) => rest[i + 2..].trim_start(),
                None => "",
            };
        } else {
            return t;
        }
    }
}

/// `(line, column)`, 1-based in characters, of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(i) => before[i + 1..].chars().count() + 1,
        None => before.chars().count() + 1,
    };
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split(s).into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        assert_eq!(texts("SELECT 1; SELECT 2;"), vec!["SELECT 1", "SELECT 2"]);
        assert_eq!(
            texts("SELECT ';' AS x; SELECT 2"),
            vec!["SELECT ';' AS x", "SELECT 2"]
        );
        assert_eq!(texts("SELECT 'it''s;'"), vec!["SELECT 'it''s;'"]);
        assert_eq!(
            texts("SELECT \"a;b\" FROM t"),
            vec!["SELECT \"a;b\" FROM t"]
        );
        assert_eq!(
            texts("SELECT 1 -- a; comment\n; /* x; y */ SELECT 2"),
            vec!["SELECT 1 -- a; comment", "/* x; y */ SELECT 2"]
        );
        assert_eq!(
            texts("SELECT E'a\\';b'; SELECT 3"),
            vec!["SELECT E'a\\';b'", "SELECT 3"]
        );
        assert_eq!(
            texts("SELECT $$a;b$$; SELECT 4"),
            vec!["SELECT $$a;b$$", "SELECT 4"]
        );
        assert!(texts("  ;\n ; -- only a comment\n").is_empty());
        assert!(texts("").is_empty());
    }

    #[test]
    fn positions() {
        let s = "SELECT 1;\n  SELECT 2";
        let p = split(s);
        assert_eq!(line_col(s, p[1].offset), (2, 3));
        assert_eq!(strip_leading_comments("-- x\n /* y */ COPY t"), "COPY t");
    }
}
