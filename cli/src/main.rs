//! The `kensa` command line: `check`, `fmt`, `convert`, `eval`, `test` and `simulate`.
//!
//! This crate owns argument parsing, file I/O, exit codes and how diagnostics
//! reach the terminal. It holds no language logic: it calls `kensa-dsl` and
//! `kensa-compiler`.

mod commands;
mod lines;
mod report;
mod source;

use clap::{Parser, Subcommand, ValueEnum};

/// Decisions, records and velocity windows allocate many small objects;
/// mimalloc serves them several times faster than the system allocator
/// (measured in benches/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: the rule set or a list did not load (or `fmt --check` found a difference).
pub const EXIT_LOAD: u8 = 1;
/// Exit status: bad usage or unreadable input.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the run finished but some events were invalid.
pub const EXIT_INVALID: u8 = 3;

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
        /// Also load every declared list from `DIR/<name>.txt`.
        #[arg(long, value_name = "DIR")]
        lists: Option<PathBuf>,
    },
    /// Decide each event of a JSON Lines stream, in input order.
    Eval(commands::eval::EvalArgs),
    /// Replay a history in time order and report what the rule set would have decided.
    Simulate(commands::simulate::SimulateArgs),
    /// Measure how fast a rule set decides the given events (one JSON line).
    Bench(commands::bench::BenchArgs),
    /// Run expectation cases (`{"event": ..., "expect": ...}` lines) in order.
    Test {
        /// The rule set.
        #[arg(long)]
        rules: PathBuf,
        /// The directory of the list files.
        #[arg(long, value_name = "DIR")]
        lists: Option<PathBuf>,
        /// Run the conditions on the interpreter instead of native code.
        #[arg(long)]
        no_jit: bool,
        /// The cases, JSON Lines.
        cases: PathBuf,
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
        Command::Check { rules, lists } => commands::check::run(&rules, lists.as_deref()),
        Command::Eval(args) => commands::eval::run(&args),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
        Command::Test { rules, lists, no_jit, cases } => {
            commands::test::run(&rules, lists.as_deref(), source::evaluator(no_jit), &cases)
        }
        Command::Fmt { rules, check } => commands::fmt::run(&rules, check),
        Command::Convert { rules, to } => commands::convert::run(&rules, to),
    };
    ExitCode::from(code)
}
