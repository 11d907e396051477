//! `kensa test`: run expectation cases in order on one engine.

use crate::commands::eval::{decode_stamped, json_lines, open_input};
use crate::source::load_engine;
use crate::{EXIT_LOAD, EXIT_OK, EXIT_USAGE};
use kensa_runtime::{DecideOptions, Decision, Engine};
use serde_json::Value as Json;
use std::path::Path;

/// The keys `expect` may hold.
const EXPECT_KEYS: [&str; 6] = ["decision", "code", "matched", "skip_scoring", "score_level", "error"];

/// Runs the command and returns its exit status.
pub fn run(rules: &Path, lists: Option<&Path>, evaluator: kensa_runtime::Evaluator, cases: &Path) -> u8 {
    let engine = match load_engine(rules, lists, evaluator) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let input = match open_input(Some(cases)) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for line in json_lines(input) {
        let (number, bytes) = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: reading the cases: {e}");
                return EXIT_USAGE;
            }
        };
        match run_case(&engine, &bytes) {
            Ok(()) => passed += 1,
            Err(report) => {
                failed += 1;
                println!("case at line {number} failed:\n{report}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        EXIT_LOAD
    } else {
        EXIT_OK
    }
}

/// Runs one case; on failure returns the report to print.
fn run_case(engine: &Engine, bytes: &[u8]) -> Result<(), String> {
    let case: Json = serde_json::from_slice(bytes).map_err(|e| format!("  the case is not JSON: {e}"))?;
    let Some(obj) = case.as_object() else {
        return Err("  the case is not a JSON object".to_string());
    };
    if let Some(k) = obj.keys().find(|k| *k != "event" && *k != "expect") {
        return Err(format!("  unknown key `{k}`: a case holds `event` and `expect`"));
    }
    let event = obj.get("event").ok_or("  the case has no `event`")?;
    let expect = obj.get("expect").and_then(Json::as_object).ok_or("  the case has no `expect` object")?;
    if let Some(k) = expect.keys().find(|k| !EXPECT_KEYS.contains(&k.as_str())) {
        return Err(format!("  unknown expectation `{k}`: `expect` may hold {}", EXPECT_KEYS.join(", ")));
    }
    let event_bytes = serde_json::to_vec(event).map_err(|e| format!("  the event cannot be read: {e}"))?;
    let outcome = decode_stamped(engine, &event_bytes).map(|record| engine.decide(&record, DecideOptions::default()));
    let problems = compare(expect, &outcome);
    if problems.is_empty() {
        return Ok(());
    }
    let actual = match &outcome {
        Ok(d) => d.to_json(),
        Err(e) => kensa_runtime::decision::error_json(e.event_id.as_deref(), &e.message),
    };
    Err(format!(
        "  event:    {event}\n  expected: {}\n  actual:   {actual}\n{}",
        Json::Object(expect.clone()),
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    ))
}

/// Every difference between the expectations and what happened.
fn compare(expect: &serde_json::Map<String, Json>, outcome: &Result<Decision, kensa_runtime::EventError>) -> Vec<String> {
    let mut problems = Vec::new();
    match outcome {
        Err(e) => match expect.get("error") {
            Some(Json::String(needle)) if e.message.contains(needle.as_str()) => {}
            Some(want) => problems.push(format!("error: expected a message containing {want}, got {:?}", e.message)),
            None => problems.push(format!("the event is invalid: {}", e.message)),
        },
        Ok(d) => {
            if let Some(want) = expect.get("error") {
                problems.push(format!("error: expected the event to be invalid ({want}), but it was decided"));
            }
            let actual = d.to_json();
            for key in ["decision", "code", "matched", "skip_scoring", "score_level"] {
                if let Some(want) = expect.get(key) {
                    let got = actual.get(key).unwrap_or(&Json::Null);
                    if !same(want, got) {
                        problems.push(format!("{key}: expected {want}, got {got}"));
                    }
                }
            }
        }
    }
    problems
}

/// JSON equality where numbers compare by value (`30` equals `30.0`).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
