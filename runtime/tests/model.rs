//! Property test: every velocity aggregate of the store agrees with a naive
//! model that recomputes from all recorded events, on random streams with
//! out-of-order times (within the documented lateness of one window), ties,
//! missing keys, missing values and `where` filters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::json;

#[path = "support/velocity_model.rs"]
mod support;
use support::{event_json, expected, source, velocities, Ev, WINDOW_MS};

fn stream() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec(
        (0i64..30, -WINDOW_MS..=0, prop::option::weighted(0.9, 0u8..3), prop::option::weighted(0.8, 0u8..4),
         prop::option::weighted(0.8, -50i32..50), prop::option::weighted(0.8, any::<bool>())),
        1..60,
    )
    .prop_map(|raw| {
        // Times mostly move forward; each may go back by up to one window
        // from the newest seen (the store's documented exact lateness).
        let mut newest = 0i64;
        raw.into_iter()
            .map(|(step, back, customer, card, amount, flagged)| {
                let forward = newest + step;
                let time = (forward + back).max(newest - WINDOW_MS + 1).max(0);
                newest = newest.max(time);
                Ev { time, customer, card, amount, flagged }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_naive_model(events in stream()) {
        let engine = engine(&source(), &[]);
        let mut recorded: Vec<Ev> = Vec::new();
        for e in &events {
            let d = decide(&engine, &event_json(e));
            for (agg, variant) in velocities() {
                let name = format!("{agg}{variant}");
                let got = explained(&d, "show", &name);
                let want = expected(agg, variant, &recorded, e);
                // Sums of integers are exact, averages compared closely.
                let same = match (got.as_f64(), want.as_f64()) {
                    (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    _ => got == want,
                };
                prop_assert!(same, "{} at {:?}: got {}, want {}", name, e, got, want);
            }
            // Recorded into a velocity when the key is present (per velocity,
            // `where` decides; the model filters by it when reading).
            if e.customer.is_some() {
                recorded.push(e.clone());
            }
        }
    }
}

#[test]
fn the_model_test_can_fail() {
    // The harness compares real values: a wrong expectation is caught.
    let e = Ev { time: 0, customer: Some(0), card: Some(1), amount: Some(5), flagged: Some(true) };
    assert_eq!(expected("n", "", &[], &e), json!(1));
    assert_ne!(expected("n", "_x", &[], &e), json!(1));
    assert_eq!(expected("s", "", std::slice::from_ref(&e), &e), json!(10));
}
