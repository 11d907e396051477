//! `kensa check RULES`: parse and type-check, report every error.

use crate::source::RulesFile;
use crate::EXIT_OK;
use std::path::Path;

/// Runs the command and returns its exit status.
pub fn run(path: &Path) -> u8 {
    let file = match RulesFile::read(path) {
        Ok(f) => f,
        Err(code) => return code,
    };
    match file.compile() {
        Ok(checked) => {
            let ast = &checked.ast;
            println!(
                "{}: ok: ruleset `{}`, {} rules, {} lists, {} velocities",
                file.display,
                ast.name.name,
                ast.rules.len(),
                ast.lists.len(),
                ast.velocities.len()
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}
