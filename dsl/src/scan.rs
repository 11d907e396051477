//! A light pre-pass over the text form: collects comments for the formatter
//! and reports what the grammar cannot report well (unterminated strings and
//! block comments) or must not meet (parentheses nested deeper than the
//! parser's recursion may go).

use crate::ast::Comment;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// How deeply parentheses may nest. The pest parser recurses once per level,
/// so this bound keeps a pathological input from overflowing the stack.
pub const MAX_PAREN_DEPTH: usize = 64;

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every comment, in source order.
    pub comments: Vec<Comment>,
    /// Errors that stop parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// Scans `src` (a whole file or one condition).
pub fn scan(src: &str) -> Scan {
    let bytes = src.as_bytes();
    let mut out = Scan::default();
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => match string_end(bytes, i) {
                Some(end) => i = end,
                None => {
                    out.diagnostics.push(Diagnostic::new(
                        Code::UnterminatedString,
                        Span::new(i, i + 1),
                        "unterminated string: expected a closing `\"` before the end of the line",
                    ));
                    // Skip to the end of the line and go on looking for more errors.
                    i = bytes.iter().skip(i).position(|&c| c == b'\n').map_or(bytes.len(), |p| i + p);
                }
            },
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = bytes.iter().skip(i).position(|&c| c == b'\n').map_or(bytes.len(), |p| i + p);
                let text = src.get(i..end).unwrap_or("").trim_end_matches('\r');
                out.comments.push(Comment { text: text.to_string(), span: Span::new(i, i + text.len()) });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match src.get(i + 2..).and_then(|rest| rest.find("*/")) {
                    Some(p) => {
                        let end = i + 2 + p + 2;
                        let text = src.get(i..end).unwrap_or("");
                        out.comments.push(Comment { text: text.to_string(), span: Span::new(i, end) });
                        i = end;
                    }
                    None => {
                        out.diagnostics.push(Diagnostic::new(
                            Code::UnterminatedComment,
                            Span::new(i, i + 2),
                            "unterminated block comment: expected `*/` before the end of the file",
                        ));
                        i = bytes.len();
                    }
                }
            }
            b'(' => {
                depth += 1;
                if depth > MAX_PAREN_DEPTH {
                    out.diagnostics.push(Diagnostic::new(
                        Code::TooDeep,
                        Span::new(i, i + 1),
                        format!("parentheses nested too deeply: at most {MAX_PAREN_DEPTH} levels are allowed"),
                    ));
                    return out;
                }
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The offset just past the closing quote of the string opening at `start`,
/// or `None` when a newline or the end of the text comes first.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match bytes.get(i + 1)? {
                b'\n' | b'\r' => return None,
                _ => i += 2,
            },
            b'\n' | b'\r' => return None,
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_comments_but_not_inside_strings() {
        let s = scan("a // one\n\"// not\" /* two */ b");
        let texts: Vec<_> = s.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// one", "/* two */"]);
        assert!(s.diagnostics.is_empty());
    }

    #[test]
    fn unterminated_string_is_reported_at_the_quote() {
        let s = scan("x == \"abc\ny");
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].code, Code::UnterminatedString);
        assert_eq!(s.diagnostics[0].span.start, 5);
    }

    #[test]
    fn deep_parentheses_stop_the_scan() {
        let s = scan(&"(".repeat(10_000));
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].code, Code::TooDeep);
    }
}
