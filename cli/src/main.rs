//! The `kensa` command line: `check`, `fmt`, `convert`, `eval`, `test` and `simulate`.
//!
//! This crate owns argument parsing, file I/O, exit codes and how diagnostics
//! reach the terminal. It holds no language logic: it calls `kensa-dsl` and
//! `kensa-compiler`.

mod commands;
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
    Eval {
        /// The rule set.
        #[arg(long)]
        rules: PathBuf,
        /// The directory of the list files.
        #[arg(long, value_name = "DIR")]
        lists: Option<PathBuf>,
        /// The events, JSON Lines (`-` or absent: standard input).
        #[arg(long, value_name = "EVENTS.jsonl")]
        input: Option<PathBuf>,
        /// Write the decisions here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Add, for each matched rule, every field and velocity it read.
        #[arg(long)]
        explain: bool,
        /// Record nothing into the velocity windows.
        #[arg(long)]
        dry_run: bool,
        /// Run the conditions on the interpreter instead of native code.
        #[arg(long)]
        no_jit: bool,
    },
    /// Replay a history in time order and report what the rule set would have decided.
    Simulate {
        /// The rule set.
        #[arg(long)]
        rules: PathBuf,
        /// The directory of the list files.
        #[arg(long, value_name = "DIR")]
        lists: Option<PathBuf>,
        /// The past events, JSON Lines.
        #[arg(long, value_name = "EVENTS.jsonl")]
        history: PathBuf,
        /// Chargeback and fraud labels, JSON Lines.
        #[arg(long, value_name = "LABELS.jsonl")]
        labels: Option<PathBuf>,
        /// Report events at or after this time (RFC 3339).
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// Report events before this time (RFC 3339).
        #[arg(long, value_name = "T")]
        to: Option<String>,
        /// Report a uniform random sample of N events.
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
        /// The sample's seed.
        #[arg(long, value_name = "S", default_value_t = 0)]
        seed: u64,
        /// Outcomes that stop an event (default: block,challenge).
        #[arg(long, value_name = "O,..")]
        stop: Option<String>,
        /// Outcomes that flag an event (default: alert).
        #[arg(long, value_name = "O,..")]
        flag: Option<String>,
        /// The result CSV.
        #[arg(long, value_name = "RESULT.csv")]
        out: PathBuf,
        /// Also write a self-contained HTML report.
        #[arg(long, value_name = "REPORT.html")]
        report: Option<PathBuf>,
        /// Replay the same history through this rule set too and compare.
        #[arg(long, value_name = "OTHER_RULES")]
        baseline: Option<PathBuf>,
        /// Run the conditions on the interpreter instead of native code.
        #[arg(long)]
        no_jit: bool,
    },
    /// Measure how fast a rule set decides the given events (one JSON line).
    Bench {
        /// The rule set.
        #[arg(long)]
        rules: PathBuf,
        /// The directory of the list files.
        #[arg(long, value_name = "DIR")]
        lists: Option<PathBuf>,
        /// The events, JSON Lines.
        #[arg(long, value_name = "EVENTS.jsonl")]
        input: PathBuf,
        /// Run the conditions on the interpreter instead of native code.
        #[arg(long)]
        no_jit: bool,
        /// How long to keep deciding.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
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
        Command::Eval { rules, lists, input, output, explain, dry_run, no_jit } => {
            commands::eval::run(&commands::eval::EvalArgs { rules, lists, input, output, explain, dry_run, no_jit })
        }
        Command::Simulate {
            rules,
            lists,
            history,
            labels,
            from,
            to,
            sample,
            seed,
            stop,
            flag,
            out,
            report,
            baseline,
            no_jit,
        } => commands::simulate::run(&commands::simulate::SimulateArgs {
            rules,
            lists,
            history,
            labels,
            from,
            to,
            sample,
            seed,
            stop,
            flag,
            out,
            report,
            baseline,
            no_jit,
        }),
        Command::Bench { rules, lists, input, no_jit, seconds } => {
            commands::bench::run(&commands::bench::BenchArgs { rules, lists, input, no_jit, seconds })
        }
        Command::Test { rules, lists, no_jit, cases } => {
            commands::test::run(&rules, lists.as_deref(), source::evaluator(no_jit), &cases)
        }
        Command::Fmt { rules, check } => commands::fmt::run(&rules, check),
        Command::Convert { rules, to } => commands::convert::run(&rules, to),
    };
    ExitCode::from(code)
}
