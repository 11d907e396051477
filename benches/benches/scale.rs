//! Compile + JIT time and decide time for 10, 100, 1,000 and 10,000 rules of
//! the form `field == constant and amount > N` (the shape rule-set-wide
//! indexing is meant to dispatch on).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use kensa_benches::{program, records, RecordEnv};
use kensa_compiler::check::Phase;
use kensa_compiler::jit::JitProgram;
use std::hint::black_box;

fn rule_set(n: usize) -> String {
    let mut s = String::from("ruleset scale {\n");
    for i in 0..n {
        s.push_str(&format!("  rule r{i} -> block when card.country == \"C{}\" and amount > {}\n", i % 500, i * 10));
    }
    s.push('}');
    s
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    let event = vec![r#"{"event": {"time": 0}, "amount": 5000, "card": {"country": "C7"}}"#.to_string()];
    for n in [10usize, 100, 1_000, 10_000] {
        let src = rule_set(n);
        g.bench_function(format!("compile_and_jit_{n}"), |b| {
            b.iter(|| {
                let prog = program(&src);
                black_box(JitProgram::compile(&prog).unwrap())
            });
        });
        let prog = program(&src);
        let jit = JitProgram::compile(&prog).unwrap();
        let recs = records(&prog, &event);
        let rec = &recs[0];
        g.bench_function(format!("decide_jit_{n}"), |b| {
            let mut out = vec![0u8; n];
            b.iter(|| {
                let env = RecordEnv { record: rec, lists: &[] };
                jit.run(Phase::One, &env, &mut out, n);
                let mut hits = 0usize;
                kensa_compiler::jit::for_each_true(&out, |_| hits += 1);
                black_box(hits)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
