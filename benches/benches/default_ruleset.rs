//! The example default rule set (29 rules, 13 lists, 9 velocities) on the
//! example events: deciding a decoded record, velocity reads and writes
//! included, with the JIT, with the interpreter and as the same rules
//! written by hand in Rust (`kensa_benches::hand_default`, checked to
//! decide every event as the engine does before anything is timed); and
//! decode + decide from JSON bytes. Each pass starts from an empty velocity
//! state.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kensa_benches::hand_default::HandDefault;
use kensa_benches::{engine, engine_records, example_lists, program};
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
    // The hand-written baseline must decide exactly as the engine does on
    // these events (same outcome, same ranked rules), or it times something
    // else.
    let mut hand = HandDefault::new(&prog, &example_lists(&prog)).expect("the default rule set's fields and lists");
    let e = engine(prog.clone(), Evaluator::Jit);
    let recs = engine_records(&e, &lines);
    let mut reached = std::collections::BTreeSet::new();
    for r in &recs {
        let d = e.decide(r, DecideOptions::default());
        let h = hand.decide(r);
        let ids: Vec<&str> = d.matched.iter().map(|m| &**m).collect();
        assert_eq!((&*d.outcome, ids), (h.outcome, h.matched.clone()), "the hand-written rules disagree on {:?}", d.event_id);
        reached.extend(h.matched);
    }
    assert_eq!(reached.len(), prog.rules.len(), "the example events match every rule at least once");
    let mut g = c.benchmark_group("default_ruleset");
    g.throughput(Throughput::Elements(kensa_benches::records(&prog, &lines).len() as u64));
    g.bench_function("decide_hand", |b| {
        b.iter(|| {
            hand.clear();
            for r in &recs {
                black_box(hand.decide(r));
            }
        });
    });
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
