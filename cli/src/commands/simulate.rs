//! `kensa simulate`: replay a history in event-time order on a fresh state
//! and report what the rule set would have decided (SPEC section 13).
//!
//! The history is first streamed in file order, which is exact when it is
//! already in time order (memory then stays that of the velocity state). At
//! the first event older than its predecessor the replay starts again: the
//! file is read whole, ordered by time (equal times in input order) and
//! replayed from a fresh state.

use crate::lines::{line_ranges, HeldLines, LineSource, ReadLines};
use crate::report;
use crate::source::{load_engine, RulesFile};
use crate::{EXIT_INVALID, EXIT_OK, EXIT_USAGE};
use kensa_compiler::value::Value;
use kensa_runtime::record::Decoder;
use kensa_runtime::simulate::{default_stop_flag, write_csv_header, Comparison, Labels, Replayed, RowFields, Tally};
use kensa_runtime::{DecideOptions, Decision, Engine, Record};
use rand::{RngExt, SeedableRng};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

/// The options of `kensa simulate`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The rule set.
    #[arg(long)]
    pub rules: PathBuf,
    /// The directory of the list files (shared with the baseline).
    #[arg(long, value_name = "DIR")]
    pub lists: Option<PathBuf>,
    /// The past events, JSON Lines.
    #[arg(long, value_name = "EVENTS.jsonl")]
    pub history: PathBuf,
    /// Chargeback and fraud labels, JSON Lines.
    #[arg(long, value_name = "LABELS.jsonl")]
    pub labels: Option<PathBuf>,
    /// Report events at or after this time (RFC 3339).
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Report events before this time (RFC 3339).
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
    /// Report a uniform random sample of N events.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// The sample's seed.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Outcomes that stop an event (default: block,challenge).
    #[arg(long, value_name = "O,..")]
    pub stop: Option<String>,
    /// Outcomes that flag an event (default: alert).
    #[arg(long, value_name = "O,..")]
    pub flag: Option<String>,
    /// The result CSV.
    #[arg(long, value_name = "RESULT.csv")]
    pub out: PathBuf,
    /// Also write a self-contained HTML report.
    #[arg(long, value_name = "REPORT.html")]
    pub report: Option<PathBuf>,
    /// Replay the same history through this rule set too and compare.
    #[arg(long, value_name = "OTHER_RULES")]
    pub baseline: Option<PathBuf>,
    /// Run the conditions on the interpreter instead of native code.
    #[arg(long)]
    pub no_jit: bool,
}

/// What the replay found.
struct Run {
    candidate: Tally,
    baseline: Option<(Tally, Comparison)>,
    events: u64,
    invalid: u64,
}

/// Why a streaming replay stopped early.
enum Stop {
    /// An event older than the one before it: replay again in time order.
    OutOfOrder,
    /// An exit status to return now.
    Exit(u8),
}

fn parse_time(flag: &str, value: Option<&str>) -> Result<Option<i64>, u8> {
    value
        .map(|v| {
            kensa_dsl::literal::parse_timestamp(v).map_err(|e| {
                eprintln!("error: {flag}: {e}");
                EXIT_USAGE
            })
        })
        .transpose()
}

fn outcome_names(flag: &str, given: Option<&str>, default: Vec<String>, engine: &Engine) -> Result<Vec<String>, u8> {
    let Some(given) = given else { return Ok(default) };
    let active = engine.active();
    let program = active.program();
    let mut names = Vec::new();
    for name in given.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let known = program.outcomes.rank(name).is_some() || name == kensa_compiler::outcomes::NONE_OUTCOME.0;
        if !known {
            eprintln!("error: {flag}: unknown outcome `{name}`; the outcomes are {}", program.outcomes.names());
            return Err(EXIT_USAGE);
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Runs the command and returns its exit status.
pub fn run(args: &SimulateArgs) -> u8 {
    match simulate(args) {
        Ok(code) | Err(code) => code,
    }
}

fn simulate(args: &SimulateArgs) -> Result<u8, u8> {
    let from = parse_time("--from", args.from.as_deref())?;
    let to = parse_time("--to", args.to.as_deref())?;
    let fresh = || -> Result<(Engine, Option<Engine>), u8> {
        let evaluator = crate::source::evaluator(args.no_jit);
        let candidate = load_engine(&args.rules, args.lists.as_deref(), evaluator)?;
        let baseline = args.baseline.as_deref().map(|b| load_engine(b, args.lists.as_deref(), evaluator)).transpose()?;
        Ok((candidate, baseline))
    };
    let (candidate, baseline) = fresh()?;
    let (default_stop, default_flag) = default_stop_flag(candidate.active().program());
    let stop = outcome_names("--stop", args.stop.as_deref(), default_stop, &candidate)?;
    let flag = outcome_names("--flag", args.flag.as_deref(), default_flag, &candidate)?;
    let mut labels = match &args.labels {
        None => Labels::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                eprintln!("{}: error: cannot read the labels: {e}", path.display());
                EXIT_USAGE
            })?;
            Labels::parse(&text).map_err(|e| {
                eprintln!("{}: error: {e}", path.display());
                EXIT_USAGE
            })?
        }
    };
    let file = std::fs::File::open(&args.history).map_err(|e| {
        eprintln!("{}: error: cannot read the history: {e}", args.history.display());
        EXIT_USAGE
    })?;
    let size = file.metadata().map_or(0, |m| m.len());
    let progress = progress_bar(size);
    let baseline_stop_flag = baseline.as_ref().map(|b| {
        let (bstop, bflag) = default_stop_flag(b.active().program());
        (
            if args.stop.is_some() { stop.clone() } else { bstop },
            if args.flag.is_some() { flag.clone() } else { bflag },
        )
    });
    // A baseline of another schema decodes each line itself: only then are
    // the lines kept after decoding.
    let keep_lines = baseline.as_ref().is_some_and(|b| b.active().schema() != candidate.active().schema());
    let setup = Setup { from, to, sample: args.sample, seed: args.seed, stop, flag, baseline_stop_flag, keep_lines, out: args.out.clone() };
    let (spent_tx, spent_rx) = std::sync::mpsc::channel();
    let stream = decoded_in_background(replay_decoder(&candidate, baseline.as_ref(), keep_lines), Box::new(ReadLines::new(progress.wrap_read(file))), keep_lines, spent_rx);
    let streamed = replay(&setup, candidate, baseline, &mut labels, stream, spent_tx);
    let run = match streamed {
        Ok(run) => run,
        Err(Stop::Exit(code)) => return Err(code),
        Err(Stop::OutOfOrder) => {
            let (candidate, baseline) = fresh()?;
            let mut bytes = Vec::new();
            let mut file = std::fs::File::open(&args.history).map_err(|_| EXIT_USAGE)?;
            progress.set_position(0);
            progress.set_message("ordering");
            progress.wrap_read(&mut file).read_to_end(&mut bytes).map_err(|e| {
                eprintln!("{}: error: cannot read the history: {e}", args.history.display());
                EXIT_USAGE
            })?;
            let order = time_order(&candidate, &bytes);
            labels.forget_seen();
            let (spent_tx, spent_rx) = std::sync::mpsc::channel();
            let stream = decoded_in_background(replay_decoder(&candidate, baseline.as_ref(), keep_lines), Box::new(HeldLines::new(bytes, order)), keep_lines, spent_rx);
            match replay(&setup, candidate, baseline, &mut labels, stream, spent_tx) {
                Ok(run) => run,
                Err(Stop::Exit(code)) => return Err(code),
                Err(Stop::OutOfOrder) => return Err(EXIT_USAGE),
            }
        }
    };
    progress.finish_and_clear();

    let mut summary = run.candidate.summary(run.events, run.invalid, labels.unmatched());
    if let (Some((tally, cmp)), Some(obj)) = (&run.baseline, summary.as_object_mut()) {
        obj.insert("baseline".into(), cmp.json(tally, &run.candidate.fraud));
    }
    println!("{summary}");
    if let Some(path) = &args.report {
        let title = RulesFile::read(&args.rules).map(|f| f.display).unwrap_or_default();
        let html = report::render(&title, &summary, &run.candidate, run.baseline.as_ref().map(|(t, _)| t));
        std::fs::write(path, html).map_err(|e| {
            eprintln!("{}: error: cannot write the report: {e}", path.display());
            EXIT_USAGE
        })?;
    }
    if run.invalid > 0 {
        eprintln!("{} invalid event{} left out", run.invalid, if run.invalid == 1 { "" } else { "s" });
    }
    if labels.unmatched() > 0 {
        eprintln!("{} label{} named no event of the history", labels.unmatched(), if labels.unmatched() == 1 { "" } else { "s" });
    }
    Ok(if run.invalid > 0 { EXIT_INVALID } else { EXIT_OK })
}

fn progress_bar(size: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:10} {wide_bar} {bytes}/{total_bytes} {eta}") {
        bar.set_style(style);
    }
    bar.set_message("replaying");
    bar
}

/// The decoder of a replay: it keeps what deciding and reporting read (the
/// candidate's fields, a baseline's when it decides the same records, and
/// the result rows'), and checks but drops every other field, whose text
/// would only be copied and freed (see `Decoder::keeping`). A baseline of
/// another schema (`keep_lines`) decodes each line itself.
fn replay_decoder(candidate: &Engine, baseline: Option<&Engine>, keep_lines: bool) -> Decoder {
    let active = candidate.active();
    let mut kept = active.program().fields_read();
    kept.extend(RowFields::of(active.program()).fields());
    if let (Some(b), false) = (baseline, keep_lines) {
        kept.extend(b.active().program().fields_read());
    }
    Decoder::keeping(std::sync::Arc::clone(active.schema()), &kept)
}

/// A line (kept only when a baseline with another schema must decode it
/// again) and what decoding it gave.
type Decoded = std::io::Result<(Option<Vec<u8>>, Result<Record, kensa_runtime::EventError>)>;

/// Lines decoded on a second thread, in order, while the caller decides on
/// its own: decoding is a third of the work and needs no shared state. The
/// thread stops when the caller drops the iterator.
///
/// Decided records come back through `spent` and are freed on this thread,
/// which allocated them: the allocator then reuses their memory at once.
/// Freed on another thread, each block went on a list this thread collects
/// only now and then, so decoding kept taking fresh pages (thousands of
/// page faults a replay) and the freeing thread paid for the cross-thread
/// frees besides.
fn decoded_in_background(
    decoder: Decoder,
    mut lines: Box<dyn LineSource>,
    keep_lines: bool,
    spent: std::sync::mpsc::Receiver<Vec<Record>>,
) -> impl Iterator<Item = Decoded> {
    const BATCH: usize = 1024;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Decoded>>(8);
    std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            // Once a batch, free what the sink sent back.
            if batch.is_empty() {
                while let Ok(records) = spent.try_recv() {
                    drop(records);
                }
            }
            let item = match lines.next_line() {
                Ok(None) => break,
                Ok(Some(line)) => Ok((keep_lines.then(|| line.to_vec()), decoder.decode_bytes(line))),
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            batch.push(item);
            if (batch.len() == BATCH || failed) && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                return;
            }
            if failed {
                return;
            }
        }
        let _ = tx.send(batch);
    });
    Prefetching { inner: rx.into_iter().flatten(), ahead: std::collections::VecDeque::with_capacity(PREFETCH_AHEAD + 1) }
}

/// How many decoded events [`Prefetching`] holds ahead of the one taken.
const PREFETCH_AHEAD: usize = 4;

/// Decoded events, each record's slots started into the deciding core's
/// cache [`PREFETCH_AHEAD`] events before it is taken. A record arrives
/// from the decoding thread's core, so without this the first read of its
/// slots (its time, checked as it joins a batch) is a miss that waits.
/// Its strings are started by `Engine::decide_batch`, ahead of deciding.
struct Prefetching<I: Iterator<Item = Decoded>> {
    inner: I,
    ahead: std::collections::VecDeque<Decoded>,
}

impl<I: Iterator<Item = Decoded>> Iterator for Prefetching<I> {
    type Item = Decoded;

    fn next(&mut self) -> Option<Decoded> {
        while self.ahead.len() <= PREFETCH_AHEAD {
            let Some(item) = self.inner.next() else { break };
            if let Ok((_, Ok(record))) = &item {
                record.prefetch_slots();
            }
            self.ahead.push_back(item);
        }
        self.ahead.pop_front()
    }
}

/// Where the history's lines lie, ordered by event time, equal times (and
/// lines whose time cannot be read, which will be reported invalid) in
/// input order.
fn time_order(engine: &Engine, bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let active = engine.active();
    let time_field = active.program().event_time_field;
    // Only the time is read here: no other field's text is copied.
    let decoder = Decoder::keeping(std::sync::Arc::clone(active.schema()), &[time_field]);
    let mut lines: Vec<(Option<i64>, std::ops::Range<usize>)> = line_ranges(bytes)
        .into_iter()
        .map(|range| {
            let line = bytes.get(range.clone()).unwrap_or_default();
            let time = decoder.decode_bytes(line).ok().and_then(|r| match r.get(time_field) {
                Value::Timestamp(t) => Some(*t),
                _ => None,
            });
            (time, range)
        })
        .collect();
    // Stable: equal times keep their input order.
    lines.sort_by_key(|(t, _)| t.unwrap_or(i64::MIN));
    lines.into_iter().map(|(_, range)| range).collect()
}

struct Setup {
    from: Option<i64>,
    to: Option<i64>,
    sample: Option<usize>,
    seed: u64,
    stop: Vec<String>,
    flag: Vec<String>,
    /// The baseline's stop and flag outcomes: the same names when given on
    /// the command line, else the baseline's own defaults.
    baseline_stop_flag: Option<(Vec<String>, Vec<String>)>,
    /// Lines are kept after decoding, for a baseline of another schema
    /// that decodes each one itself.
    keep_lines: bool,
    out: PathBuf,
}

/// A decided event, on its way from the deciding thread to the sink.
struct Decided {
    record: Record,
    time: i64,
    decision: Decision,
    /// The baseline's decision on it, when there is a baseline.
    baseline: Option<Decision>,
}

/// A reported event, with the baseline's decision on it.
struct Reported {
    row: Replayed,
    baseline: Option<Decision>,
    /// The decided record, sent back by the sink to the decoding thread,
    /// which frees it (see `decoded_in_background`): freeing its strings
    /// is work the deciding thread need not wait for.
    record: Record,
}

/// Where decided events go, on a thread of its own: reported (labels,
/// period, sample), tallied and written to the result CSV in replay order.
/// None of this feeds back into deciding, so the deciding thread, the
/// replay's critical path, only decides.
struct Sink<'a> {
    reporting: Reporting<'a>,
    tally: Tally,
    base: Option<(Tally, Comparison)>,
    /// The result CSV.
    file: std::fs::File,
    /// Result lines not yet written to the file.
    lines: String,
    out: PathBuf,
    /// Decided records, going back to the decoding thread in batches of
    /// [`Sink::SPENT_BATCH`] to be freed there.
    spent: Vec<Record>,
    /// Where they go; once the decoding thread has ended, a batch is
    /// freed here instead (the send fails and drops it).
    spent_tx: std::sync::mpsc::Sender<Vec<Record>>,
}

impl<'a> Sink<'a> {
    /// How many decided records go back to the decoding thread at a time.
    const SPENT_BATCH: usize = 256;

    /// How many bytes of result lines are written to the file at a time.
    const WRITE_AT: usize = 1 << 20;

    /// Sends a record back to the decoding thread to be freed.
    fn free(&mut self, record: Record) {
        self.spent.push(record);
        if self.spent.len() == Self::SPENT_BATCH {
            let spent = std::mem::replace(&mut self.spent, Vec::with_capacity(Self::SPENT_BATCH));
            // A failed send drops the batch here: still freed.
            let _ = self.spent_tx.send(spent);
        }
    }

    fn take(&mut self, r: Reported) -> Result<(), Stop> {
        let Reported { row, baseline, record } = r;
        self.free(record);
        self.tally.add(&row);
        if let (Some((btally, cmp)), Some(bd)) = (self.base.as_mut(), baseline) {
            let brow = Replayed { decision: bd, ..row.clone() };
            btally.add(&brow);
            cmp.add(
                (self.tally.stops(&row.decision), self.tally.flags(&row.decision)),
                (btally.stops(&brow.decision), btally.flags(&brow.decision)),
                brow.decision.outcome != row.decision.outcome,
                row.amount.unwrap_or(0.0),
                row.fraud,
            );
        }
        row.write_csv_line(&mut self.lines);
        if self.lines.len() >= Self::WRITE_AT {
            self.write_lines()?;
        }
        Ok(())
    }

    /// Writes the waiting result lines to the file.
    fn write_lines(&mut self) -> Result<(), Stop> {
        use std::io::Write;
        self.file.write_all(self.lines.as_bytes()).map_err(|e| csv_failed(&self.out, &e))?;
        self.lines.clear();
        Ok(())
    }

    /// Reports every decided event until the sender is dropped, then the
    /// sample (in replay order), then flushes.
    fn drain(mut self, batches: std::sync::mpsc::Receiver<Vec<Decided>>) -> Result<Sink<'a>, Stop> {
        for batch in batches {
            for decided in batch {
                match self.reporting.event(decided) {
                    Report::Now(r) => self.take(r)?,
                    Report::Held => {}
                    Report::Free(record) => self.free(record),
                }
            }
        }
        let mut sample = std::mem::take(&mut self.reporting.reservoir);
        sample.sort_by_key(|(i, _)| *i);
        for (_, r) in sample {
            self.take(r)?;
        }
        self.write_lines()?;
        Ok(self)
    }
}

/// The deciding thread's end of the channel to the sink: decided events
/// go in batches, so the threads meet once per batch, not per event.
struct ToSink {
    tx: std::sync::mpsc::SyncSender<Vec<Decided>>,
    batch: Vec<Decided>,
}

impl ToSink {
    const BATCH: usize = 256;

    /// Queues an event; false when the sink has stopped (its error is in
    /// its result).
    fn push(&mut self, d: Decided) -> bool {
        self.batch.push(d);
        self.batch.len() < Self::BATCH || self.flush()
    }

    fn flush(&mut self) -> bool {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
        self.tx.send(batch).is_ok()
    }
}

fn csv_failed(path: &std::path::Path, e: &dyn std::fmt::Display) -> Stop {
    eprintln!("{}: error: cannot write the result: {e}", path.display());
    Stop::Exit(EXIT_USAGE)
}

/// What the deciding loop counted.
struct Counted {
    events: u64,
    invalid: u64,
}

fn replay(
    setup: &Setup,
    candidate: Engine,
    baseline: Option<Engine>,
    labels: &mut Labels,
    lines: impl Iterator<Item = Decoded>,
    spent_tx: std::sync::mpsc::Sender<Vec<Record>>,
) -> Result<Run, Stop> {
    let file = std::fs::File::create(&setup.out).map_err(|e| csv_failed(&setup.out, &e))?;
    let mut result_lines = String::with_capacity(Sink::WRITE_AT + 4096);
    write_csv_header(&mut result_lines);
    let base = baseline.as_ref().zip(setup.baseline_stop_flag.clone()).map(|(b, (stop, flag))| {
        (Tally::new(b.active().program(), stop, flag), Comparison::default())
    });
    let reporting = Reporting {
        setup,
        labels,
        row_fields: RowFields::of(candidate.active().program()),
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(setup.seed),
        reservoir: Vec::new(),
        reported_so_far: 0,
    };
    let sink = Sink {
        reporting,
        tally: Tally::new(candidate.active().program(), setup.stop.clone(), setup.flag.clone()),
        base,
        file,
        lines: result_lines,
        out: setup.out.clone(),
        spent: Vec::with_capacity(Sink::SPENT_BATCH),
        spent_tx,
    };
    let (counted, sink) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Decided>>(8);
        let writer = scope.spawn(move || sink.drain(rx));
        let mut to_sink = ToSink { tx, batch: Vec::with_capacity(ToSink::BATCH) };
        let counted = decide_all(setup, &candidate, baseline.as_ref(), lines, &mut to_sink);
        if counted.is_ok() {
            to_sink.flush();
        }
        drop(to_sink);
        let written = writer.join().unwrap_or_else(|_| {
            eprintln!("error: writing the result stopped unexpectedly");
            Err(Stop::Exit(EXIT_USAGE))
        });
        (counted, written)
    });
    // A stop of the deciding loop (an out-of-order event) comes first; the
    // sink's error otherwise.
    let counted = counted?;
    let sink = sink?;
    // The engines' velocity state (hundreds of megabytes of windows after a
    // long history) is left to the process's exit, which frees it at once,
    // instead of being dropped window by window: that took about a tenth of
    // a replay. `simulate` ends right after the summary.
    std::mem::forget(candidate);
    std::mem::forget(baseline);
    Ok(Run { candidate: sink.tally, baseline: sink.base, events: counted.events, invalid: counted.invalid })
}

/// Decides every event in order, in batches of [`Batch::SIZE`], and hands
/// them to the sink in replay order; stops early when the sink has.
fn decide_all(
    setup: &Setup,
    candidate: &Engine,
    baseline: Option<&Engine>,
    lines: impl Iterator<Item = Decoded>,
    to_sink: &mut ToSink,
) -> Result<Counted, Stop> {
    let time_field = candidate.active().program().event_time_field;
    let (mut events, mut invalid) = (0u64, 0u64);
    let mut newest = i64::MIN;
    let mut batch = Batch::default();
    for item in lines {
        let (line, decoded) = item.map_err(|e| {
            eprintln!("error: reading the history: {e}");
            Stop::Exit(EXIT_USAGE)
        })?;
        let Ok(record) = decoded else {
            invalid += 1;
            continue;
        };
        let Value::Timestamp(time) = *record.get(time_field) else {
            // `simulate` does not stamp events: one without a time is invalid.
            invalid += 1;
            continue;
        };
        if time < newest {
            return Err(Stop::OutOfOrder);
        }
        newest = time;
        events += 1;
        batch.records.push(record);
        batch.lines_and_times.push((line, time));
        if batch.records.len() == Batch::SIZE && !batch.decide(setup, candidate, baseline, to_sink) {
            break;
        }
    }
    batch.decide(setup, candidate, baseline, to_sink);
    Ok(Counted { events, invalid })
}

/// Valid events waiting to be decided together (see
/// `Engine::decide_batch`), in replay order.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    /// By record: its line when kept, and its time.
    lines_and_times: Vec<(Option<Vec<u8>>, i64)>,
    /// The candidate's decisions, by record.
    decided: Vec<Decision>,
    /// The baseline's, by record, when it decides the same records.
    base_decided: Vec<Decision>,
}

impl Batch {
    /// How many events are decided together.
    const SIZE: usize = 64;

    /// Decides the batch on the candidate (and the baseline) and hands its
    /// events to the sink; leaves it empty. False when the sink has
    /// stopped.
    fn decide(&mut self, setup: &Setup, candidate: &Engine, baseline: Option<&Engine>, to_sink: &mut ToSink) -> bool {
        candidate.decide_batch(&self.records, DecideOptions::default(), &mut self.decided);
        // Lines are kept only for a baseline of another schema, which
        // decodes each one itself; any other baseline decides the
        // candidate's records. It keeps its own state, so deciding the
        // batch on it after the candidate gives what deciding each event
        // on both in turn would.
        let lines_kept = setup.keep_lines;
        if let (Some(b), false) = (baseline, lines_kept) {
            b.decide_batch(&self.records, DecideOptions::default(), &mut self.base_decided);
        }
        let mut base_decided = self.base_decided.drain(..);
        let events = self.records.drain(..).zip(self.lines_and_times.drain(..)).zip(self.decided.drain(..));
        let mut open = true;
        for ((record, (line, time)), decision) in events {
            let baseline = match (baseline, lines_kept) {
                (None, _) => None,
                (Some(_), false) => base_decided.next(),
                // Decoded again from the kept line, in this baseline's schema.
                (Some(b), true) => line.and_then(|line| b.decide_json(&line, DecideOptions::default()).ok()),
            };
            open = open && to_sink.push(Decided { record, time, decision, baseline });
        }
        open
    }
}

/// What reporting does with a decided event.
// Returned once per event and matched at once, never stored: boxing the
// large variant would allocate for every event instead.
#[allow(clippy::large_enum_variant)]
enum Report {
    /// Report it now.
    Now(Reported),
    /// Kept in the sample, reported at the end.
    Held,
    /// Not reported (outside the period, or put out of the sample): only
    /// its record is left to free.
    Free(Record),
}

/// How decided events are reported, on the sink's thread: the labels, the
/// period and the sample.
struct Reporting<'a> {
    setup: &'a Setup,
    labels: &'a mut Labels,
    row_fields: RowFields,
    rng: rand_chacha::ChaCha8Rng,
    /// The sample so far, each event with its place among the reported.
    reservoir: Vec<(u64, Reported)>,
    reported_so_far: u64,
}

impl Reporting<'_> {
    /// Reports one event; every decided event comes here, in replay order,
    /// so the labels learn which events the history holds.
    fn event(&mut self, d: Decided) -> Report {
        let setup = self.setup;
        let Decided { record, time, decision, baseline } = d;
        let fraud = self.labels.saw(decision.event_id.as_deref());
        let in_period = setup.from.is_none_or(|f| time >= f) && setup.to.is_none_or(|t| time < t);
        if !in_period {
            return Report::Free(record);
        }
        let row = Replayed::new(self.row_fields, &record, decision, time, fraud);
        let item = Reported { row, baseline, record };
        let place = self.reported_so_far;
        self.reported_so_far += 1;
        let Some(n) = setup.sample else { return Report::Now(item) };
        // Reservoir sampling (algorithm R): every reported event ends up in
        // the sample with probability n / reported.
        if self.reservoir.len() < n {
            self.reservoir.push((place, item));
            return Report::Held;
        }
        let j = self.rng.random_range(0..=place);
        match usize::try_from(j).ok().and_then(|j| self.reservoir.get_mut(j)) {
            Some(slot) => Report::Free(std::mem::replace(slot, (place, item)).1.record),
            None => Report::Free(item.record),
        }
    }
}
