//! Reading a rule-set file and reporting its diagnostics.

use crate::{EXIT_LOAD, EXIT_USAGE};
use kensa_compiler::CheckedRuleset;
use kensa_dsl::{Diagnostic, SourceFile};
use kensa_runtime::Evaluator;
use std::path::Path;

/// A rule-set file read from disk.
pub struct RulesFile {
    /// The path as the user gave it (diagnostics print it so).
    pub display: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

impl RulesFile {
    /// Reads the file; an unreadable file is reported and gives exit 2.
    pub fn read(path: &Path) -> Result<RulesFile, u8> {
        let display = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => Ok(RulesFile { display, bytes }),
            Err(e) => {
                eprintln!("{display}: error: cannot read the file: {e}");
                Err(EXIT_USAGE)
            }
        }
    }

    /// The text, BOM removed; a file that is not UTF-8 is reported (exit 1).
    pub fn text(&self) -> Result<&str, u8> {
        kensa_dsl::decode_source(&self.bytes).map_err(|d| {
            let lossy = String::from_utf8_lossy(self.bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.bytes));
            self.report(&lossy, &[d]);
            EXIT_LOAD
        })
    }

    /// Prints diagnostics to standard error, in the order given.
    pub fn report(&self, text: &str, diagnostics: &[Diagnostic]) {
        let file = SourceFile::new(&self.display, text);
        for d in diagnostics {
            eprint!("{}", file.render(d));
        }
    }

    /// Reads, parses and checks the rule set; errors are reported (exit 1).
    pub fn compile(&self) -> Result<CheckedRuleset, u8> {
        let text = self.text()?;
        kensa_compiler::compile_source(text).map_err(|mut ds| {
            kensa_dsl::diagnostic::sort_by_position(&mut ds);
            self.report(text, &ds);
            EXIT_LOAD
        })
    }
}

/// Compiles the rule set at `rules` for `evaluator` and loads its lists
/// from `lists`, ready to decide. Every failure is reported; the exit status
/// is returned.
pub fn load_engine(rules: &Path, lists: Option<&Path>, evaluator: Evaluator) -> Result<kensa_runtime::Engine, u8> {
    let file = RulesFile::read(rules)?;
    let checked = file.compile()?;
    let program = kensa_compiler::lower::lower(&checked);
    let sets = load_lists(&program, lists)?;
    kensa_runtime::Engine::with_evaluator(program, sets, evaluator).map_err(|e| {
        eprintln!("{}: error: {e} (run with --no-jit to use the interpreter)", file.display);
        EXIT_LOAD
    })
}

/// The evaluator a command's `--no-jit` flag selects.
pub fn evaluator(no_jit: bool) -> Evaluator {
    if no_jit {
        Evaluator::Interpreter
    } else {
        Evaluator::Jit
    }
}

/// Loads the program's declared lists from `dir` (none needed when it
/// declares none); a missing directory or a bad file is exit 1.
pub fn load_lists(
    program: &kensa_compiler::Program,
    dir: Option<&Path>,
) -> Result<Vec<std::sync::Arc<kensa_compiler::ir::SetData>>, u8> {
    if program.lists.is_empty() {
        return Ok(Vec::new());
    }
    let Some(dir) = dir else {
        let names: Vec<&str> = program.lists.iter().map(|l| l.name.as_str()).collect();
        eprintln!("error: the rule set declares lists ({}): give their directory with --lists DIR", names.join(", "));
        return Err(EXIT_LOAD);
    };
    kensa_runtime::lists::load_dir(&program.lists, dir).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_LOAD
    })
}
