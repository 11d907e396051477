//! `kensa convert RULES --to json|text`.

use crate::source::RulesFile;
use crate::{Form, EXIT_OK};
use std::path::Path;

/// Runs the command and returns its exit status. The rule set must check
/// clean: converting a broken rule set would only move its errors.
pub fn run(path: &Path, to: Form) -> u8 {
    let file = match RulesFile::read(path) {
        Ok(f) => f,
        Err(code) => return code,
    };
    match file.compile() {
        Ok(checked) => {
            let out = match to {
                Form::Json => kensa_dsl::json::write::write_json(&checked.ast),
                Form::Text => kensa_dsl::format::format_ruleset(&checked.ast),
            };
            print!("{out}");
            EXIT_OK
        }
        Err(code) => code,
    }
}
