//! The example default rule set (29 rules, 13 lists, 9 velocities) on the
//! example events: deciding a decoded record, velocity reads and writes
//! included, with the JIT and with the interpreter; and decode + decide from
//! JSON bytes. Each pass starts from an empty velocity state.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kensa_benches::{engine, engine_records, program};
use kensa_runtime::{DecideOptions, Evaluator};
use std::hint::black_box;

fn default_ruleset(c: &mut Criterion) {
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let src = std::fs::read_to_string(ex.join("default.kensa")).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(ex.join("events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let prog = program(&src);
    let mut g = c.benchmark_group("default_ruleset");
    g.throughput(Throughput::Elements(kensa_benches::records(&prog, &lines).len() as u64));
    for (name, evaluator) in [("decide_jit", Evaluator::Jit), ("decide_interpreter", Evaluator::Interpreter)] {
        let e = engine(prog.clone(), evaluator);
        let recs = engine_records(&e, &lines);
        g.bench_function(name, |b| {
            b.iter(|| {
                e.clear_velocities();
                for r in &recs {
                    black_box(e.decide(r, DecideOptions::default()));
                }
            });
        });
    }
    let e = engine(prog.clone(), Evaluator::Jit);
    g.bench_function("decode_and_decide_jit", |b| {
        b.iter(|| {
            e.clear_velocities();
            for l in &lines {
                let _ = black_box(e.decide_json(l.as_bytes(), DecideOptions::default()));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, default_ruleset);
criterion_main!(benches);
