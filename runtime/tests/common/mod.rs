//! Helpers shared by the runtime's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_runtime::{DecideOptions, Decision, Engine, Evaluator};

/// The same rule set on both evaluators. Every decision made through
/// [`decide`] or [`decide_with`] runs on both and must agree, so every rule
/// set of these tests runs under the JIT and the interpreter. Other engine
/// methods reach the JIT engine through `Deref`.
pub struct Both {
    /// The JIT engine (the one the tests read).
    pub jit: Engine,
    /// The interpreter engine, kept in step.
    pub interp: Engine,
}

impl std::ops::Deref for Both {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.jit
    }
}

#[path = "../support/differential.rs"]
mod differential;

/// An engine pair for `src`, with list contents given inline as (name, file text).
pub fn engine(src: &str, lists: &[(&str, &str)]) -> Both {
    Both {
        jit: differential::engine_with_lists(src, lists, Evaluator::Jit),
        interp: differential::engine_with_lists(src, lists, Evaluator::Interpreter),
    }
}

/// Decides one JSON event (must be valid), with explain.
pub fn decide(e: &Both, json: &str) -> Decision {
    decide_with(e, json, DecideOptions { dry_run: false, explain: true })
}

/// Decides with options on both evaluators; they must agree.
pub fn decide_with(e: &Both, json: &str, options: DecideOptions) -> Decision {
    let a = e.jit.decide_json(json.as_bytes(), options).unwrap_or_else(|err| panic!("{json}: {err:?}"));
    let b = e.interp.decide_json(json.as_bytes(), options).unwrap_or_else(|err| panic!("{json}: {err:?}"));
    assert_eq!(a.to_json(), b.to_json(), "JIT and interpreter disagree on {json}");
    a
}

/// The ids of the matched rules.
pub fn matched(d: &Decision) -> Vec<&str> {
    d.matched.iter().map(|m| &**m).collect()
}

/// The value a matched rule's explain shows for `name`.
pub fn explained(d: &Decision, rule: &str, name: &str) -> serde_json::Value {
    let ex = d.explain.as_ref().unwrap();
    let r = ex.iter().find(|x| x.rule == rule).unwrap_or_else(|| panic!("{rule} did not match: {:?}", d.matched));
    let v = &r.reads.iter().find(|(n, _)| n == name).unwrap().1;
    kensa_runtime::decision::value_json(v)
}
