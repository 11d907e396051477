//! SPEC section 8: exact windows `(t - W, t]`, the current event, `excluding
//! current`, `last`, missing keys, `where`, out-of-order events, ties, dry runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use kensa_runtime::DecideOptions;
use serde_json::json;

const SRC: &str = r#"ruleset t {
  velocity n = count() by card.hash over 10s
  velocity cards = count_distinct(card.hash) by ip.address over 10s
  velocity total = sum(amount) by card.hash over 10s
  velocity mean = avg(amount) by card.hash over 10s excluding current
  velocity low = min(amount) by card.hash over 10s
  velocity high = max(amount) by card.hash over 10s
  velocity prev = last(amount) by card.hash over 10s
  velocity big = count() by card.hash over 10s where amount > 100
  velocity pair = count() by card.hash, customer.id over 10s
  rule show -> alert when n is present or n is missing
  rule show_ip -> alert when cards is present or cards is missing
  rule show_stats -> alert when total is missing or total is present or mean is missing or low is missing or high is missing or prev is missing or big is missing or pair is missing or true
}"#;

fn ev(t: i64, card: Option<&str>, amount: Option<f64>) -> String {
    json!({"event": {"time": t}, "card": {"hash": card}, "amount": amount, "ip": {"address": "10.0.0.1"}, "customer": {"id": "c"}})
        .to_string()
}

fn val(d: &kensa_runtime::Decision, name: &str) -> serde_json::Value {
    let rule = match name {
        "n" => "show",
        "cards" => "show_ip",
        _ => "show_stats",
    };
    explained(d, rule, name)
}

#[test]
fn the_current_event_counts_and_the_window_is_half_open() {
    let e = engine(SRC, &[]);
    assert_eq!(val(&decide(&e, &ev(0, Some("a"), Some(1.0))), "n"), json!(1));
    // At t = 9999 the event at 0 is inside (t - 10s, t].
    assert_eq!(val(&decide(&e, &ev(9_999, Some("a"), Some(1.0))), "n"), json!(2));
    // At t = 10000 the event at 0 is exactly t - W: outside.
    assert_eq!(val(&decide(&e, &ev(10_000, Some("a"), Some(1.0))), "n"), json!(2));
}

#[test]
fn aggregates_over_the_window() {
    let e = engine(SRC, &[]);
    decide(&e, &ev(1_000, Some("a"), Some(10.0)));
    decide(&e, &ev(2_000, Some("a"), None));
    decide(&e, &ev(3_000, Some("a"), Some(300.0)));
    let d = decide(&e, &ev(4_000, Some("a"), Some(20.0)));
    assert_eq!(val(&d, "n"), json!(4));
    assert_eq!(val(&d, "total"), json!(330));
    assert_eq!(val(&d, "mean"), json!(155)); // excluding current: (10 + 300) / 2
    assert_eq!(val(&d, "low"), json!(10));
    assert_eq!(val(&d, "high"), json!(300));
    assert_eq!(val(&d, "prev"), json!(300)); // last never reads the current event
    assert_eq!(val(&d, "big"), json!(1)); // only the 300 qualified; the current 20 does not
    assert_eq!(val(&d, "pair"), json!(4));
}

#[test]
fn empty_windows() {
    let e = engine(SRC, &[]);
    let d = decide(&e, &ev(0, Some("z"), None));
    assert_eq!(val(&d, "n"), json!(1));
    assert_eq!(val(&d, "total"), json!(0));
    assert_eq!(val(&d, "mean"), json!(null));
    assert_eq!(val(&d, "low"), json!(null));
    assert_eq!(val(&d, "prev"), json!(null));
    assert_eq!(val(&d, "big"), json!(0));
}

#[test]
fn count_distinct_skips_missing_and_counts_the_current_card() {
    let e = engine(SRC, &[]);
    decide(&e, &ev(0, Some("a"), None));
    decide(&e, &ev(1, Some("b"), None));
    decide(&e, &ev(2, Some("a"), None));
    decide(&e, &ev(3, None, None));
    assert_eq!(val(&decide(&e, &ev(4, Some("c"), None)), "cards"), json!(3));
}

#[test]
fn a_missing_key_reads_missing_and_is_not_recorded() {
    let e = engine(SRC, &[]);
    let d = decide(&e, &ev(0, None, Some(5.0)));
    assert_eq!(val(&d, "n"), json!(null));
    assert_eq!(e.velocity_stats().keys, 1); // only the ip.address group
}

#[test]
fn out_of_order_events_are_placed_by_their_own_time() {
    let e = engine(SRC, &[]);
    decide(&e, &ev(20_000, Some("a"), Some(1.0)));
    // An older event does not see the newer one.
    assert_eq!(val(&decide(&e, &ev(15_000, Some("a"), Some(2.0))), "n"), json!(1));
    // A later one sees both.
    let d = decide(&e, &ev(21_000, Some("a"), Some(3.0)));
    assert_eq!(val(&d, "n"), json!(3));
    assert_eq!(val(&d, "prev"), json!(1)); // the latest time, not the latest arrival
}

#[test]
fn ties_at_one_millisecond_count_and_last_takes_the_last_recorded() {
    let e = engine(SRC, &[]);
    decide(&e, &ev(5_000, Some("a"), Some(1.0)));
    decide(&e, &ev(5_000, Some("a"), Some(2.0)));
    let d = decide(&e, &ev(5_000, Some("a"), Some(3.0)));
    assert_eq!(val(&d, "n"), json!(3));
    assert_eq!(val(&d, "prev"), json!(2));
}

#[test]
fn dry_runs_and_invalid_events_record_nothing() {
    let e = engine(SRC, &[]);
    let dry = DecideOptions { dry_run: true, explain: true };
    assert_eq!(val(&decide_with(&e, &ev(0, Some("a"), None), dry), "n"), json!(1));
    assert_eq!(val(&decide_with(&e, &ev(1, Some("a"), None), dry), "n"), json!(1));
    assert!(e.decide_json(br#"{"event": {"time": 2}, "card": {"hash": "a"}, "amount": "x"}"#, Default::default()).is_err());
    assert_eq!(e.velocity_stats(), Default::default());
    assert_eq!(val(&decide(&e, &ev(3, Some("a"), None)), "n"), json!(1));
}

#[test]
fn windows_evict_what_no_read_can_see() {
    let e = engine("ruleset t { velocity n = count() by card.hash over 1s rule r -> alert when n > 0 }", &[]);
    for i in 0..1_000 {
        decide(&e, &ev(i * 1_000, Some("a"), None));
    }
    // Each window keeps at most two windows' worth of entries.
    assert!(e.velocity_stats().entries <= 3, "{:?}", e.velocity_stats());

}
