//! Helpers shared by the runtime's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_dsl::ast::ListKind;
use kensa_runtime::{DecideOptions, Decision, Engine};
use std::sync::Arc;

/// An engine for `src`, with list contents given inline as (name, file text).
pub fn engine(src: &str, lists: &[(&str, &str)]) -> Engine {
    let checked = kensa_compiler::compile_source(src).unwrap_or_else(|e| panic!("{src}\n{e:?}"));
    let program = kensa_compiler::lower::lower(&checked);
    let sets = program
        .lists
        .iter()
        .map(|l| {
            let text = lists.iter().find(|(n, _)| *n == l.name).map_or("", |(_, t)| t);
            let kind: ListKind = l.kind;
            Arc::new(kensa_runtime::lists::parse_list(&l.name, kind, text.as_bytes()).unwrap())
        })
        .collect();
    Engine::new(program, sets)
}

/// Decides one JSON event (must be valid).
pub fn decide(e: &mut Engine, json: &str) -> Decision {
    e.decide_json(json.as_bytes(), DecideOptions { dry_run: false, explain: true }).unwrap_or_else(|err| panic!("{json}: {err:?}"))
}

/// Decides with options.
pub fn decide_with(e: &mut Engine, json: &str, options: DecideOptions) -> Decision {
    e.decide_json(json.as_bytes(), options).unwrap()
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
