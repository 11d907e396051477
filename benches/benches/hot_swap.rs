//! Deciding while rule sets are deployed: the example default rule set's 47
//! events decided on one thread, in steady state and while a second thread
//! deploys a new version and replaces a list in a loop (DESIGN.md target:
//! p99 during swaps at most 1.5x steady; `examples/hot_swap.rs` prints the
//! p99, criterion the mean and median per pass).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kensa_benches::engine_records;
use kensa_runtime::{DecideOptions, Engine};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn hot_swap(c: &mut Criterion) {
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let rules = std::fs::read_to_string(ex.join("default.kensa")).unwrap();
    let stricter = rules.replace("when ip_cards_1h > 5", "when ip_cards_1h > 4");
    let lines: Vec<String> = std::fs::read_to_string(ex.join("events.jsonl")).unwrap().lines().map(str::to_string).collect();
    let engine = Arc::new(Engine::builder().lists_dir(ex.join("lists")).build("default.kensa", &rules).unwrap());
    let ip_block = std::fs::read(ex.join("lists/ip_block.txt")).unwrap();
    let recs = engine_records(&engine, &lines);

    let mut g = c.benchmark_group("hot_swap");
    g.throughput(Throughput::Elements(recs.len() as u64));
    let pass = |e: &Engine| {
        e.clear_velocities();
        for r in &recs {
            black_box(e.decide(r, DecideOptions::default()));
        }
    };
    g.bench_function("decide_steady", |b| b.iter(|| pass(&engine)));

    let stop = Arc::new(AtomicBool::new(false));
    let deployer = {
        let (engine, stop) = (Arc::clone(&engine), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let source = if swaps.is_multiple_of(2) { &stricter } else { &rules };
                engine.deploy("default.kensa", source).unwrap();
                engine.lists().replace("ip_block", &ip_block).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    g.bench_function("decide_during_swaps", |b| b.iter(|| pass(&engine)));
    stop.store(true, Ordering::Relaxed);
    let swaps = deployer.join().unwrap();
    eprintln!("hot_swap: {swaps} deploys and list replacements during the measurement");
    g.finish();
}

criterion_group!(benches, hot_swap);
criterion_main!(benches);
