//! SPEC sections 6 and 7: three-valued logic, precedence, ordering of
//! `matched`, priorities, `disabled`, `skip_scoring` and the two phases,
//! custom outcomes, and built-in functions at run time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;

#[test]
fn missing_values_follow_three_valued_logic() {
    let src = r#"ruleset t {
      rule or_true -> alert when amount > 5 or card.hash == "x"
      rule or_missing -> alert when amount > 5 or card.hash == "y"
      rule and_false -> alert when not (amount > 5 and card.hash == "y")
      rule and_missing -> alert when not (amount > 5 and card.hash == "x")
      rule not_missing -> alert when not (amount > 5)
      rule is_missing -> alert when amount is missing
      rule div_zero -> alert when currency is present and (items.count / 0 > 1 or not (items.count / 0 > 1))
      rule fn_missing -> alert when lower(customer.email) == "a" or not (lower(customer.email) == "a")
    }"#;
    let e = engine(src, &[]);
    let d = decide(&e, r#"{"event": {"time": 0}, "card": {"hash": "x"}, "currency": "JPY", "items": {"count": 3}}"#);
    assert_eq!(matched(&d), ["or_true", "and_false", "is_missing"]);
}

#[test]
fn decision_is_the_highest_precedence_and_matched_is_ordered() {
    let src = r#"ruleset t {
      rule a1 -> alert when true
      rule b_late -> block when true
      rule b_p5 -> block priority 5 when true
      rule b_p1 -> block priority 1 when true
      rule fa -> force_allow when true
      rule c -> challenge priority -3 when true
      rule off -> challenge disabled when true
      rule al -> allow when true
      rule b_p1_again -> block priority 1 when true
    }"#;
    let e = engine(src, &[]);
    let d = decide(&e, r#"{"event": {"id": "e1", "time": 0}}"#);
    assert_eq!(&*d.outcome, "challenge");
    assert_eq!(d.code, 70);
    assert_eq!(matched(&d), ["c", "fa", "b_p1", "b_p1_again", "b_p5", "b_late", "a1", "al"]);
    assert_eq!(d.event_id.as_deref(), Some("e1"));
}

#[test]
fn no_match_is_none_with_code_1() {
    let e = engine("ruleset t { rule r -> block when amount > 10 }", &[]);
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 5, "score": 61}"#);
    assert_eq!((&*d.outcome, d.code), ("none", 1));
    assert_eq!(d.score, Some(61.0));
    assert_eq!(d.score_level.as_str(), "medium");
}

#[test]
fn skip_scoring_hides_the_score_from_phase_two() {
    let src = r#"ruleset t {
      rule check -> force_allow skip_scoring when amount == 1
      rule high -> block when score >= 86
      rule low_or_missing -> alert when score is missing
    }"#;
    let e = engine(src, &[]);
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 1, "score": 99}"#);
    assert_eq!(matched(&d), ["check", "low_or_missing"]);
    assert!(d.skip_scoring);
    assert_eq!(d.score, None);
    assert_eq!(d.score_level.as_str(), "none");
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 2, "score": 99}"#);
    assert_eq!(matched(&d), ["high"]);
    assert!(!d.skip_scoring);
    assert_eq!(d.score_level.as_str(), "high");
}

#[test]
fn custom_outcomes_take_codes_from_the_bottom() {
    let src = r#"ruleset t {
      outcomes decline > review > approve
      rule a -> approve when true
      rule r -> review when amount > 1
    }"#;
    let e = engine(src, &[]);
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 5}"#);
    assert_eq!((&*d.outcome, d.code), ("review", 3));
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 0}"#);
    assert_eq!((&*d.outcome, d.code), ("approve", 2));
}

#[test]
fn declaring_the_default_outcomes_keeps_the_default_codes() {
    let src = "ruleset t { outcomes challenge > force_allow > block > alert > allow rule r -> block when true }";
    let e = engine(src, &[]);
    assert_eq!(decide(&e, r#"{"event": {"time": 0}}"#).code, 30);
}

#[test]
fn lists_and_inline_sets() {
    let src = r#"ruleset t {
      list ips: ip
      list bins: prefix
      list cats: string
      list amounts: number
      rule ip_listed -> block when ip.address in ips
      rule ip_inline -> alert when ip.address in ("10.0.0.0/8", "192.168.1.7")
      rule bin -> block when card.bin in bins
      rule cat_any -> alert when items.category in cats
      rule cat_none -> alert when items.category not in cats
      rule amount_listed -> alert when amount in amounts
      rule mapped_eq -> alert when ip.address == "1.2.3.4"
    }"#;
    let lists = [("ips", "1.2.3"), ("bins", "4111"), ("cats", "gift"), ("amounts", "-5\n7")];
    let e = engine(src, &lists);
    let d = decide(
        &e,
        r#"{"event": {"time": 0}, "ip": {"address": "::ffff:1.2.3.4"}, "card": {"bin": "411199"},
            "items": [{"category": "toys"}, {"category": "gift"}], "amount": -5}"#,
    );
    assert_eq!(matched(&d), ["ip_listed", "bin", "cat_any", "amount_listed", "mapped_eq"]);
    let d = decide(&e, r#"{"event": {"time": 0}, "ip": {"address": "10.9.9.9"}, "items": [{"category": "toys"}]}"#);
    assert_eq!(matched(&d), ["ip_inline", "cat_none"]);
    // A missing list value is neither in nor not in.
    let d = decide(&e, r#"{"event": {"time": 0}}"#);
    assert!(d.matched.is_empty());
}

#[test]
fn functions_at_run_time() {
    let src = r#"ruleset t {
      rule h -> alert when hour(event.time, "+09:00") == 3 and weekday(event.time, "+09:00") == 1
      rule h_utc -> alert when hour(event.time, "Z") == 18 and weekday(event.time, "Z") == 7
      rule s -> alert when lower(customer.email) == "éa@x.jp" and len(customer.email) == 7 and upper("é") == "É"
      rule m -> alert when matches(customer.email, "^[^@]+@x\\.jp$") and ends_with(customer.email, ".jp")
      rule n -> alert when abs(-2) == 2 and min(amount, 3) == 3 and max(amount, 3) == 4 and len(items.id) == 2
      rule t -> alert when event.time - @2026-03-01T18:00:00Z == 30m and event.time + 1d > @2026-03-02T00:00:00Z
    }"#;
    let e = engine(src, &[]);
    // 2026-03-01T18:30:00Z is Monday 03:30 in Japan, Sunday 18:30 in UTC.
    let d = decide(
        &e,
        r#"{"event": {"time": "2026-03-01T18:30:00Z"}, "customer": {"email": "ÉA@x.jp"}, "amount": 4, "items.id": ["a", "b"]}"#,
    );
    assert_eq!(matched(&d), ["h", "h_utc", "s", "m", "n", "t"]);
}

#[test]
fn explain_reports_what_each_matched_rule_read() {
    let src = r#"ruleset t {
      velocity n = count() by card.hash over 1h
      rule r -> alert when amount > 1 and (n >= 1 or customer.id is missing)
    }"#;
    let e = engine(src, &[]);
    let d = decide(&e, r#"{"event": {"time": 0}, "amount": 2.5, "card": {"hash": "h"}}"#);
    assert_eq!(explained(&d, "r", "amount"), serde_json::json!(2.5));
    assert_eq!(explained(&d, "r", "n"), serde_json::json!(1));
    assert_eq!(explained(&d, "r", "customer.id"), serde_json::Value::Null);
    let json = d.to_json();
    assert_eq!(json["explain"]["r"], serde_json::json!({"amount": 2.5, "n": 1, "customer.id": null}));
}
