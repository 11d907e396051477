//! Shared by the velocity property test and the `velocity_model` fuzz
//! target: a rule set with every aggregate (plain, `excluding current`, with
//! `where`), the event shape, and the naive model that recomputes every
//! aggregate from all recorded events.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{json, Value as Json};
use std::collections::HashSet;

/// The aggregates and variants the rule set declares, as velocity names.
pub const AGGS: [&str; 7] = ["n", "d", "s", "a", "lo", "hi", "l"];
/// See [`AGGS`].
pub const VARIANTS: [&str; 3] = ["", "_x", "_w"];

pub const WINDOW_MS: i64 = 50;

pub fn source() -> String {
    let mut s = String::from("ruleset m {\n");
    let mut names = Vec::new();
    for (name, agg) in [
        ("n", "count()"),
        ("d", "count_distinct(card.hash)"),
        ("s", "sum(amount)"),
        ("a", "avg(amount)"),
        ("lo", "min(amount)"),
        ("hi", "max(amount)"),
        ("l", "last(amount)"),
    ] {
        s.push_str(&format!("  velocity {name} = {agg} by customer.id over {WINDOW_MS}ms\n"));
        s.push_str(&format!("  velocity {name}_x = {agg} by customer.id over {WINDOW_MS}ms excluding current\n"));
        s.push_str(&format!("  velocity {name}_w = {agg} by customer.id over {WINDOW_MS}ms where campaign == \"y\"\n"));
        names.extend([name.to_string(), format!("{name}_x"), format!("{name}_w")]);
    }
    // A rule that matches always and reads every velocity, so `explain` shows them.
    let reads: Vec<String> = names.iter().map(|n| format!("{n} is missing")).collect();
    s.push_str(&format!("  rule show -> alert when {} or true\n}}\n", reads.join(" or ")));
    s
}

#[derive(Clone, Debug)]
pub struct Ev {
    pub time: i64,
    pub customer: Option<u8>,
    pub card: Option<u8>,
    pub amount: Option<i32>,
    pub flagged: Option<bool>,
}

pub fn event_json(e: &Ev) -> String {
    json!({
        "event": {"time": e.time},
        "customer": {"id": e.customer.map(|c| format!("c{c}"))},
        "card": {"hash": e.card.map(|c| format!("k{c}"))},
        "amount": e.amount,
        "campaign": e.flagged.map(|f| if f { "y" } else { "n" }),
    })
    .to_string()
}

/// The naive model: recompute from every recorded event.
pub fn expected(agg: &str, variant: &str, recorded: &[Ev], current: &Ev) -> Json {
    let Some(customer) = current.customer else { return Json::Null };
    let with_where = variant == "_w";
    let qualifies = |e: &Ev| !with_where || e.flagged == Some(true);
    let mut events: Vec<&Ev> = recorded
        .iter()
        .filter(|e| e.customer == Some(customer) && qualifies(e))
        .filter(|e| e.time > current.time - WINDOW_MS && e.time <= current.time)
        .collect();
    let include_current = qualifies(current) && variant != "_x" && agg != "l";
    if agg == "l" {
        // Latest time, ties to the last recorded; stable sort keeps recording order.
        events.sort_by_key(|e| e.time);
        return events.iter().rev().find_map(|e| e.amount).map_or(Json::Null, |a| json!(a));
    }
    if include_current {
        events.push(current);
    }
    let amounts: Vec<f64> = events.iter().filter_map(|e| e.amount).map(f64::from).collect();
    match agg {
        "n" => json!(events.len()),
        "d" => json!(events.iter().filter_map(|e| e.card).collect::<HashSet<_>>().len()),
        "s" => kensa_dsl::literal::json_number(amounts.iter().sum()),
        "a" if amounts.is_empty() => Json::Null,
        "a" => kensa_dsl::literal::json_number(amounts.iter().sum::<f64>() / amounts.len() as f64),
        "lo" => amounts.iter().copied().reduce(f64::min).map_or(Json::Null, kensa_dsl::literal::json_number),
        "hi" => amounts.iter().copied().reduce(f64::max).map_or(Json::Null, kensa_dsl::literal::json_number),
        _ => unreachable!(),
    }
}

