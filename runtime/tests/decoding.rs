//! SPEC section 9: decoding events, and the errors that name their path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use kensa_compiler::value::Value;

const SRC: &str = r#"ruleset t {
  field custom.wait: duration
  field custom.flags: [string]
  rule r -> alert when true
}"#;

fn decode(json: &str) -> Result<kensa_runtime::Record, String> {
    let e = engine(SRC, &[]);
    e.active().decoder().decode_bytes(json.as_bytes()).map_err(|err| err.message)
}

fn slot(r: &kensa_runtime::Record, path: &str) -> Value {
    let e = engine(SRC, &[]);
    let id = e.active().program().schema.lookup(path).unwrap().0;
    r.get(id).clone()
}

#[test]
fn nested_and_flat_keys_name_the_same_path() {
    let a = decode(r#"{"card": {"hash": "h"}, "customer.id": "c"}"#).unwrap();
    assert_eq!(slot(&a, "card.hash"), Value::str("h"));
    assert_eq!(slot(&a, "customer.id"), Value::str("c"));
    let err = decode(r#"{"card": {"hash": "h"}, "card.hash": "g"}"#).unwrap_err();
    assert!(err.starts_with("card.hash: "), "{err}");
}

#[test]
fn arrays_of_objects_collect_string_list_fields() {
    let r = decode(r#"{"items": [{"id": "a", "category": "c"}, {"id": "b"}, {"unknown": 1}]}"#).unwrap();
    let list = |p| match slot(&r, p) {
        Value::StrList(xs) => xs.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(list("items.id"), ["a", "b"]);
    assert_eq!(list("items.category"), ["c"]);
    assert!(decode(r#"{"items": [{"count": 2}]}"#).unwrap_err().starts_with("items.count: "));
}

#[test]
fn null_and_empty_lists_are_missing() {
    let r = decode(r#"{"amount": null, "items": {"id": []}, "custom": {"flags": []}}"#).unwrap();
    assert!(slot(&r, "amount").is_missing());
    assert!(slot(&r, "items.id").is_missing());
    assert!(slot(&r, "custom.flags").is_missing());
}

#[test]
fn timestamps_durations_and_ips() {
    let r = decode(r#"{"event": {"time": 1767225600000}, "custom": {"wait": "90d"}, "ip": {"address": "::ffff:10.0.0.1"}}"#).unwrap();
    assert_eq!(slot(&r, "event.time"), Value::Timestamp(1_767_225_600_000));
    assert_eq!(slot(&r, "custom.wait"), Value::Duration(90 * 86_400_000));
    assert_eq!(slot(&r, "ip.address"), Value::ip("10.0.0.1".parse().unwrap()));
    let r = decode(r#"{"event": {"time": "2026-01-01T09:00:00.1239+09:00"}, "custom.wait": 1500}"#).unwrap();
    assert_eq!(slot(&r, "event.time"), Value::Timestamp(1_767_225_600_123));
    assert_eq!(slot(&r, "custom.wait"), Value::Duration(1500));
}

#[test]
fn bad_values_name_their_path() {
    let cases = [
        (r#"{"amount": "12"}"#, "amount: expected number, got string"),
        (r#"{"event": {"time": ""}}"#, "event.time: "),
        (r#"{"event": {"time": "yesterday"}}"#, "event.time: "),
        (r#"{"event": {"time": 1.5}}"#, "event.time: "),
        (r#"{"ip": {"address": "10.0.0.01"}}"#, "ip.address: "),
        (r#"{"ip": {"address": "fe80::1%eth0"}}"#, "ip.address: "),
        (r#"{"ip": {"address": ""}}"#, "ip.address: "),
        (r#"{"card": "4111"}"#, "card: expected object, got string"),
        (r#"{"items": {"id": "a"}}"#, "items.id: expected [string], got string"),
        (r#"{"items": {"id": [1]}}"#, "items.id: expected string, got number"),
        (r#"{"score": true}"#, "score: expected number, got bool"),
        // Numbers no f64 holds: serde_json refuses them before any visitor.
        (r#"{"amount": 1e400}"#, "amount: number out of range"),
        (r#"{"amount": -2e308}"#, "amount: number out of range"),
        (r#"{"event": {"time": 1e999}}"#, "event.time: number out of range"),
        (r#"{"card": 1e400}"#, "card: number out of range"),
        (r#"{"card.hash": 1e400}"#, "card.hash: number out of range"),
        (r#"{"items": [{"id": "a"}, {"id": 1e400}]}"#, "items.id: number out of range"),
        (r#"{"items": {"id": ["a", 1e400]}}"#, "items.id: number out of range"),
        (r#"[1, 2]"#, "json: expected an object, got array"),
        (r#"{"amount": 1"#, "json: "),
    ];
    for (json, want) in cases {
        let err = decode(json).unwrap_err();
        assert!(err.starts_with(want), "{json}: {err}");
    }
}

#[test]
fn unknown_keys_are_ignored() {
    let r = decode(r#"{"merchant": {"id": 5}, "amount.extra": 1, "amount": 3}"#).unwrap();
    assert_eq!(slot(&r, "amount"), Value::Number(3.0));
}

#[test]
fn an_invalid_event_keeps_its_id() {
    let e = engine(SRC, &[]);
    let err = e.active().decoder().decode_bytes(br#"{"event": {"id": "e7"}, "amount": "x"}"#).unwrap_err();
    assert_eq!(err.event_id.as_deref(), Some("e7"));
    assert_eq!(err.message, "amount: expected number, got string");
}

#[test]
fn an_event_with_a_number_no_f64_holds_keeps_its_id() {
    let e = engine(SRC, &[]);
    let line = br#"{"event": {"id": "e8", "time": 1000}, "amount": 1e400, "merchant": {"x": 1e999}}"#;
    let err = e.active().decoder().decode_bytes(line).unwrap_err();
    assert_eq!(err.event_id.as_deref(), Some("e8"));
    assert_eq!(err.message, "amount: number out of range");
    // Under a key the schema does not read, such a number is skipped.
    assert!(decode(r#"{"merchant": {"x": 1e400}, "amount": 3}"#).is_ok());
}

#[test]
fn numbers_are_read_exactly() {
    for text in ["57.16", "0.36923076923076925", "1e-7", "123456789.123456789"] {
        let r = decode(&format!(r#"{{"amount": {text}}}"#)).unwrap();
        assert_eq!(slot(&r, "amount"), Value::Number(text.parse::<f64>().unwrap()), "{text}");
    }
}
