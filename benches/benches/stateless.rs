//! Stateless rule sets (a 3-comparison rule, a 25-rule set): Kensa's JIT and
//! interpreter against the same rules hand-written in Rust over the same
//! records, and against peer engines (evalexpr 11.3.1, rhai 1.27,
//! cel-interpreter 0.10, zen-engine's expression evaluator 2.1) on the same
//! inputs. Every engine's inputs are prepared before timing; only evaluating
//! the conditions is timed. Before timing, every engine must match as many
//! rules over the events as the hand-written Rust (`cargo bench -- --test`
//! runs just that check and each bench once, as `scripts/test.sh` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kensa_benches::{program, records, stateless_events, twenty_five_rules, JitRunner, RecordEnv};
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

/// Fails the bench unless `engine` matched as many rules over the events as
/// the hand-written Rust did: a bench that times an engine answering
/// something else (or nothing) measures nothing.
fn agree(group: &str, engine: &str, hits: usize, expected: usize) {
    assert_eq!(hits, expected, "{group}: {engine} matched {hits} rules over the events, hand-written Rust {expected}");
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

    // The same rules written by hand against the same records: the
    // baseline, and the answer every engine must agree with.
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
    let hand_written = || {
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
        hits
    };
    let expected = hand_written();
    assert!(expected > 0 && expected < recs.len() * rules.len(), "{group_name}: the rules must match some events, not all");

    let mut jit = JitRunner::new(&prog);
    let mut kensa_jit = || recs.iter().map(|r| jit.hits(&RecordEnv { record: r, lists: &[] })).sum::<usize>();
    agree(group_name, "kensa_jit", kensa_jit(), expected);
    let kensa_interpreter = || {
        let mut hits = 0usize;
        for r in &recs {
            let env = RecordEnv { record: r, lists: &[] };
            hits += prog.rules.iter().filter(|rule| kensa_compiler::interp::truth(&rule.when, &env) == Some(true)).count();
        }
        hits
    };
    agree(group_name, "kensa_interpreter", kensa_interpreter(), expected);

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
    let evalexpr_11 = || {
        let mut hits = 0usize;
        for c in &evalexpr_ctx {
            for n in &evalexpr_nodes {
                hits += usize::from(n.eval_boolean_with_context(c).unwrap_or(false));
            }
        }
        hits
    };
    agree(group_name, "evalexpr_11", evalexpr_11(), expected);

    let rhai_engine = rhai::Engine::new();
    let rhai_asts: Vec<rhai::AST> =
        plain.iter().map(|p| rhai_engine.compile_expression(p.replace(" and ", " && ")).unwrap()).collect();
    let rhai_scopes = || {
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
    };
    let rhai_1_27 = |scopes: &mut Vec<rhai::Scope<'static>>| {
        let mut hits = 0usize;
        for s in scopes.iter_mut() {
            for ast in &rhai_asts {
                hits += usize::from(rhai_engine.eval_ast_with_scope::<bool>(s, ast).unwrap_or(false));
            }
        }
        hits
    };
    agree(group_name, "rhai_1_27", rhai_1_27(&mut rhai_scopes()), expected);

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
    let cel_interpreter_0_10 = || {
        let mut hits = 0usize;
        for c in &cel_ctx {
            for p in &cel_programs {
                hits += usize::from(matches!(p.execute(c), Ok(cel_interpreter::Value::Bool(true))));
            }
        }
        hits
    };
    agree(group_name, "cel_interpreter_0_10", cel_interpreter_0_10(), expected);

    let zen_exprs: Vec<_> =
        plain.iter().map(|p| zen_expression::compile_expression(&p.replace('"', "'")).unwrap()).collect();
    let zen_ctx: Vec<zen_expression::Variable> = ins
        .iter()
        .map(|i| {
            serde_json::json!({"amount": i.amount, "score": i.score, "dwell": i.dwell, "currency": i.currency, "country": i.country})
                .into()
        })
        .collect();
    let zen_expression_2_1 = || {
        let mut hits = 0usize;
        for c in &zen_ctx {
            for e in &zen_exprs {
                hits += usize::from(matches!(e.evaluate(c.clone()), Ok(v) if v == zen_expression::Variable::Bool(true)));
            }
        }
        hits
    };
    agree(group_name, "zen_expression_2_1", zen_expression_2_1(), expected);

    // Timed: every engine answered as the hand-written Rust did above.
    let mut g = c.benchmark_group(group_name);
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("kensa_jit", |b| b.iter(|| black_box(kensa_jit())));
    g.bench_function("kensa_interpreter", |b| b.iter(|| black_box(kensa_interpreter())));
    g.bench_function("hand_written_rust", |b| b.iter(|| black_box(hand_written())));
    g.bench_function("evalexpr_11", |b| b.iter(|| black_box(evalexpr_11())));
    g.bench_function("rhai_1_27", |b| b.iter_batched_ref(rhai_scopes, |scopes| black_box(rhai_1_27(scopes)), BatchSize::LargeInput));
    g.bench_function("cel_interpreter_0_10", |b| b.iter(|| black_box(cel_interpreter_0_10())));
    g.bench_function("zen_expression_2_1", |b| b.iter(|| black_box(zen_expression_2_1())));
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
