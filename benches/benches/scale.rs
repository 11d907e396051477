//! Compile + JIT time and decide time for 10, 100, 1,000 and 10,000 rules of
//! the form `field == constant and amount > N` (the shape rule-set-wide
//! indexing is meant to dispatch on).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use kensa_benches::{program, records, JitRunner, RecordEnv};
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
        let mut jit = JitRunner::new(&prog);
        let recs = records(&prog, &event);
        let env = RecordEnv { record: &recs[0], lists: &[] };
        // Rule i matches when it tests "C7" and its threshold is below 5000.
        let expected = (0..n).filter(|i| i % 500 == 7 && i * 10 < 5000).count();
        assert_eq!(jit.hits(&env), expected, "scale {n}: matched rules");
        g.bench_function(format!("decide_jit_{n}"), |b| b.iter(|| black_box(jit.hits(&env))));
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
