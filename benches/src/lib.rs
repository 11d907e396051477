//! Shared set-up for the benches: compiling rule sets for either evaluator,
//! decoding events, and an environment over one record without velocities
//! (for stateless condition benches); the default rule set written by hand
//! ([`hand_default`]).

pub mod hand_default;

use kensa_compiler::check::Phase;
use kensa_compiler::interp::Env;
use kensa_compiler::ir::{ListId, Program, SetData, VelocityId};
use kensa_compiler::jit::JitProgram;
use kensa_compiler::schema::FieldId;
use kensa_compiler::value::Value;
use kensa_runtime::{Engine, Evaluator, Record};
use std::sync::Arc;

/// Compiles rule-set text to a program; panics on a bad rule set (benches
/// only run on known-good ones).
#[allow(clippy::expect_used)]
pub fn program(src: &str) -> Program {
    let checked = kensa_compiler::compile_source(src).expect("bench rule set checks");
    kensa_compiler::lower::lower(&checked)
}

/// An engine with lists loaded from `examples/lists` when the program declares any.
#[allow(clippy::expect_used)]
pub fn engine(program: Program, evaluator: Evaluator) -> Engine {
    let lists = example_lists(&program);
    Engine::with_evaluator(program, lists, evaluator).expect("the rule set compiles")
}

/// The lists `program` declares, loaded from `examples/lists` (in its order).
#[allow(clippy::expect_used)]
pub fn example_lists(program: &Program) -> Vec<Arc<SetData>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lists");
    kensa_runtime::lists::load_dir(&program.lists, &dir).expect("example lists load")
}

/// Decodes JSON events against a program's schema, skipping invalid ones.
pub fn records(program: &Program, lines: &[String]) -> Vec<Record> {
    let decoder = kensa_runtime::record::Decoder::new(Arc::new(program.schema.clone()));
    lines.iter().filter_map(|l| decoder.decode_bytes(l.as_bytes()).ok()).collect()
}

/// Decodes JSON events with an engine's active schema (the records it
/// decides without re-mapping), skipping invalid ones.
pub fn engine_records(engine: &Engine, lines: &[String]) -> Vec<Record> {
    lines.iter().filter_map(|l| engine.decode(l.as_bytes()).ok()).collect()
}

/// A record's fields with no velocities and no lists: what a stateless
/// condition reads.
pub struct RecordEnv<'a> {
    /// The record.
    pub record: &'a Record,
    /// The lists, by id.
    pub lists: &'a [Arc<SetData>],
}

static EMPTY: SetData = SetData::Values(Vec::new());

impl Env for RecordEnv<'_> {
    fn field(&self, id: FieldId) -> &Value {
        self.record.get(id)
    }
    fn velocity(&self, _: VelocityId) -> &Value {
        &Value::Missing
    }
    fn list(&self, id: ListId) -> &SetData {
        self.lists.get(id.0 as usize).map_or(&EMPTY, |l| l)
    }
    fn values(&self) -> Option<(&[Value], &[Value])> {
        Some((&self.record.slots, &[]))
    }
    fn lists(&self) -> Option<&[Arc<SetData>]> {
        Some(self.lists)
    }
}

/// A program's generated code run as a decision runs it: phase 1, then
/// phase 2 (rules that read `score`), counting the enabled rules each phase
/// matched. Running one phase alone skips the other phase's rules, and a
/// stateless bench whose rules all read `score` would then time nothing.
pub struct JitRunner {
    jit: JitProgram,
    /// Per rule: the phase it runs in, `None` when disabled.
    phases: Vec<Option<Phase>>,
    out: Vec<u8>,
}

impl JitRunner {
    /// Compiles `program` to native code; panics when it does not compile
    /// (benches only run known-good rule sets).
    #[allow(clippy::expect_used)]
    pub fn new(program: &Program) -> JitRunner {
        JitRunner {
            jit: JitProgram::compile(program).expect("the bench rule set compiles to native code"),
            phases: program.rules.iter().map(|r| r.enabled.then_some(r.phase)).collect(),
            out: vec![0; program.rules.len()],
        }
    }

    /// How many rules match in `env`, over both phases.
    pub fn hits<E: Env>(&mut self, env: &E) -> usize {
        let mut hits = 0;
        for phase in [Phase::One, Phase::Two] {
            if !self.jit.has_rules(phase) {
                continue;
            }
            self.jit.run(phase, env, &mut self.out, self.phases.len());
            let phases = &self.phases;
            kensa_compiler::jit::for_each_true(&self.out, |i| hits += usize::from(phases.get(i) == Some(&Some(phase))));
        }
        hits
    }
}

/// Events for the stateless benches: varied amounts, scores and currencies.
pub fn stateless_events(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let currency = ["JPY", "USD", "EUR"].get(i % 3).copied().unwrap_or("JPY");
            let country = ["JPN", "USA", "GBR", "KOR"].get(i % 4).copied().unwrap_or("JPN");
            format!(
                r#"{{"event": {{"id": "e{i}", "time": {}}}, "amount": {}, "score": {}, "currency": "{currency}", "page": {{"dwell_ms": {}}}, "card": {{"country": "{country}"}}}}"#,
                1_767_225_600_000i64 + i64::try_from(i).unwrap_or(0) * 1000,
                (i * 7919) % 200_000,
                (i * 31) % 100,
                (i * 13) % 5000
            )
        })
        .collect()
}

/// The 25-rule stateless set: thresholds on amount, score, dwell time,
/// currency and card country, as the peers' expressions also spell them.
pub fn twenty_five_rules() -> Vec<(String, String)> {
    (0..25)
        .map(|i| {
            let kensa = format!(
                "amount > {} and score >= {} and page.dwell_ms < {} and currency == \"{}\" and card.country != \"{}\"",
                1000 * (i + 1),
                i * 3,
                4000 - i * 100,
                ["JPY", "USD", "EUR"].get(i % 3).copied().unwrap_or("JPY"),
                ["JPN", "USA", "GBR", "KOR"].get(i % 4).copied().unwrap_or("JPN")
            );
            let plain = kensa.replace("page.dwell_ms", "dwell").replace("card.country", "country");
            (kensa, plain)
        })
        .collect()
}
