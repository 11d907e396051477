//! Random event streams (out of order within one window, ties, missing
//! keys and values, `where`) against a naive model of the windows that
//! recomputes every aggregate from all recorded events.
#![no_main]

#[path = "../../runtime/tests/support/velocity_model.rs"]
mod model;

use arbitrary::Arbitrary;
use kensa_runtime::{DecideOptions, Engine, Evaluator};
use libfuzzer_sys::fuzz_target;
use model::{event_json, expected, velocities, Ev, WINDOW_MS};

#[derive(Arbitrary, Debug)]
struct RawEv {
    step: u8,
    back: u8,
    customer: Option<u8>,
    card: Option<u8>,
    amount: Option<i8>,
    flagged: Option<bool>,
}

fuzz_target!(|raw: Vec<RawEv>| {
    if raw.is_empty() || raw.len() > 64 {
        return;
    }
    let checked = kensa_compiler::compile_source(&model::source()).expect("model rule set");
    let program = kensa_compiler::lower::lower(&checked);
    let engine = Engine::with_evaluator(program, Vec::new(), Evaluator::Interpreter).expect("engine");
    let mut newest = 0i64;
    let mut recorded: Vec<Ev> = Vec::new();
    for r in &raw {
        let forward = newest + i64::from(r.step % 30);
        let time = (forward - i64::from(r.back) % WINDOW_MS).max(newest - WINDOW_MS + 1).max(0);
        newest = newest.max(time);
        let e = Ev {
            time,
            customer: r.customer.map(|c| c % 3),
            card: r.card.map(|c| c % 4),
            amount: r.amount.map(i32::from),
            flagged: r.flagged,
        };
        let d = engine
            .decide_json(event_json(&e).as_bytes(), DecideOptions { dry_run: false, explain: true })
            .expect("model events decode");
        let reads = &d.explain.as_ref().and_then(|x| x.first()).expect("the show rule matches").reads;
        for (agg, variant) in velocities() {
            let name = format!("{agg}{variant}");
            let got = reads.iter().find(|(n, _)| *n == name).map(|(_, v)| kensa_runtime::decision::value_json(v));
            let want = expected(agg, variant, &recorded, &e);
            let same = match (got.as_ref().and_then(|g| g.as_f64()), want.as_f64()) {
                (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                _ => got.as_ref() == Some(&want),
            };
            assert!(same, "{name} at {e:?}: got {got:?}, want {want}");
        }
        if e.customer.is_some() {
            recorded.push(e);
        }
    }
});
