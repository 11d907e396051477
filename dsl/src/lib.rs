//! The Kensa rule language as a tree: source spans and diagnostics, the AST,
//! the readers of the text form (through the pest grammar) and of the JSON
//! form, the canonical formatter and the JSON writer.
//!
//! This crate owns syntax and its faithful printing. It knows nothing of the
//! schema of events, of types, of lists' contents or of evaluation: names stay
//! strings here and are resolved by `kensa-compiler`.

pub mod ast;
pub mod comments;
pub mod diagnostic;
pub mod format;
pub mod json;
pub mod literal;
pub mod parse;
pub mod scan;
pub mod span;

pub use ast::Ruleset;
pub use diagnostic::{Code, Diagnostic, SourceFile};
pub use span::Span;

/// Which form a rule-set file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The text form (`.kensa`).
    Text,
    /// The JSON form.
    Json,
}

/// Tells the form by content: JSON starts with `{` after any whitespace.
pub fn source_kind(text: &str) -> SourceKind {
    if text.trim_start().starts_with('{') {
        SourceKind::Json
    } else {
        SourceKind::Text
    }
}

/// Decodes file bytes as UTF-8 and removes a leading BOM. Errors name the
/// offset of the first byte that is not UTF-8.
pub fn decode_source(bytes: &[u8]) -> Result<&str, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::new(Code::BadSource, Span::new(at, at + 1), "the file is not valid UTF-8")
    })
}

/// Reads a rule set in either form (told apart by [`source_kind`]). `text`
/// must already be decoded by [`decode_source`].
pub fn parse_ruleset(text: &str) -> Result<Ruleset, Vec<Diagnostic>> {
    match parse_ruleset_recovering(text) {
        (Some(rs), diags) if diags.is_empty() => Ok(rs),
        (_, diags) => Err(diags),
    }
}

/// Like [`parse_ruleset`], but also returns the tree when the errors found
/// leave it whole, so that a checker can add its own errors to the report.
pub fn parse_ruleset_recovering(text: &str) -> (Option<Ruleset>, Vec<Diagnostic>) {
    if text.trim().is_empty() {
        let empty = Diagnostic::new(
            Code::BadSource,
            Span::new(0, 0),
            "the file is empty: expected `ruleset NAME { ... }` or a JSON rule set",
        );
        return (None, vec![empty]);
    }
    match source_kind(text) {
        SourceKind::Text => parse::parse_text_recovering(text),
        SourceKind::Json => match json::read::read_json(text) {
            Ok(rs) => (Some(rs), Vec::new()),
            Err(diags) => (None, diags),
        },
    }
}
