//! Stateless rule sets (a 3-comparison rule, a 25-rule set): Kensa's JIT and
//! interpreter against the same rules hand-written in Rust over the same
//! records, and against peer engines (evalexpr 11.3.1, rhai 1.27,
//! cel-interpreter 0.10, zen-engine's expression evaluator 2.1) on the same
//! inputs. Every engine's inputs are prepared before timing; only evaluating
//! the conditions is timed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kensa_benches::{program, records, stateless_events, twenty_five_rules, RecordEnv};
use kensa_compiler::check::Phase;
use kensa_compiler::jit::JitProgram;
use kensa_compiler::value::Value;
use std::hint::black_box;

const EVENTS: usize = 256;

struct Input {
    amount: f64,
    score: f64,
    dwell: f64,
    currency: String,
    country: String,
}

fn inputs(lines: &[String]) -> Vec<Input> {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Input {
                amount: v["amount"].as_f64().unwrap(),
                score: v["score"].as_f64().unwrap(),
                dwell: v["page"]["dwell_ms"].as_f64().unwrap(),
                currency: v["currency"].as_str().unwrap().to_string(),
                country: v["card"]["country"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn bench_set(c: &mut Criterion, group_name: &str, rules: &[(String, String)]) {
    let lines = stateless_events(EVENTS);
    let src = format!(
        "ruleset s {{\n{}\n}}",
        rules.iter().enumerate().map(|(i, (k, _))| format!("  rule r{i} -> block when {k}")).collect::<Vec<_>>().join("\n")
    );
    let prog = program(&src);
    let recs = records(&prog, &lines);
    let ins = inputs(&lines);
    let jit = JitProgram::compile(&prog).unwrap();
    let n_rules = prog.rules.len();

    let mut g = c.benchmark_group(group_name);
    g.throughput(Throughput::Elements(EVENTS as u64));

    g.bench_function("kensa_jit", |b| {
        let mut out = vec![0u8; n_rules];
        b.iter(|| {
            let mut hits = 0usize;
            for r in &recs {
                let env = RecordEnv { record: r, lists: &[] };
                jit.run(Phase::One, &env, &mut out, n_rules);
                kensa_compiler::jit::for_each_true(&out, |_| hits += 1);
            }
            black_box(hits)
        });
    });

    g.bench_function("kensa_interpreter", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for r in &recs {
                let env = RecordEnv { record: r, lists: &[] };
                hits += prog.rules.iter().filter(|rule| kensa_compiler::interp::truth(&rule.when, &env) == Some(true)).count();
            }
            black_box(hits)
        });
    });

    // The same rules written by hand against the same records.
    let slot = |p: &str| prog.schema.lookup(p).unwrap().0;
    let (amount, score, dwell, currency, country) =
        (slot("amount"), slot("score"), slot("page.dwell_ms"), slot("currency"), slot("card.country"));
    let thresholds: Vec<(f64, f64, f64, &str, &str)> = (0..rules.len())
        .map(|i| {
            if rules.len() == 1 {
                (1000.0, 50.0, f64::INFINITY, "JPY", "")
            } else {
                #[allow(clippy::cast_precision_loss)]
                let f = i as f64;
                (1000.0 * (f + 1.0), f * 3.0, 4000.0 - f * 100.0, ["JPY", "USD", "EUR"][i % 3], ["JPN", "USA", "GBR", "KOR"][i % 4])
            }
        })
        .collect();
    g.bench_function("hand_written_rust", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for r in &recs {
                let num = |f| match r.get(f) {
                    Value::Number(n) => Some(*n),
                    _ => None,
                };
                let text = |f| match r.get(f) {
                    Value::Str(s) => Some(&**s),
                    _ => None,
                };
                let (a, s, d, cur, cty) = (num(amount), num(score), num(dwell), text(currency), text(country));
                for (ta, ts, td, tc, tn) in &thresholds {
                    let ok = matches!(a, Some(x) if x > *ta)
                        && matches!(s, Some(x) if x >= *ts)
                        && (td.is_infinite() || matches!(d, Some(x) if x < *td))
                        && cur == Some(*tc)
                        && (tn.is_empty() || matches!(cty, Some(x) if x != *tn));
                    hits += usize::from(ok);
                }
            }
            black_box(hits)
        });
    });

    let plain: Vec<String> = rules.iter().map(|(_, p)| p.clone()).collect();

    let evalexpr_nodes: Vec<evalexpr::Node> = plain
        .iter()
        .map(|p| evalexpr::build_operator_tree(&p.replace(" and ", " && ")).unwrap())
        .collect();
    let evalexpr_ctx: Vec<evalexpr::HashMapContext> = ins
        .iter()
        .map(|i| {
            use evalexpr::ContextWithMutableVariables;
            let mut c = evalexpr::HashMapContext::new();
            c.set_value("amount".into(), i.amount.into()).unwrap();
            c.set_value("score".into(), i.score.into()).unwrap();
            c.set_value("dwell".into(), i.dwell.into()).unwrap();
            c.set_value("currency".into(), i.currency.clone().into()).unwrap();
            c.set_value("country".into(), i.country.clone().into()).unwrap();
            c
        })
        .collect();
    g.bench_function("evalexpr_11", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for c in &evalexpr_ctx {
                for n in &evalexpr_nodes {
                    hits += usize::from(n.eval_boolean_with_context(c).unwrap_or(false));
                }
            }
            black_box(hits)
        });
    });

    let rhai_engine = rhai::Engine::new();
    let rhai_asts: Vec<rhai::AST> =
        plain.iter().map(|p| rhai_engine.compile_expression(p.replace(" and ", " && ")).unwrap()).collect();
    g.bench_function("rhai_1_27", |b| {
        b.iter_batched_ref(
            || {
                ins.iter()
                    .map(|i| {
                        let mut s = rhai::Scope::new();
                        s.push("amount", i.amount);
                        s.push("score", i.score);
                        s.push("dwell", i.dwell);
                        s.push("currency", i.currency.clone());
                        s.push("country", i.country.clone());
                        s
                    })
                    .collect::<Vec<_>>()
            },
            |scopes| {
                let mut hits = 0usize;
                for s in scopes.iter_mut() {
                    for ast in &rhai_asts {
                        hits += usize::from(rhai_engine.eval_ast_with_scope::<bool>(s, ast).unwrap_or(false));
                    }
                }
                black_box(hits)
            },
            BatchSize::LargeInput,
        );
    });

    let cel_programs: Vec<cel_interpreter::Program> = plain
        .iter()
        .map(|p| cel_interpreter::Program::compile(&p.replace(" and ", " && ").replace('"', "'")).unwrap())
        .collect();
    let cel_ctx: Vec<cel_interpreter::Context> = ins
        .iter()
        .map(|i| {
            let mut c = cel_interpreter::Context::default();
            c.add_variable("amount", i.amount).unwrap();
            c.add_variable("score", i.score).unwrap();
            c.add_variable("dwell", i.dwell).unwrap();
            c.add_variable("currency", i.currency.clone()).unwrap();
            c.add_variable("country", i.country.clone()).unwrap();
            c
        })
        .collect();
    g.bench_function("cel_interpreter_0_10", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for c in &cel_ctx {
                for p in &cel_programs {
                    hits += usize::from(matches!(p.execute(c), Ok(cel_interpreter::Value::Bool(true))));
                }
            }
            black_box(hits)
        });
    });

    let zen_exprs: Vec<_> =
        plain.iter().map(|p| zen_expression::compile_expression(&p.replace('"', "'")).unwrap()).collect();
    let zen_ctx: Vec<zen_expression::Variable> = ins
        .iter()
        .map(|i| {
            serde_json::json!({"amount": i.amount, "score": i.score, "dwell": i.dwell, "currency": i.currency, "country": i.country})
                .into()
        })
        .collect();
    g.bench_function("zen_expression_2_1", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for c in &zen_ctx {
                for e in &zen_exprs {
                    hits += usize::from(matches!(e.evaluate(c.clone()), Ok(v) if v == zen_expression::Variable::Bool(true)));
                }
            }
            black_box(hits)
        });
    });
    g.finish();
}

fn three_comparisons(c: &mut Criterion) {
    let rule = ("amount > 1000 and score >= 50 and currency == \"JPY\"".to_string(), "amount > 1000 and score >= 50 and currency == \"JPY\"".to_string());
    bench_set(c, "stateless_3_comparisons", &[rule]);
}

fn twenty_five(c: &mut Criterion) {
    bench_set(c, "stateless_25_rules", &twenty_five_rules());
}

criterion_group!(benches, three_comparisons, twenty_five);
criterion_main!(benches);
