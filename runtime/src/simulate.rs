//! Backtesting (SPEC section 13): chargeback labels, the per-event result
//! row, and the tallies behind the JSON summary and the HTML report.
//!
//! The replay itself (reading the history, ordering it, sampling) is the
//! caller's; this module only needs each decided event in replay order.

use crate::decision::{write_time, Decision};
use crate::record::Record;
use kensa_compiler::ir::Program;
use kensa_compiler::schema::FieldId;
use kensa_compiler::value::Value;
use kensa_dsl::literal::{json_number, push_decimal, write_number};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Label types that mark an event as fraud.
pub const FRAUD_TYPES: [&str; 5] =
    ["CHARGEBACK", "CHARGEBACK_ALERT", "CHARGEBACK_INQUIRY", "FRAUD_NOTIFICATION", "CHARGEBACK_REPRESENTMENT"];

/// The label type that clears a fraud mark.
pub const REVERSE_TYPE: &str = "CHARGEBACK_REVERSE";

/// Chargeback and fraud annotations, applied in file order.
#[derive(Debug, Default)]
pub struct Labels {
    /// What the labels say of each event id they name.
    by_event: hashbrown::HashMap<String, EventLabels>,
}

/// What the labels say of one event, and whether the history holds it.
#[derive(Debug, Default)]
struct EventLabels {
    /// Fraud or not after every label.
    fraud: bool,
    /// How many label lines name it.
    lines: usize,
    /// Seen in the history (so far).
    seen: bool,
}

impl Labels {
    /// Reads labels from JSON Lines. A line that is not a label object is an
    /// error naming its line.
    pub fn parse(text: &str) -> Result<Labels, String> {
        let mut labels = Labels::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}", i + 1);
            let v: Json = serde_json::from_str(line).map_err(|e| bad(&format!("not JSON: {e}")))?;
            let id = v.get("event_id").and_then(Json::as_str).ok_or_else(|| bad("`event_id` must be a string"))?;
            let kind = v.get("event_type").and_then(Json::as_str).ok_or_else(|| bad("`event_type` must be a string"))?;
            let entry = labels.by_event.entry(id.to_string()).or_default();
            entry.lines += 1;
            if FRAUD_TYPES.contains(&kind) {
                entry.fraud = true;
            } else if kind == REVERSE_TYPE {
                entry.fraud = false;
            }
        }
        Ok(labels)
    }

    /// True when the event's labels leave it marked as fraud.
    pub fn is_fraud(&self, event_id: Option<&str>) -> bool {
        event_id.and_then(|id| self.by_event.get(id)).is_some_and(|e| e.fraud)
    }

    /// Notes that an event with this id is in the history, and tells
    /// whether its labels leave it marked as fraud ([`Labels::is_fraud`]):
    /// one lookup for both, done for every replayed event.
    pub fn saw(&mut self, event_id: Option<&str>) -> bool {
        match event_id.and_then(|id| self.by_event.get_mut(id)) {
            Some(e) => {
                e.seen = true;
                e.fraud
            }
            None => false,
        }
    }

    /// Forgets which events were seen (for a replay that starts again).
    pub fn forget_seen(&mut self) {
        self.by_event.values_mut().for_each(|e| e.seen = false);
    }

    /// Label lines that name no event of the history.
    pub fn unmatched(&self) -> usize {
        self.by_event.values().filter(|e| !e.seen).map(|e| e.lines).sum()
    }
}

/// The header of the result CSV.
pub const CSV_HEADER: [&str; 11] = [
    "event_id",
    "event_time",
    "customer_id",
    "amount",
    "score",
    "score_level",
    "chargeback",
    "code",
    "decision",
    "matched",
    "skip_scoring",
];

/// One decided event, as the simulation sees it.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The decision.
    pub decision: Decision,
    /// The event's time.
    pub time: i64,
    /// `customer.id`, when a string.
    pub customer_id: Option<Arc<str>>,
    /// `amount`, when present.
    pub amount: Option<f64>,
    /// Marked as fraud by the labels.
    pub fraud: bool,
}

/// Where the result row's fields are in a program's records, looked up
/// once per replay rather than once per event.
#[derive(Clone, Copy, Debug)]
pub struct RowFields {
    customer_id: Option<FieldId>,
    amount: Option<FieldId>,
}

impl RowFields {
    /// The slots of `customer.id` and `amount` in `program`'s schema.
    pub fn of(program: &Program) -> RowFields {
        let slot = |path: &str| program.schema.lookup(path).map(|(f, _)| f);
        RowFields { customer_id: slot("customer.id"), amount: slot("amount") }
    }

    /// The slots a row reads (besides what the decision carries).
    pub fn fields(self) -> impl Iterator<Item = FieldId> {
        self.customer_id.into_iter().chain(self.amount)
    }
}

impl Replayed {
    /// The facts of a decided record.
    pub fn new(fields: RowFields, record: &Record, decision: Decision, time: i64, fraud: bool) -> Replayed {
        let field = |f: Option<FieldId>| f.map(|f| record.get(f));
        Replayed {
            decision,
            time,
            customer_id: match field(fields.customer_id) {
                Some(Value::Str(s)) => Some(Arc::clone(s)),
                _ => None,
            },
            amount: match field(fields.amount) {
                Some(Value::Number(n)) => Some(*n),
                _ => None,
            },
            fraud,
        }
    }

    /// Appends this event's line of the result CSV to `out` (SPEC section
    /// 13): the [`CSV_HEADER`] columns, every value in double quotes (a
    /// quote inside doubled), ended by CRLF. Written straight into the
    /// caller's buffer: a replay writes millions of lines, and going
    /// through a general CSV writer field by field cost more than deciding
    /// some of the events.
    pub fn write_csv_line(&self, out: &mut String) {
        let d = &self.decision;
        push_quoted(out, d.event_id.as_deref().unwrap_or_default());
        out.push_str(",\"");
        write_time(out, self.time);
        out.push_str("\",");
        push_quoted(out, self.customer_id.as_deref().unwrap_or_default());
        out.push_str(",\"");
        if let Some(a) = self.amount {
            write_number(out, a);
        }
        out.push_str("\",\"");
        if let Some(s) = d.score {
            write_number(out, s);
        }
        out.push_str("\",");
        push_quoted(out, d.score_level.as_str());
        out.push_str(if self.fraud { ",\"1\",\"" } else { ",\"\",\"" });
        push_decimal(out, u64::from(d.code), 1);
        out.push_str("\",");
        push_quoted(out, &d.outcome);
        out.push_str(",\"");
        for (i, m) in d.matched.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            push_escaped(out, m);
        }
        out.push_str(if d.skip_scoring { "\",\"1\"\r\n" } else { "\",\"0\"\r\n" });
    }
}

/// Appends the result CSV's header line ([`CSV_HEADER`], quoted, CRLF).
pub fn write_csv_header(out: &mut String) {
    for (i, name) in CSV_HEADER.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_quoted(out, name);
    }
    out.push_str("\r\n");
}

/// Appends `text` in double quotes, a quote inside doubled.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    push_escaped(out, text);
    out.push('"');
}

/// Appends `text` with every double quote doubled (the inside of a quoted
/// CSV value).
fn push_escaped(out: &mut String, text: &str) {
    if !text.as_bytes().contains(&b'"') {
        // Nearly every value: nothing to double.
        out.push_str(text);
        return;
    }
    for (i, piece) in text.split('"').enumerate() {
        if i > 0 {
            out.push_str("\"\"");
        }
        out.push_str(piece);
    }
}

/// Count and amount of a group of events.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CountAmount {
    /// Events.
    pub count: u64,
    /// Their amounts (missing counts 0).
    pub amount: f64,
}

impl CountAmount {
    fn add(&mut self, amount: f64) {
        self.count += 1;
        self.amount += amount;
    }

    fn json(&self) -> Json {
        json!({"count": self.count, "amount": json_number(self.amount)})
    }
}

/// A group of decided events and the fraud among them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Caught {
    /// All of them.
    pub all: CountAmount,
    /// The fraud among them.
    pub fraud: CountAmount,
}

impl Caught {
    fn add(&mut self, amount: f64, fraud: bool) {
        self.all.add(amount);
        if fraud {
            self.fraud.add(amount);
        }
    }

    /// The summary object: counts, amounts, precision and recall.
    pub fn json(&self, total_fraud: &CountAmount) -> Json {
        json!({
            "count": self.all.count,
            "amount": json_number(self.all.amount),
            "fraud_count": self.fraud.count,
            "fraud_amount": json_number(self.fraud.amount),
            "precision": ratio(self.fraud.count as f64, self.all.count as f64),
            "recall": ratio(self.fraud.count as f64, total_fraud.count as f64),
            "precision_amount": ratio(self.fraud.amount, self.all.amount),
            "recall_amount": ratio(self.fraud.amount, total_fraud.amount),
        })
    }
}

/// Updates the entry under `name` (created empty when new): the key is
/// allocated only the first time, not once per replayed event.
fn update_by_name<V: Default>(map: &mut BTreeMap<String, V>, name: &str, update: impl FnOnce(&mut V)) {
    match map.get_mut(name) {
        Some(v) => update(v),
        None => update(map.entry(name.to_string()).or_default()),
    }
}

/// `a / b`, or null when `b` is 0.
pub fn ratio(a: f64, b: f64) -> Json {
    if b == 0.0 {
        Json::Null
    } else {
        json_number(a / b)
    }
}

/// One rule's record over the reported events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleTally {
    /// The rule id.
    pub id: String,
    /// Reported events it matched.
    pub hits: u64,
    /// Fraud events among them.
    pub fraud_hits: u64,
    /// Fraud events it matched that no other rule matched.
    pub unique_catches: u64,
}

/// One day's figures, for the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayTally {
    /// Per outcome name: events and amounts.
    pub decisions: BTreeMap<String, CountAmount>,
    /// Fraud that was stopped.
    pub fraud_stopped: CountAmount,
    /// Fraud that was not stopped.
    pub fraud_missed: CountAmount,
}

/// Everything the summary and the report show, over the reported events.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Outcome names by precedence (highest first), then `none`.
    pub outcome_order: Vec<String>,
    /// Outcome names that stop an event.
    pub stop: Vec<String>,
    /// Outcome names that flag an event.
    pub flag: Vec<String>,
    /// Reported events.
    pub reported: u64,
    /// All fraud among them.
    pub fraud: CountAmount,
    /// Per outcome.
    pub decisions: BTreeMap<String, CountAmount>,
    /// Events stopped.
    pub stopped: Caught,
    /// Events flagged.
    pub flagged: Caught,
    /// Per rule, in file order.
    pub rules: Vec<RuleTally>,
    /// Per score level.
    pub score_levels: BTreeMap<String, u64>,
    /// Per UTC day (days since the epoch).
    pub days: BTreeMap<i64, DayTally>,
}

impl Tally {
    /// An empty tally for a program and its stop and flag outcome names.
    pub fn new(program: &Program, stop: Vec<String>, flag: Vec<String>) -> Tally {
        let mut outcome_order: Vec<String> = program.outcomes.list.iter().map(|o| o.name.clone()).collect();
        outcome_order.push(kensa_compiler::outcomes::NONE_OUTCOME.0.to_string());
        Tally {
            outcome_order,
            stop,
            flag,
            reported: 0,
            fraud: CountAmount::default(),
            decisions: BTreeMap::new(),
            stopped: Caught::default(),
            flagged: Caught::default(),
            rules: program.rules.iter().map(|r| RuleTally { id: r.id.clone(), ..RuleTally::default() }).collect(),
            score_levels: BTreeMap::new(),
            days: BTreeMap::new(),
        }
    }

    /// True when the decision stops the event.
    pub fn stops(&self, d: &Decision) -> bool {
        self.stop.iter().any(|o| **o == *d.outcome)
    }

    /// True when the decision flags the event.
    pub fn flags(&self, d: &Decision) -> bool {
        self.flag.iter().any(|o| **o == *d.outcome)
    }

    /// Adds a reported event.
    pub fn add(&mut self, r: &Replayed) {
        let d = &r.decision;
        let amount = r.amount.unwrap_or(0.0);
        self.reported += 1;
        if r.fraud {
            self.fraud.add(amount);
        }
        update_by_name(&mut self.decisions, &d.outcome, |ca| ca.add(amount));
        let stopped = self.stops(d);
        if stopped {
            self.stopped.add(amount, r.fraud);
        }
        if self.flags(d) {
            self.flagged.add(amount, r.fraud);
        }
        for id in &d.matched {
            if let Some(rule) = self.rules.iter_mut().find(|x| *x.id == **id) {
                rule.hits += 1;
                if r.fraud {
                    rule.fraud_hits += 1;
                    if d.matched.len() == 1 {
                        rule.unique_catches += 1;
                    }
                }
            }
        }
        update_by_name(&mut self.score_levels, d.score_level.as_str(), |n| *n += 1);
        let day = self.days.entry(r.time.div_euclid(86_400_000)).or_default();
        update_by_name(&mut day.decisions, &d.outcome, |ca| ca.add(amount));
        if r.fraud {
            if stopped {
                day.fraud_stopped.add(amount);
            } else {
                day.fraud_missed.add(amount);
            }
        }
    }

    /// The `decisions` object: a key per outcome that occurred, by precedence.
    pub fn decisions_json(&self) -> Json {
        let mut m = Map::new();
        for name in &self.outcome_order {
            if let Some(ca) = self.decisions.get(name) {
                m.insert(name.clone(), ca.json());
            }
        }
        Json::Object(m)
    }

    /// The `rules` array.
    pub fn rules_json(&self) -> Json {
        Json::Array(
            self.rules
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "hits": r.hits,
                        "fraud_hits": r.fraud_hits,
                        "precision": ratio(r.fraud_hits as f64, r.hits as f64),
                        "unique_catches": r.unique_catches,
                    })
                })
                .collect(),
        )
    }

    /// The summary of SPEC section 13 (without the run-level counts, which
    /// the caller adds: `events`, `invalid`, `labels_unmatched`).
    pub fn summary(&self, events: u64, invalid: u64, labels_unmatched: usize) -> Json {
        json!({
            "events": events,
            "reported": self.reported,
            "invalid": invalid,
            "labels_unmatched": labels_unmatched,
            "fraud": self.fraud.json(),
            "decisions": self.decisions_json(),
            "stopped": self.stopped.json(&self.fraud),
            "flagged": self.flagged.json(&self.fraud),
            "rules": self.rules_json(),
        })
    }
}

/// How a candidate rule set differs from a baseline on the same events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Stopped by the candidate, not by the baseline.
    pub stopped_only_candidate: Caught,
    /// Stopped by the baseline, not by the candidate.
    pub stopped_only_baseline: Caught,
    /// Flagged by the candidate, not by the baseline.
    pub flagged_only_candidate: Caught,
    /// Flagged by the baseline, not by the candidate.
    pub flagged_only_baseline: Caught,
    /// Events whose decision differs.
    pub decision_changed: u64,
}

impl Comparison {
    /// Adds one event decided by both.
    pub fn add(&mut self, candidate: (bool, bool), baseline: (bool, bool), changed: bool, amount: f64, fraud: bool) {
        let ((c_stop, c_flag), (b_stop, b_flag)) = (candidate, baseline);
        if c_stop && !b_stop {
            self.stopped_only_candidate.add(amount, fraud);
        }
        if b_stop && !c_stop {
            self.stopped_only_baseline.add(amount, fraud);
        }
        if c_flag && !b_flag {
            self.flagged_only_candidate.add(amount, fraud);
        }
        if b_flag && !c_flag {
            self.flagged_only_baseline.add(amount, fraud);
        }
        if changed {
            self.decision_changed += 1;
        }
    }

    /// The `baseline` object of the summary.
    pub fn json(&self, baseline: &Tally, total_fraud: &CountAmount) -> Json {
        json!({
            "decision_changed": self.decision_changed,
            "stopped_only_candidate": self.stopped_only_candidate.json(total_fraud),
            "stopped_only_baseline": self.stopped_only_baseline.json(total_fraud),
            "flagged_only_candidate": self.flagged_only_candidate.json(total_fraud),
            "flagged_only_baseline": self.flagged_only_baseline.json(total_fraud),
            "baseline_stopped": baseline.stopped.json(total_fraud),
            "baseline_flagged": baseline.flagged.json(total_fraud),
            "baseline_decisions": baseline.decisions_json(),
        })
    }
}

/// The default stop and flag outcome names of a program: `block,challenge`
/// and `alert` for the default outcomes, else the highest and the second.
pub fn default_stop_flag(program: &Program) -> (Vec<String>, Vec<String>) {
    if program.outcomes.is_default {
        (vec!["block".into(), "challenge".into()], vec!["alert".into()])
    } else {
        let name = |i: usize| program.outcomes.list.get(i).map(|o| o.name.clone()).into_iter().collect();
        (name(0), name(1))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::decision::ScoreLevel;
    use crate::deployment::VersionId;
    use proptest::prelude::*;

    #[test]
    fn labels_mark_fraud_and_count_the_lines_no_replayed_event_matched() {
        let mut labels = Labels::parse(
            r#"{"event_id": "a", "event_type": "CHARGEBACK"}
{"event_id": "b", "event_type": "CHARGEBACK"}
{"event_id": "b", "event_type": "CHARGEBACK_REVERSE"}
{"event_id": "c", "event_type": "REFUND"}
{"event_id": "c", "event_type": "FRAUD_NOTIFICATION"}"#,
        )
        .unwrap();
        assert_eq!(labels.unmatched(), 5);
        // Seeing an event tells whether it is fraud, as `is_fraud` does.
        assert!(labels.saw(Some("a")) && labels.is_fraud(Some("a")));
        assert!(!labels.saw(Some("b")) && !labels.is_fraud(Some("b")), "reversed");
        assert!(!labels.saw(Some("zz")) && !labels.saw(None), "no labels");
        assert!(labels.saw(Some("a")), "seen twice");
        assert_eq!(labels.unmatched(), 2, "c's two lines");
        labels.forget_seen();
        assert_eq!(labels.unmatched(), 5);
        assert!(labels.saw(Some("c")));
        assert_eq!(labels.unmatched(), 3);
    }

    /// Text with what CSV must quote or escape: quotes, commas, line
    /// breaks, and characters beyond ASCII.
    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "Z", "0", "\"", ",", "\r", "\n", "|", " ", "é", "検"]), 0..8)
            .prop_map(|pieces| pieces.concat())
    }

    fn number() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![Just(0.0), Just(-1.0), Just(1e21), Just(57.16), Just(0.2219194877733124), -1e6..1e6f64])
    }

    proptest! {
        /// A line is what a general CSV writer writes for the same fields,
        /// every field quoted and the line ended by CRLF.
        #[test]
        fn result_lines_are_what_a_csv_writer_writes(
            event_id in prop::option::of(text()),
            customer_id in prop::option::of(text()),
            matched in prop::collection::vec(text(), 0..3),
            outcome in text(),
            amount in number(),
            score in number(),
            time in -62_167_219_200_000i64..253_402_300_799_999,
            code in any::<u32>(),
            fraud in any::<bool>(),
            skip_scoring in any::<bool>(),
        ) {
            let decision = Decision {
                event_id: event_id.as_deref().map(Arc::from),
                outcome: Arc::from(outcome.as_str()),
                code,
                matched: matched.iter().map(|m| Arc::from(m.as_str())).collect(),
                skip_scoring,
                score,
                score_level: ScoreLevel::of(score),
                explain: None,
                version: VersionId(1),
            };
            let row = Replayed { decision, time, customer_id: customer_id.as_deref().map(Arc::from), amount, fraud };
            let mut line = String::new();
            row.write_csv_line(&mut line);

            let number = |n: Option<f64>| n.map(|n| { let mut s = String::new(); write_number(&mut s, n); s }).unwrap_or_default();
            let fields = [
                event_id.unwrap_or_default(),
                crate::decision::format_time(time),
                customer_id.unwrap_or_default(),
                number(amount),
                number(score),
                ScoreLevel::of(score).as_str().to_string(),
                if fraud { "1".into() } else { String::new() },
                code.to_string(),
                outcome,
                matched.join("|"),
                if skip_scoring { "1".into() } else { "0".into() },
            ];
            let mut want = csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Always)
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            want.write_record(&fields).unwrap();
            prop_assert_eq!(line, String::from_utf8(want.into_inner().unwrap()).unwrap());
        }
    }

    #[test]
    fn the_header_line_names_every_column_quoted() {
        let mut line = String::new();
        write_csv_header(&mut line);
        assert_eq!(
            line,
            "\"event_id\",\"event_time\",\"customer_id\",\"amount\",\"score\",\"score_level\",\"chargeback\",\"code\",\"decision\",\"matched\",\"skip_scoring\"\r\n"
        );
    }
}
