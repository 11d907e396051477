//! `kensa eval`: decide each event of a JSON Lines stream, in input order.

use crate::source::load_engine;
use crate::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use kensa_compiler::value::Value;
use kensa_runtime::decision::error_json;
use kensa_runtime::{DecideOptions, Engine, Record};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The options of `kensa eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The rule set.
    #[arg(long)]
    pub rules: PathBuf,
    /// The directory of the list files.
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// The events, JSON Lines (`-` or absent: standard input).
    #[arg(long, value_name = "EVENTS.jsonl")]
    pub input: Option<PathBuf>,
    /// Write the decisions here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Add, for each matched rule, every field and velocity it read.
    #[arg(long)]
    pub explain: bool,
    /// Record nothing into the velocity windows.
    #[arg(long)]
    pub dry_run: bool,
    /// Run the conditions on the interpreter instead of native code.
    #[arg(long)]
    pub no_jit: bool,
}

/// Opens an input path, `-` or none meaning standard input.
pub fn open_input(path: Option<&Path>) -> Result<Box<dyn BufRead>, u8> {
    match path {
        None => Ok(Box::new(BufReader::new(std::io::stdin()))),
        Some(p) if p == Path::new("-") => Ok(Box::new(BufReader::new(std::io::stdin()))),
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Ok(Box::new(BufReader::new(f)) as Box<dyn BufRead>),
            Err(e) => {
                eprintln!("{}: error: cannot read the file: {e}", p.display());
                Err(EXIT_USAGE)
            }
        },
    }
}

/// The lines of a JSON Lines input, with their 1-based numbers, blank lines
/// skipped. A read error ends the iteration with `Err`.
pub fn json_lines(input: impl Read) -> impl Iterator<Item = std::io::Result<(usize, Vec<u8>)>> {
    BufReader::new(input)
        .split(b'\n')
        .enumerate()
        .map(|(i, line)| line.map(|l| (i + 1, l)))
        .filter(|r| r.as_ref().map_or(true, |(_, l)| !l.iter().all(u8::is_ascii_whitespace)))
}

/// Decodes one event, stamping it with the current time when it has none
/// (as `eval` and `test` do).
pub fn decode_stamped(engine: &Engine, line: &[u8]) -> Result<Record, kensa_runtime::EventError> {
    let mut record = engine.decode(line)?;
    let time = engine.active().program().event_time_field;
    if record.get(time).is_missing() {
        record.set(time, Value::Timestamp(now_ms()));
    }
    Ok(record)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs the command and returns its exit status.
pub fn run(args: &EvalArgs) -> u8 {
    let engine = match load_engine(&args.rules, args.lists.as_deref(), crate::source::evaluator(args.no_jit)) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let input = match open_input(args.input.as_deref()) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let mut out: Box<dyn Write> = match &args.output {
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("{}: error: cannot write the file: {e}", p.display());
                return EXIT_USAGE;
            }
        },
    };
    let options = DecideOptions { dry_run: args.dry_run, explain: args.explain };
    let mut invalid = 0usize;
    for line in json_lines(input) {
        let (_, bytes) = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: reading the events: {e}");
                return EXIT_USAGE;
            }
        };
        let record = match decode_stamped(&engine, &bytes) {
            Ok(record) => engine.decide(&record, options).to_json(),
            Err(e) => {
                invalid += 1;
                error_json(e.event_id.as_deref(), &e.message)
            }
        };
        if writeln!(out, "{record}").is_err() {
            eprintln!("error: cannot write the decisions");
            return EXIT_USAGE;
        }
    }
    if out.flush().is_err() {
        eprintln!("error: cannot write the decisions");
        return EXIT_USAGE;
    }
    if invalid > 0 {
        eprintln!("{invalid} invalid event{}", if invalid == 1 { "" } else { "s" });
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}
