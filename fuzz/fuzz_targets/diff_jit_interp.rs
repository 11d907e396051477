//! Structure-aware: a generated well-typed rule set (conditions built from
//! every operator, functions, lists, velocities, missing values, both
//! phases) and an event stream, decided by the JIT and by the interpreter,
//! which must agree on every decision, matched list and explain value.
#![no_main]

#[path = "../../runtime/tests/support/differential.rs"]
mod support;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

const NUMS: [&str; 16] = [
    "amount", "score", "page.dwell_ms", "n", "spend", "mean", "peak", "0", "1", "2.5", "1e300", "len(card.hash)",
    "hour(event.time, \"+09:00\")", "(amount / 0)", "abs(amount - 100)", "min(amount, score)",
];
const TIMES: [&str; 5] = ["event.time", "seen", "@2026-01-01T00:00:00Z", "event.time - 1h", "seen + custom.wait"];
const DURS: [&str; 4] = ["custom.wait", "1h", "(event.time - seen)", "-custom.wait"];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];
const FIXED: [&str; 14] = [
    "custom.flag", "not custom.flag", "card.hash == \"c1\"", "lower(customer.id) in names", "ip.address in ips",
    "ip.address == \"10.1.2.3\"", "card.bin in bins", "items.category in names", "amount in amounts",
    "amount in (1, 2.5, -3)", "matches(customer.id, \"^a\")", "custom.wait in (1h, 2h)", "items.id is missing", "true",
];

#[derive(Arbitrary, Debug)]
enum Cond {
    Num(u8, u8, u8),
    Time(u8, u8, u8),
    Dur(u8, u8, u8),
    Between(u8, u8, u8),
    Is(u8, bool),
    Fixed(u8),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

fn pick<'a>(table: &[&'a str], i: u8) -> &'a str {
    table.get(usize::from(i) % table.len()).copied().unwrap_or("true")
}

fn render(c: &Cond, depth: usize) -> String {
    if depth > 5 {
        return "true".to_string();
    }
    match c {
        Cond::Num(a, o, b) => format!("{} {} {}", pick(&NUMS, *a), pick(&OPS, *o), pick(&NUMS, *b)),
        Cond::Time(a, o, b) => format!("{} {} {}", pick(&TIMES, *a), pick(&OPS, *o), pick(&TIMES, *b)),
        Cond::Dur(a, o, b) => format!("{} {} {}", pick(&DURS, *a), pick(&OPS, *o), pick(&DURS, *b)),
        Cond::Between(x, a, b) => format!("{} between {} and {}", pick(&NUMS, *x), pick(&NUMS, *a), pick(&NUMS, *b)),
        Cond::Is(x, p) => format!("{} is {}", pick(&NUMS, *x), if *p { "present" } else { "missing" }),
        Cond::Fixed(i) => pick(&FIXED, *i).to_string(),
        Cond::And(xs) | Cond::Or(xs) if xs.len() < 2 => "false".to_string(),
        Cond::And(xs) => format!("({})", xs.iter().take(4).map(|x| render(x, depth + 1)).collect::<Vec<_>>().join(" and ")),
        Cond::Or(xs) => format!("({})", xs.iter().take(4).map(|x| render(x, depth + 1)).collect::<Vec<_>>().join(" or ")),
        Cond::Not(x) => format!("not ({})", render(x, depth + 1)),
    }
}

#[derive(Arbitrary, Debug)]
struct Ev {
    amount: Option<i16>,
    score: Option<u8>,
    card: Option<u8>,
    customer: Option<u8>,
    ip: Option<u8>,
    flag: Option<bool>,
    wait: Option<u8>,
    step_ms: u16,
}

#[derive(Arbitrary, Debug)]
struct Input {
    rules: Vec<(Cond, u8, bool)>,
    events: Vec<Ev>,
}

fuzz_target!(|input: Input| {
    if input.rules.is_empty() || input.rules.len() > 8 || input.events.is_empty() || input.events.len() > 32 {
        return;
    }
    let rules: Vec<(String, u8, bool)> = input.rules.iter().map(|(c, o, s)| (render(c, 0), *o, *s)).collect();
    let src = support::rule_set(&rules);
    let mut time = 1_767_225_600_000i64;
    let events: Vec<String> = input
        .events
        .iter()
        .map(|e| {
            time += i64::from(e.step_ms) * 1000;
            serde_json::json!({
                "event": {"time": time},
                "amount": e.amount, "score": e.score.map(|s| s % 101),
                "card": {"hash": e.card.map(|c| format!("c{}", c % 4)), "bin": e.card.map(|c| format!("41{c}"))},
                "customer": {"id": e.customer.map(|c| ["alice", "Bob", "carol"][usize::from(c) % 3])},
                "ip": {"address": e.ip.map(|i| ["10.1.2.3", "192.168.1.7", "8.8.8.8", "::1"][usize::from(i) % 4])},
                "custom": {"flag": e.flag, "wait": e.wait.map(|w| ["1h", "30m", "0ms", "90d"][usize::from(w) % 4])},
                "items": [{"id": "a", "category": "alice"}],
            })
            .to_string()
        })
        .collect();
    if let Some(diff) = support::first_difference(&src, &src, &events) {
        panic!("JIT and interpreter disagree\n{src}\n{diff}");
    }
});
