//! A small payment switch embedding Kensa: an authorisation request
//! arrives, becomes a record, is decided, and the decision becomes an action
//! (approve, send to 3-D Secure, decline, or approve and queue for review).
//!
//! Run from the repository root: `cargo run -p kensa-runtime --example embed`.

use kensa_compiler::value::Value;
use kensa_runtime::{DecideOptions, Decision, Engine, Record};
use std::net::IpAddr;
use std::path::Path;

/// What the switch receives from the acquirer's gateway.
struct AuthorizationRequest<'a> {
    id: &'a str,
    /// Unix time in ms.
    time_ms: i64,
    amount: f64,
    currency: &'a str,
    customer: &'a str,
    card_token: &'a str,
    bin: &'a str,
    card_country: &'a str,
    ip: &'a str,
    device: &'a str,
}

/// What the switch does with a payment.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Approve,
    ThreeDSecure,
    Decline,
    ApproveAndReview,
}

/// The switch's policy for each outcome of the rule set.
fn action(decision: &Decision) -> Action {
    match &*decision.outcome {
        "challenge" => Action::ThreeDSecure,
        "block" => Action::Decline,
        "alert" => Action::ApproveAndReview,
        // force_allow, allow and none.
        _ => Action::Approve,
    }
}

/// Builds the record of a request, field by field, in the active schema.
fn record(engine: &Engine, req: &AuthorizationRequest<'_>) -> Result<Record, kensa_runtime::EventError> {
    let mut r = engine.new_record();
    r.set_path("event.id", Value::str(req.id))?;
    r.set_path("event.time", Value::Timestamp(req.time_ms))?;
    r.set_path("event.type", Value::str("purchase"))?;
    r.set_path("amount", Value::number(req.amount))?;
    r.set_path("currency", Value::str(req.currency))?;
    r.set_path("customer.id", Value::str(req.customer))?;
    r.set_path("card.hash", Value::str(req.card_token))?;
    r.set_path("card.bin", Value::str(req.bin))?;
    r.set_path("card.country", Value::str(req.card_country))?;
    if let Ok(ip) = req.ip.parse::<IpAddr>() {
        r.set_path("ip.address", Value::ip(ip))?;
    }
    r.set_path("device.id", Value::str(req.device))?;
    Ok(r)
}

/// The host's fraud model: here a toy that scores large foreign payments high.
fn model(record: &Record) -> Option<f64> {
    let schema = record.schema();
    let amount = schema.lookup("amount").map(|(id, _)| record.get(id));
    let country = schema.lookup("card.country").map(|(id, _)| record.get(id));
    match (amount, country) {
        (Some(Value::Number(a)), Some(Value::Str(c))) if &**c != "JPN" && *a > 50_000.0 => Some(90.0),
        (Some(Value::Number(_)), _) => Some(20.0),
        _ => None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = std::fs::read_to_string(root.join("examples/default.kensa"))?;
    let engine = Engine::builder()
        .lists_dir(root.join("examples/lists"))
        .scorer(model)
        .build("default.kensa", &rules)?;
    println!("deployed {} ({} rules)", engine.active_version(), engine.active().program().rules.len());

    let start = 1_772_400_000_000i64; // 2026-03-02
    let mut requests = vec![
        AuthorizationRequest { id: "a1", time_ms: start, amount: 3_000.0, currency: "JPY", customer: "c-17", card_token: "tok-1", bin: "356600", card_country: "JPN", ip: "203.0.113.7", device: "d-1" },
        AuthorizationRequest { id: "a2", time_ms: start + 60_000, amount: 180_000.0, currency: "JPY", customer: "c-18", card_token: "tok-2", bin: "453201", card_country: "USA", ip: "203.0.113.9", device: "d-2" },
    ];
    // Card testing: one IP cycling through stolen cards.
    let tokens = ["x1", "x2", "x3", "x4", "x5", "x6", "x7"];
    for (i, (id, card_token)) in ["t1", "t2", "t3", "t4", "t5", "t6", "t7"].into_iter().zip(tokens).enumerate() {
        requests.push(AuthorizationRequest {
            id,
            time_ms: start + 120_000 + i as i64 * 5_000,
            amount: 100.0,
            currency: "JPY",
            customer: "c-99",
            card_token,
            bin: "356600",
            card_country: "JPN",
            ip: "192.0.2.200",
            device: "d-99",
        });
    }

    for req in &requests {
        let decision = engine.decide(&record(&engine, req)?, DecideOptions::default());
        println!(
            "{:<3} {:>9} {:<4} -> {:<14} {:?} (matched: {})",
            req.id,
            req.amount,
            req.card_country,
            format!("{}/{}", decision.outcome, decision.code),
            action(&decision),
            decision.matched.join(", ")
        );
    }
    let counters = engine.counters();
    println!("decisions={} outcomes={:?}", counters.decisions, counters.outcomes);
    Ok(())
}
