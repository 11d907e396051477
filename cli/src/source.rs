//! Reading a rule-set file and reporting its diagnostics.

use crate::{EXIT_LOAD, EXIT_USAGE};
use kensa_compiler::CheckedRuleset;
use kensa_dsl::{Diagnostic, SourceFile};
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
