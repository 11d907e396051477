//! Hot swap under load: worker threads decide a stream of payments while the
//! main thread deploys new versions of the rule set and replaces lists, many
//! times. Prints the decision latency without swaps and during swaps; the
//! last line is
//! `decisions=N failed=0 swaps=M p99_ns_steady=.. p99_ns_during_swaps=..`.
//!
//! Run from the repository root:
//! `cargo run --release -p kensa-runtime --example hot_swap [-- SECONDS]`
//! (the whole run, default 4).
//! On a machine with C cores it runs C - 1 workers (at least one), so the
//! deploying thread has a core of its own: compiling is real CPU work that
//! would otherwise be measured as decision latency.

use kensa_compiler::value::Value;
use kensa_runtime::{DecideOptions, Engine, Record};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How far each pass moves event times: more than twice the longest window
/// of the rule set (365 days), beyond which windows keep nothing.
const PASS_SHIFT_MS: i64 = 800 * 86_400_000;

/// How many (steady, swapping) phase pairs the run alternates.
const PHASE_PAIRS: u32 = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args().nth(1).map_or(Ok(4.0), |s| s.parse())?;
    let phase = Duration::from_secs_f64(seconds.max(0.1) / (2 * PHASE_PAIRS) as f64);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = std::fs::read_to_string(root.join("examples/default.kensa"))?;
    // A second version: a stricter card-testing threshold.
    let stricter = rules.replace("when ip_cards_1h > 5", "when ip_cards_1h > 4");
    let engine = Arc::new(Engine::builder().lists_dir(root.join("examples/lists")).build("default.kensa", &rules)?);
    let ip_block = std::fs::read(root.join("examples/lists/ip_block.txt"))?;
    let mut ip_block_more = ip_block.clone();
    ip_block_more.extend_from_slice(b"\n192.0.2.0/24\n");

    let events = std::fs::read_to_string(root.join("examples/events.jsonl"))?;
    let records: Arc<Vec<Record>> = Arc::new(events.lines().filter_map(|l| engine.decode(l.as_bytes()).ok()).collect());

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
    let swapping = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(workers + 1));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (engine, records, swapping, done, failed, start) =
                (Arc::clone(&engine), Arc::clone(&records), Arc::clone(&swapping), Arc::clone(&done), Arc::clone(&failed), Arc::clone(&start));
            std::thread::spawn(move || {
                let (mut steady, mut during) = (Vec::new(), Vec::new());
                let time = engine.active().program().event_time_field;
                let mut pass = 0i64;
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    // Each pass replays the events later than every window
                    // of the last one reaches, so the state stays the size
                    // of one pass and the figures do not drift.
                    pass += 1;
                    let shift = (pass * workers as i64 + w as i64) * PASS_SHIFT_MS;
                    for r in records.iter() {
                        let mut r = r.clone();
                        if let Value::Timestamp(t) = r.get(time) {
                            r.set(time, Value::Timestamp(t + shift));
                        }
                        let t = Instant::now();
                        let d = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.decide(&r, DecideOptions::default())));
                        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        if d.is_err() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if swapping.load(Ordering::Relaxed) { during.push(ns) } else { steady.push(ns) }
                    }
                }
                (steady, during)
            })
        })
        .collect();

    // Steady and swapping phases alternate, so a drift of the machine's
    // speed over the run weighs on both alike.
    start.wait();
    let mut swaps = 0u64;
    for _ in 0..PHASE_PAIRS {
        swapping.store(false, Ordering::Relaxed);
        std::thread::sleep(phase);
        swapping.store(true, Ordering::Relaxed);
        let began = Instant::now();
        while began.elapsed() < phase {
            let source = if swaps.is_multiple_of(2) { &stricter } else { &rules };
            engine.deploy("default.kensa", source)?;
            engine.lists().replace("ip_block", if swaps.is_multiple_of(2) { &ip_block_more } else { &ip_block })?;
            swaps += 1;
        }
    }
    done.store(true, Ordering::Relaxed);

    let (mut steady, mut during) = (Vec::new(), Vec::new());
    for h in handles {
        let (s, d) = h.join().map_err(|_| "a worker panicked")?;
        steady.extend(s);
        during.extend(d);
    }
    let counters = engine.counters();
    let p = |xs: &mut Vec<u64>, q: f64| {
        xs.sort_unstable();
        let i = ((xs.len() as f64 - 1.0) * q).round() as usize;
        xs.get(i).copied().unwrap_or(0)
    };
    println!("workers={workers} live_versions={} list_swaps={}", counters.live_versions, counters.list_swaps);
    println!("steady: median_ns={} p99_ns={}", p(&mut steady, 0.5), p(&mut steady, 0.99));
    println!("during swaps: median_ns={} p99_ns={}", p(&mut during, 0.5), p(&mut during, 0.99));
    println!(
        "decisions={} failed={} swaps={swaps} p99_ns_steady={} p99_ns_during_swaps={}",
        steady.len() + during.len(),
        failed.load(Ordering::Relaxed),
        p(&mut steady, 0.99),
        p(&mut during, 0.99)
    );
    Ok(())
}
