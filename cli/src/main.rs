//! The `kensa` command line: `check`, `fmt` and `convert` over rule-set files.
//!
//! This crate owns argument parsing, file I/O, exit codes and how diagnostics
//! reach the terminal. It holds no language logic: it calls `kensa-dsl` and
//! `kensa-compiler`.

mod commands;
mod source;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: the rule set or a list did not load (or `fmt --check` found a difference).
pub const EXIT_LOAD: u8 = 1;
/// Exit status: bad usage or unreadable input.
pub const EXIT_USAGE: u8 = 2;

/// Kensa: a fraud-rule compiler and evaluation engine.
#[derive(Parser)]
#[command(name = "kensa", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check a rule set; report every error.
    Check {
        /// The rule set, in the text or the JSON form.
        rules: PathBuf,
    },
    /// Print the canonical text form of a rule set.
    Fmt {
        /// The rule set, in the text or the JSON form.
        rules: PathBuf,
        /// Print nothing; exit 0 when the file is already canonical, 1 when not.
        #[arg(long)]
        check: bool,
    },
    /// Print the rule set in the other form (or the same form, canonical).
    Convert {
        /// The rule set, in the text or the JSON form.
        rules: PathBuf,
        /// The form to print.
        #[arg(long, value_enum)]
        to: Form,
    },
}

/// A rule-set form.
#[derive(Clone, Copy, ValueEnum)]
pub enum Form {
    /// The JSON form.
    Json,
    /// The text form.
    Text,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { rules } => commands::check::run(&rules),
        Command::Fmt { rules, check } => commands::fmt::run(&rules, check),
        Command::Convert { rules, to } => commands::convert::run(&rules, to),
    };
    ExitCode::from(code)
}
