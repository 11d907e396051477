//! `kensa fmt RULES [--check]`: print the canonical text form.

use crate::source::RulesFile;
use crate::{EXIT_LOAD, EXIT_OK};
use kensa_dsl::SourceKind;
use std::path::Path;

/// Runs the command and returns its exit status.
///
/// A text file needs only to parse (formatting a rule set with a type error
/// is fine); a JSON file is also checked, because its condition values are
/// read as their fields' types. With `--check`, a JSON file is canonical when
/// it is exactly what `convert --to json` prints.
pub fn run(path: &Path, check: bool) -> u8 {
    let file = match RulesFile::read(path) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let text = match file.text() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let kind = kensa_dsl::source_kind(text);
    let (canonical_text, canonical_same_form) = match kind {
        SourceKind::Text => match kensa_dsl::parse_ruleset(text) {
            Ok(ast) => {
                let t = kensa_dsl::format::format_ruleset(&ast);
                (t.clone(), t)
            }
            Err(ds) => {
                file.report(text, &ds);
                return EXIT_LOAD;
            }
        },
        SourceKind::Json => match file.compile() {
            Ok(checked) => (
                kensa_dsl::format::format_ruleset(&checked.ast),
                kensa_dsl::json::write::write_json(&checked.ast),
            ),
            Err(code) => return code,
        },
    };
    if check {
        let source_without_bom = text;
        if source_without_bom == canonical_same_form && file.bytes.len() == text.len() {
            EXIT_OK
        } else {
            eprintln!("{}: not canonical (run `kensa fmt` to see the canonical form)", file.display);
            EXIT_LOAD
        }
    } else {
        print!("{canonical_text}");
        EXIT_OK
    }
}
