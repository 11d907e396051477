//! Shared by the velocity property test and the `velocity_model` fuzz
//! target: a rule set with every aggregate (plain, `excluding current`, with
//! `where`), the event shape, and the naive model that recomputes every
//! aggregate from all recorded events.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{json, Value as Json};
use std::collections::HashSet;

/// The aggregates and variants the rule set declares, as velocity names
/// (`{agg}{variant}`, see [`velocities`]). `t` and `tlo` aggregate the
/// event's own time.
pub const AGGS: [&str; 9] = ["n", "d", "s", "a", "lo", "hi", "l", "t", "tlo"];
/// See [`AGGS`]: plain, `excluding current`, with `where`, over a longer
/// window.
pub const VARIANTS: [&str; 4] = ["", "_x", "_w", "_2"];
/// Variants only the aggregates of times have (`count()`, `t`, `tlo`), so
/// they need a lane of their own: `_n` records events no other velocity
/// records (`where campaign == "n"`, over 4 windows), `_5` reads the plain
/// events over 5 windows, more than twice the longest lane that records
/// them keeps.
pub const TIMES_ONLY_VARIANTS: [&str; 2] = ["_n", "_5"];

pub const WINDOW_MS: i64 = 50;

/// Every velocity of the rule set: `(aggregate, variant)`.
pub fn velocities() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = AGGS.iter().flat_map(|a| VARIANTS.iter().map(move |v| (*a, *v))).collect();
    for variant in TIMES_ONLY_VARIANTS {
        all.extend(["n", "t", "tlo"].map(|a| (a, variant)));
    }
    all
}

/// A variant's window.
fn window_of(variant: &str) -> i64 {
    match variant {
        "_2" => 2 * WINDOW_MS,
        "_n" => 4 * WINDOW_MS,
        "_5" => 5 * WINDOW_MS,
        _ => WINDOW_MS,
    }
}

pub fn source() -> String {
    let mut s = String::from("ruleset m {\n");
    let mut names = Vec::new();
    for (name, variant) in velocities() {
        let agg = match name {
            "n" => "count()",
            "d" => "count_distinct(card.hash)",
            "s" => "sum(amount)",
            "a" => "avg(amount)",
            "lo" => "min(amount)",
            "hi" => "max(amount)",
            "l" => "last(amount)",
            "t" => "last(event.time)",
            _ => "min(event.time)",
        };
        let tail = match variant {
            "_x" => " excluding current",
            "_w" => " where campaign == \"y\"",
            "_n" => " where campaign == \"n\"",
            _ => "",
        };
        s.push_str(&format!("  velocity {name}{variant} = {agg} by customer.id over {}ms{tail}\n", window_of(variant)));
        names.push(format!("{name}{variant}"));
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
    let qualifies = |e: &Ev| match variant {
        "_w" => e.flagged == Some(true),
        "_n" => e.flagged == Some(false),
        _ => true,
    };
    let window = window_of(variant);
    let mut events: Vec<&Ev> = recorded
        .iter()
        .filter(|e| e.customer == Some(customer) && qualifies(e))
        .filter(|e| e.time > current.time - window && e.time <= current.time)
        .collect();
    let last = agg == "l" || agg == "t";
    let include_current = qualifies(current) && variant != "_x" && !last;
    if last {
        // Latest time, ties to the last recorded; stable sort keeps recording order.
        events.sort_by_key(|e| e.time);
        let value = |e: &Ev| if agg == "t" { Some(time_json(e.time)) } else { e.amount.map(|a| json!(a)) };
        return events.iter().rev().find_map(|e| value(e)).unwrap_or(Json::Null);
    }
    if include_current {
        events.push(current);
    }
    if agg == "tlo" {
        return events.iter().map(|e| e.time).min().map_or(Json::Null, time_json);
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

/// A time as `explain` shows it.
fn time_json(ms: i64) -> Json {
    Json::String(kensa_runtime::decision::format_time(ms))
}
