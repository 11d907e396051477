//! Shared by the differential property test and the `diff_jit_interp` fuzz
//! target: the declarations every generated rule set starts with, its lists,
//! engines for both evaluators, and the comparison itself.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_runtime::{DecideOptions, Engine, Evaluator};
use std::sync::Arc;

pub const DECLS: &str = r#"
  field custom.flag: bool
  field custom.wait: duration
  list ips: ip
  list names: string
  list bins: prefix
  list amounts: number
  velocity n = count() by card.hash over 1h
  velocity spend = sum(amount) by customer.id over 1d where amount > 0
  velocity mean = avg(amount) by customer.id over 1d excluding current
  velocity seen = last(event.time) by customer.id over 30d
  velocity peak = max(amount) by card.hash over 1h
"#;

pub const LISTS: [(&str, &str); 4] = [("ips", "10.0.0.0/8\n192.168.1.7"), ("names", "alice\nbob"), ("bins", "41\n5555"), ("amounts", "0\n-1\n250")];

pub fn engine(src: &str, evaluator: Evaluator) -> Engine {
    engine_with_lists(src, &LISTS, evaluator)
}

/// An engine for `src` whose lists hold the given (name, file text) contents.
pub fn engine_with_lists(src: &str, lists: &[(&str, &str)], evaluator: Evaluator) -> Engine {
    let checked = kensa_compiler::compile_source(src).unwrap_or_else(|e| panic!("{src}\n{e:?}"));
    let program = kensa_compiler::lower::lower(&checked);
    let sets = program
        .lists
        .iter()
        .map(|l| {
            let text = lists.iter().find(|(n, _)| *n == l.name).map_or("", |(_, t)| t);
            Arc::new(kensa_runtime::lists::parse_list(&l.name, l.kind, text.as_bytes()).unwrap())
        })
        .collect();
    Engine::with_evaluator(program, sets, evaluator).unwrap()
}

/// Decides every event with both engines; the first event on which they
/// differ, with both decisions.
pub fn first_difference(jit_src: &str, interp_src: &str, events: &[String]) -> Option<String> {
    let jit = engine(jit_src, Evaluator::Jit);
    let interp = engine(interp_src, Evaluator::Interpreter);
    let options = DecideOptions { dry_run: false, explain: true };
    for e in events {
        let a = jit.decide_json(e.as_bytes(), options).map(|d| d.to_json());
        let b = interp.decide_json(e.as_bytes(), options).map(|d| d.to_json());
        if a != b {
            return Some(format!("event {e}\n  jit:    {a:?}\n  interp: {b:?}"));
        }
    }
    None
}

pub fn rule_set(conditions: &[(String, u8, bool)]) -> String {
    let outcomes = ["block", "alert", "force_allow", "challenge", "allow"];
    let mut s = format!("ruleset d {{{DECLS}");
    for (i, (c, o, skip)) in conditions.iter().enumerate() {
        let outcome = outcomes[*o as usize % outcomes.len()];
        // skip_scoring only where the rule does not read the score.
        let skip = if *skip && !c.contains("score") { " skip_scoring" } else { "" };
        s.push_str(&format!("  rule r{i} -> {outcome}{skip} when {c}\n"));
    }
    s.push('}');
    s
}

