//! One diagnostic type for every error a rule set can have, and its rendering.
//!
//! Messages follow one style: lowercase, no final period, user input in
//! backticks, types named as the language names them (`number`, `[string]`),
//! never as Rust names.

use crate::span::{LineCol, Span};
use codespan_reporting::files::{Files, SimpleFile};
use std::fmt::Write as _;

/// The stable code of a class of error. Codes never change meaning; new
/// classes get new codes. The README lists them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// K001: the text does not follow the grammar.
    Syntax,
    /// K002: a string literal without its closing quote.
    UnterminatedString,
    /// K003: a `/*` comment without its `*/`.
    UnterminatedComment,
    /// K004: an escape sequence the language does not have.
    BadEscape,
    /// K005: expressions nested deeper than the compiler accepts.
    TooDeep,
    /// K006: a number literal that is not a finite f64, or a bad integer.
    BadNumber,
    /// K007: a timestamp literal that is not RFC 3339.
    BadTimestamp,
    /// K008: a duration that is zero where it must be positive, or too large.
    BadDuration,
    /// K009: a rule id or name that is a keyword.
    KeywordAsName,
    /// K010: a ruleset item or rule attribute given more than once.
    Repeated,
    /// K011: the file is not UTF-8 or holds no rule set.
    BadSource,
    /// K020: the JSON text is not well-formed JSON.
    JsonSyntax,
    /// K021: a JSON key the JSON form does not have.
    JsonUnknownKey,
    /// K022: a required JSON key is absent.
    JsonMissingKey,
    /// K023: a JSON value of the wrong JSON type or shape.
    JsonShape,
    /// K030: two rules with one id.
    DuplicateRule,
    /// K031: two lists or velocities with one name.
    DuplicateName,
    /// K032: a velocity whose name is also a field path.
    VelocityShadowsField,
    /// K033: a `field` declaration that clashes with another field.
    BadFieldDecl,
    /// K034: an unknown type or list kind.
    UnknownType,
    /// K035: an `outcomes` declaration that is not valid.
    BadOutcomes,
    /// K036: a rule's outcome is not one of the rule set's outcomes.
    UnknownOutcome,
    /// K040: an unknown field or velocity.
    UnknownField,
    /// K041: an unknown list.
    UnknownList,
    /// K042: an unknown function, or a call with the wrong number of arguments.
    UnknownFunction,
    /// K043: an unknown aggregate, or an aggregate with the wrong arguments.
    BadAggregate,
    /// K044: a velocity argument, key or `where` that reads what it may not.
    BadVelocityInput,
    /// K050: operand types that an operator or function does not accept.
    TypeMismatch,
    /// K051: a condition that is not `bool`.
    NotBool,
    /// K052: a literal that must be a literal, or a literal that is not valid
    /// for its place (regex, UTC offset, IP address, CIDR range).
    BadLiteral,
    /// K053: a list whose kind does not fit the tested expression.
    ListKindMismatch,
    /// K054: `skip_scoring` on a rule that reads `score`.
    SkipScoringPhase2,
}

impl Code {
    /// The code as printed, e.g. `K040`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "K001",
            Code::UnterminatedString => "K002",
            Code::UnterminatedComment => "K003",
            Code::BadEscape => "K004",
            Code::TooDeep => "K005",
            Code::BadNumber => "K006",
            Code::BadTimestamp => "K007",
            Code::BadDuration => "K008",
            Code::KeywordAsName => "K009",
            Code::Repeated => "K010",
            Code::BadSource => "K011",
            Code::JsonSyntax => "K020",
            Code::JsonUnknownKey => "K021",
            Code::JsonMissingKey => "K022",
            Code::JsonShape => "K023",
            Code::DuplicateRule => "K030",
            Code::DuplicateName => "K031",
            Code::VelocityShadowsField => "K032",
            Code::BadFieldDecl => "K033",
            Code::UnknownType => "K034",
            Code::BadOutcomes => "K035",
            Code::UnknownOutcome => "K036",
            Code::UnknownField => "K040",
            Code::UnknownList => "K041",
            Code::UnknownFunction => "K042",
            Code::BadAggregate => "K043",
            Code::BadVelocityInput => "K044",
            Code::TypeMismatch => "K050",
            Code::NotBool => "K051",
            Code::BadLiteral => "K052",
            Code::ListKindMismatch => "K053",
            Code::SkipScoringPhase2 => "K054",
        }
    }
}

/// An error in a rule set, with the place it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The class of error.
    pub code: Code,
    /// What is wrong, in the rule author's terms.
    pub message: String,
    /// Where: the offending token or node.
    pub span: Span,
    /// An optional hint on how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a hint.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, message: message.into(), span, help: None }
    }

    /// The same diagnostic with a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// Sorts diagnostics into source order (stable for equal positions), as
/// `kensa check` reports them.
pub fn sort_by_position(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| d.span.start);
}

/// A source text with its name, able to turn spans into lines and columns and
/// to render diagnostics.
pub struct SourceFile<'a> {
    file: SimpleFile<&'a str, &'a str>,
}

impl<'a> SourceFile<'a> {
    /// `name` is the path as the user gave it; `text` the source with any BOM
    /// already removed (so columns never count it).
    pub fn new(name: &'a str, text: &'a str) -> SourceFile<'a> {
        SourceFile { file: SimpleFile::new(name, text) }
    }

    /// The 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.file.source().len());
        match self.file.location((), offset) {
            Ok(loc) => LineCol { line: loc.line_number, col: loc.column_number },
            Err(_) => LineCol { line: 1, col: 1 },
        }
    }

    /// Renders one diagnostic: the first line is exactly
    /// `PATH:LINE:COL: error: MESSAGE`, then the source line and a caret under
    /// the span, then the code and any hint.
    pub fn render(&self, d: &Diagnostic) -> String {
        let text = *self.file.source();
        let start = (d.span.start as usize).min(text.len());
        let LineCol { line, col } = self.line_col(start);
        let mut out = String::new();
        let _ = writeln!(out, "{}:{}:{}: error: {}", self.file.name(), line, col, d.message);
        let line_range = self
            .file
            .line_range((), line.saturating_sub(1))
            .unwrap_or(start..start);
        let line_text = text.get(line_range.clone()).unwrap_or("").trim_end_matches(['\n', '\r']);
        let gutter = line.to_string();
        let pad = " ".repeat(gutter.len());
        let _ = writeln!(out, "{gutter} | {line_text}");
        // Keep tabs so the caret lines up under the same column on a terminal.
        let lead: String = line_text
            .chars()
            .take(col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        // The caret covers the span's part of the shown line (a span may
        // start past the line's visible end, on its `\r` or `\n`).
        let line_end = line_range.start + line_text.len();
        let end = (d.span.end as usize).min(line_end).max(start);
        let width = text.get(start..end).map_or(0, |s| s.chars().count()).max(1);
        let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        let _ = writeln!(out, "{pad} = code: {}", d.code.as_str());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_line_and_caret_in_characters() {
        let src = "ruleset r {\n  rule é -> block when föo > 1\n}\n";
        let file = SourceFile::new("x.kensa", src);
        let at = src.find("föo").unwrap();
        let d = Diagnostic::new(Code::UnknownField, Span::new(at, at + "föo".len()), "unknown field `föo`");
        let out = file.render(&d);
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("x.kensa:2:24: error: unknown field `föo`"));
        assert_eq!(lines.next(), Some("2 |   rule é -> block when föo > 1"));
        assert_eq!(lines.next(), Some("  |                        ^^^"));
        assert_eq!(lines.next(), Some("  = code: K040"));
    }

    #[test]
    fn span_past_the_visible_end_of_a_crlf_line_renders() {
        // Found by the `parse_text` fuzz target: `//\r` fails at offset 3,
        // past the line's visible end.
        let src = "//\r";
        let file = SourceFile::new("x", src);
        let d = Diagnostic::new(Code::Syntax, Span::new(3, 3), "unexpected end of file");
        let out = file.render(&d);
        assert!(out.starts_with("x:1:4: error: unexpected end of file\n1 | //\n"), "{out}");
        assert!(crate::parse_ruleset(src).is_err());
    }

    #[test]
    fn span_at_end_of_file_renders() {
        let src = "ruleset r {";
        let file = SourceFile::new("x", src);
        let d = Diagnostic::new(Code::Syntax, Span::new(11, 11), "unexpected end of file");
        assert!(file.render(&d).starts_with("x:1:12: error: unexpected end of file\n"));
    }
}
