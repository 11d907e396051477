//! Differential tests: the JIT and the interpreter must agree on every
//! decision, matched list and explain value, on random well-typed rule sets
//! (every operator, functions, lists, velocities, missing values, both
//! phases) and random event streams. A meta-test shows the harness catches
//! a real difference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_runtime::{DecideOptions, Engine, Evaluator};
use proptest::prelude::*;
use serde_json::json;

#[path = "support/differential.rs"]
mod support;
use support::{first_difference, rule_set, DECLS};

fn num() -> BoxedStrategy<String> {
    let leaf = prop::sample::select(vec![
        "amount", "score", "page.dwell_ms", "items.count", "n", "spend", "mean", "peak", "0", "1", "2.5", "100",
        "1e300", "len(card.hash)", "hour(event.time, \"+09:00\")", "weekday(event.time, \"Z\")", "len(items.id)",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(3, 10, 2, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["+", "-", "*", "/"]), inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("max({a}, {b})")),
        ]
    })
    .boxed()
}

fn time() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "event.time", "seen", "@2026-01-01T00:00:00Z", "event.time - 1h", "seen + custom.wait", "event.time + custom.wait",
    ])
    .prop_map(str::to_string)
}

fn dur() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["custom.wait", "1h", "(event.time - seen)", "-custom.wait", "(custom.wait + 30m)", "0ms"]).prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    prop_oneof![
        (num(), cmp.clone(), num()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (time(), cmp.clone(), time()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (dur(), cmp.clone(), dur()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (num(), num(), num()).prop_map(|(x, a, b)| format!("{x} between {a} and {b}")),
        (time(), time(), time()).prop_map(|(x, a, b)| format!("{x} between {a} and {b}")),
        (num(), prop::bool::ANY).prop_map(|(x, p)| format!("{x} is {}", if p { "present" } else { "missing" })),
        prop::sample::select(vec![
            "custom.flag", "custom.flag == true", "custom.flag != false", "custom.flag is missing", "not custom.flag",
            "card.hash == \"c1\"", "card.hash < \"c2\"", "lower(customer.id) in names", "customer.id not in names",
            "ip.address in ips", "ip.address == \"10.1.2.3\"", "ip.address in (\"192.168.0.0/16\", \"::1\")",
            "card.bin in bins", "items.category in names", "items.id not in (\"a\", \"b\")", "amount in amounts",
            "amount in (1, 2.5, -3)", "starts_with(card.hash, \"c\")", "matches(customer.id, \"^a\")",
            "currency in (\"JPY\", \"USD\")", "event.time in (@2026-01-01T00:00:00Z)", "custom.wait in (1h, 2h)",
            "card.hash is present", "items.id is missing", "true", "false", "amount / 0 > 1",
            "1e300 * amount * 1e300 < 0 or score / 0 is missing", "event.time - @1970-01-01T00:00:00Z > 1d",
        ])
        .prop_map(str::to_string),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| format!("({})", xs.join(" and "))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| format!("({})", xs.join(" or "))),
            inner.prop_map(|x| format!("not ({x})")),
        ]
    })
}

/// `Some` of `s`'s values, or also `None` unless `always`.
fn maybe<T: std::fmt::Debug + Clone + 'static>(s: impl Strategy<Value = T> + 'static, always: bool) -> BoxedStrategy<Option<T>> {
    if always {
        s.prop_map(Some).boxed()
    } else {
        prop::option::of(s).boxed()
    }
}

/// A random event; with `always`, every field the rules read is present
/// (the generated code has a version for such events, see
/// `Translator::assume_present`).
fn event_of(always: bool) -> impl Strategy<Value = serde_json::Value> {
    (
        maybe(prop::sample::select(vec![-5.0, 0.0, 1.0, 2.5, 100.0, 250.0, 1e6]), always),
        maybe(0u8..100, always),
        maybe(prop::sample::select(vec!["c1", "c2", "c3"]), always),
        maybe(prop::sample::select(vec!["alice", "Bob", "carol"]), always),
        maybe(prop::sample::select(vec!["10.1.2.3", "192.168.1.7", "8.8.8.8", "::1", "::ffff:10.0.0.1"]), always),
        maybe(any::<bool>(), always),
        maybe(prop::sample::select(vec!["1h", "30m", "0ms", "90d"]), always),
        (
            0i64..7_200_000,
            maybe(prop::collection::vec(prop::sample::select(vec!["a", "gift", "x"]), usize::from(always)..3), always),
            maybe(0u16..5000, always),
            maybe(0u8..10, always),
        ),
    )
        .prop_map(|(amount, score, card, customer, ip, flag, wait, (offset, items, dwell, count))| {
            json!({
                "event": {"time": 1_767_225_600_000i64 + offset},
                "amount": amount, "score": score, "card": {"hash": card, "bin": card.map(|c| format!("41{c}"))},
                "customer": {"id": customer}, "ip": {"address": ip}, "currency": "JPY",
                "custom": {"flag": flag, "wait": wait},
                "page": {"dwell_ms": dwell}, "items.count": count,
                "items": items.map(|xs| xs.iter().map(|x| json!({"id": x, "category": x})).collect::<Vec<_>>()),
            })
        })
}

fn event() -> impl Strategy<Value = serde_json::Value> {
    event_of(false)
}

/// The rule set of `conditions` decides `events` (put in time order) the
/// same under the JIT and the interpreter.
fn agree_on(conditions: &[(String, u8, bool)], mut events: Vec<serde_json::Value>) -> Result<(), TestCaseError> {
    events.sort_by_key(|e| e["event"]["time"].as_i64());
    let src = rule_set(conditions);
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let diff = first_difference(&src, &src, &lines);
    prop_assert!(diff.is_none(), "{}\n{}", src, diff.unwrap_or_default());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// The same when every field is present on every event: the rules'
    /// version compiled for present values runs (velocities may still be
    /// missing, on a key's first events).
    #[test]
    fn jit_agrees_with_the_interpreter_when_every_field_is_present(
        conditions in prop::collection::vec((condition(), any::<u8>(), prop::bool::weighted(0.2)), 1..8),
        events in prop::collection::vec(event_of(true), 1..25),
    ) {
        agree_on(&conditions, events)?;
    }

    #[test]
    fn jit_agrees_with_the_interpreter(
        conditions in prop::collection::vec((condition(), any::<u8>(), prop::bool::weighted(0.2)), 1..8),
        events in prop::collection::vec(event(), 1..25),
    ) {
        agree_on(&conditions, events)?;
    }
}

/// Conditions that select a rule by one string field's value: enough of
/// them on one field, spread over enough values (no value selecting more
/// than one in eight), make the JIT index the rules (see `jit/index.rs`).
/// The first card key of the filler rules `indexed_rules_agree_with_the_interpreter`
/// adds (keys from here to c63, none of which an event carries).
const FILLER_KEYS_FROM: u8 = 16;

/// The events' card hashes are c1 to c3, so some guards select rules and
/// most do not.
fn guard() -> impl Strategy<Value = String> {
    let key = || 0u8..64;
    prop_oneof![
        key().prop_map(|k| format!("card.hash == \"c{k}\"")),
        key().prop_map(|k| format!("\"c{k}\" == card.hash")),
        (key(), key()).prop_map(|(a, b)| format!("card.hash in (\"c{a}\", \"c{b}\")")),
        prop::sample::select(vec!["items.category in (\"gift\", \"x\")", "items.category in (\"a\")", "customer.id == \"alice\""])
            .prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn indexed_rules_agree_with_the_interpreter(
        rules in prop::collection::vec((guard(), prop::option::of(condition()), any::<u8>(), any::<bool>()), 100..140),
        mut events in prop::collection::vec(event(), 1..20),
    ) {
        events.sort_by_key(|e| e["event"]["time"].as_i64());
        let mut conditions: Vec<(String, u8, bool)> = rules
            .into_iter()
            .map(|(g, rest, o, first)| {
                let c = match rest {
                    None => g,
                    Some(r) if first => format!("{g} and ({r})"),
                    Some(r) => format!("({r}) and {g}"),
                };
                (c, o, false)
            })
            .collect();
        // Which random rules land in phase 1 and how their keys pile up is
        // chance; 48 phase-1 rules on distinct keys no event carries make
        // sure `card.hash` is worth indexing there (at least 48 rules, and a
        // value would need 6 random rules of its own to select one in eight).
        conditions.extend((FILLER_KEYS_FROM..64).map(|k| (format!("card.hash == \"c{k}\""), 0, false)));
        let src = rule_set(&conditions);
        let checked = kensa_compiler::compile_source(&src).unwrap();
        let jit = kensa_compiler::jit::JitProgram::compile(&kensa_compiler::lower::lower(&checked)).unwrap();
        prop_assert!(jit.indexed_rules() > 0, "the rule set exercises the index");
        let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        let diff = first_difference(&src, &src, &lines);
        prop_assert!(diff.is_none(), "{}\n{}", src, diff.unwrap_or_default());
    }
}

#[test]
fn the_harness_catches_a_real_difference() {
    let a = format!("ruleset d {{{DECLS} rule r -> block when amount > 1 }}");
    let b = format!("ruleset d {{{DECLS} rule r -> block when amount >= 1 }}");
    let events = vec![json!({"event": {"time": 0}, "amount": 1}).to_string()];
    assert!(first_difference(&a, &a, &events).is_none());
    let found = first_difference(&a, &b, &events).expect("the harness must see the difference");
    assert!(found.contains("\"block\""), "{found}");
}

#[test]
fn every_example_rule_set_decides_the_same_under_both_evaluators() {
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let events = std::fs::read_to_string(ex.join("events.jsonl")).unwrap();
    for name in ["default.kensa", "marketplace.kensa"] {
        let src = std::fs::read_to_string(ex.join(name)).unwrap();
        let checked = kensa_compiler::compile_source(&src).unwrap();
        let program = kensa_compiler::lower::lower(&checked);
        let lists = kensa_runtime::lists::load_dir(&program.lists, &ex.join("lists")).unwrap();
        let jit = Engine::with_evaluator(program.clone(), lists.clone(), Evaluator::Jit).unwrap();
        let interp = Engine::with_evaluator(program, lists, Evaluator::Interpreter).unwrap();
        let options = DecideOptions { dry_run: false, explain: true };
        for line in events.lines().filter(|l| !l.trim().is_empty()) {
            let a = jit.decide_json(line.as_bytes(), options).map(|d| d.to_json());
            let b = interp.decide_json(line.as_bytes(), options).map(|d| d.to_json());
            assert_eq!(a, b, "{name}: {line}");
        }
    }
}

/// Short texts over a small alphabet (so equal and nearly equal strings are
/// frequent), with a two-byte character, of every length the native string
/// comparison loads differently (0, 1, 2-3, 4-7, 8 and more bytes).
fn text() -> impl Strategy<Value = String> {
    "[ab\u{e9}]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `field == "..."` and `!=` are compared in generated code (lengths,
    /// then the bytes in loads of 8, 4, 2 and 1): they must agree with the
    /// interpreter on every pair of strings, and on a missing field.
    #[test]
    fn native_string_equality_agrees_with_the_interpreter(
        constants in prop::collection::vec(text(), 1..6),
        values in prop::collection::vec(prop::option::of(text()), 1..20),
    ) {
        let mut src = String::from("ruleset s {\n  field custom.s: string\n");
        for (i, c) in constants.iter().enumerate() {
            src.push_str(&format!("  rule eq{i} -> block when custom.s == \"{c}\"\n  rule ne{i} -> alert when custom.s != \"{c}\"\n"));
        }
        src.push('}');
        let lines: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"event": {"id": format!("e{i}"), "time": 1_767_225_600_000i64 + i64::try_from(i).unwrap()}, "custom": {"s": v}}).to_string())
            .collect();
        let diff = first_difference(&src, &src, &lines);
        prop_assert!(diff.is_none(), "{}\n{}", src, diff.unwrap_or_default());
    }

    /// A string test used in several rules (`custom.s in (...)` as `in`
    /// and `not in`, behind short-circuits or not) is asked once an event
    /// and its answer kept: every use must still agree with the
    /// interpreter, whichever use the event reaches first.
    #[test]
    fn a_string_test_shared_by_rules_agrees_with_the_interpreter(
        set in prop::collection::vec(text(), 1..5),
        events in prop::collection::vec((prop::option::of(text()), prop::option::of(text()), prop::option::of(0u8..10)), 1..20),
    ) {
        let set = set.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let src = format!(
            "ruleset s {{\n  field custom.s: string\n  field custom.t: string\n\
               rule r0 -> block when custom.s in ({set})\n\
               rule r1 -> alert when custom.t == \"a\" or custom.s in ({set})\n\
               rule r2 -> alert when starts_with(custom.t, \"b\") and custom.s not in ({set})\n\
               rule r3 -> challenge when starts_with(custom.t, \"a\") and custom.s in ({set})\n\
               rule r4 -> allow when custom.s not in ({set}) or amount > 5\n\
               rule r5 -> allow when not (custom.s in ({set}) and custom.s in ({set}))\n}}"
        );
        let lines: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, (s, t, amount))| {
                json!({"event": {"id": format!("e{i}"), "time": 1_767_225_600_000i64 + i64::try_from(i).unwrap()},
                       "custom": {"s": s, "t": t}, "amount": amount}).to_string()
            })
            .collect();
        let diff = first_difference(&src, &src, &lines);
        prop_assert!(diff.is_none(), "{}\n{}", src, diff.unwrap_or_default());
    }
}
