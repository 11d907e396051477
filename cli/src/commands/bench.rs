//! `kensa bench`: how fast a rule set decides, in one command.
//!
//! Compiles the rule set (timed), decodes the events once (each decode
//! timed), then decides them in passes on a fresh velocity state each pass,
//! timing every decision (velocity reads and writes included), until the
//! time budget is spent. Prints one JSON line.

use crate::commands::eval::{json_lines, open_input};
use crate::source::{evaluator, RulesFile};
use crate::{EXIT_LOAD, EXIT_OK, EXIT_USAGE};
use kensa_runtime::{DecideOptions, Engine, Record};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The options of `kensa bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// The rule set.
    #[arg(long)]
    pub rules: PathBuf,
    /// The directory of the list files.
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// The events, JSON Lines.
    #[arg(long, value_name = "EVENTS.jsonl")]
    pub input: PathBuf,
    /// Run the conditions on the interpreter instead of native code.
    #[arg(long)]
    pub no_jit: bool,
    /// How long to keep deciding, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(at).copied().unwrap_or(0)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs the command and returns its exit status.
pub fn run(args: &BenchArgs) -> u8 {
    let started = Instant::now();
    let file = match RulesFile::read(&args.rules) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let checked = match file.compile() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let program = kensa_compiler::lower::lower(&checked);
    let lists = match crate::source::load_lists(&program, args.lists.as_deref()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let rules = program.rules.len();
    let engine = match Engine::with_evaluator(program, lists, evaluator(args.no_jit)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}: error: {e}", file.display);
            return EXIT_LOAD;
        }
    };
    let compile = started.elapsed();

    let input = match open_input(Some(&args.input)) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let version = engine.active();
    let mut records: Vec<Record> = Vec::new();
    let mut decode_ns: Vec<u64> = Vec::new();
    for line in json_lines(input) {
        let Ok((_, bytes)) = line else {
            eprintln!("error: reading the events");
            return EXIT_USAGE;
        };
        let t = Instant::now();
        let decoded = version.decoder().decode_bytes(&bytes);
        decode_ns.push(nanos(t.elapsed()));
        if let Ok(r) = decoded {
            records.push(r);
        }
    }
    if records.is_empty() {
        eprintln!("error: no valid event to decide");
        return EXIT_USAGE;
    }

    let budget = Duration::from_secs_f64(args.seconds.max(0.01));
    let mut decide_ns: Vec<u64> = Vec::new();
    let bench_start = Instant::now();
    while bench_start.elapsed() < budget || decide_ns.is_empty() {
        engine.clear_velocities();
        for r in &records {
            let t = Instant::now();
            let d = engine.decide(r, DecideOptions::default());
            decide_ns.push(nanos(t.elapsed()));
            std::hint::black_box(d);
        }
    }
    decide_ns.sort_unstable();
    decode_ns.sort_unstable();
    let line = serde_json::json!({
        "evaluator": if args.no_jit { "interpreter" } else { "jit" },
        "rules": rules,
        "events": records.len(),
        "decisions": decide_ns.len(),
        "median_ns": percentile(&decide_ns, 0.5),
        "p99_ns": percentile(&decide_ns, 0.99),
        "decode_median_ns": percentile(&decode_ns, 0.5),
        "compile_ms": kensa_dsl::literal::json_number(compile.as_secs_f64() * 1000.0),
    });
    println!("{line}");
    EXIT_OK
}
