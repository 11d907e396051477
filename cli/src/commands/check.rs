//! `kensa check RULES [--lists DIR]`: parse and type-check, report every
//! error; with `--lists`, also load every declared list.

use crate::source::{load_lists, RulesFile};
use crate::EXIT_OK;
use std::path::Path;

/// Runs the command and returns its exit status.
pub fn run(path: &Path, lists: Option<&Path>) -> u8 {
    let file = match RulesFile::read(path) {
        Ok(f) => f,
        Err(code) => return code,
    };
    match file.compile() {
        Ok(checked) => {
            if let Some(dir) = lists {
                let program = kensa_compiler::lower::lower(&checked);
                if let Err(code) = load_lists(&program, Some(dir)) {
                    return code;
                }
            }
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
