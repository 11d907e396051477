//! The typed intermediate representation a checked rule set lowers to, and
//! that both evaluators run: fields are slot numbers, lists and velocities
//! small ids, literals typed values, inline sets pre-built, constants folded.
//! After lowering nothing is looked up by name.

use crate::builtins::Builtin;
use crate::check::Phase;
use crate::outcomes::Outcomes;
use crate::schema::{FieldId, Schema};
use crate::sets::{IpSet, NumberSet, PrefixSet, StringSet};
use crate::value::Value;
use kensa_dsl::ast::{AggKind, ListKind, TypeName};
use std::sync::Arc;

/// A declared list, by its position in the rule set's list declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListId(pub u32);

/// A velocity, by its position in the rule set's velocity declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VelocityId(pub u32);

/// The members of a set tested by `in`.
#[derive(Clone, Debug, PartialEq)]
pub enum SetData {
    /// Exact strings (`string` lists, inline string sets).
    Strings(StringSet),
    /// String prefixes (`prefix` lists).
    Prefixes(PrefixSet),
    /// Addresses and ranges (`ip` lists, inline IP sets).
    Ips(IpSet),
    /// Numbers (`number` lists, inline number sets).
    Numbers(NumberSet),
    /// Any other inline set (durations, timestamps, booleans), compared one by one.
    Values(Vec<Value>),
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A typed expression node.
#[derive(Clone, Debug)]
pub enum Node {
    /// A constant (folded or literal).
    Const(Value),
    /// A field of the event, by slot.
    Field(FieldId),
    /// A velocity's value for this event.
    Velocity(VelocityId),
    /// `not x`
    Not(Box<Node>),
    /// `a and b and ...`
    And(Vec<Node>),
    /// `a or b or ...`
    Or(Vec<Node>),
    /// `-x`
    Neg(Box<Node>),
    /// Arithmetic.
    Arith(ArithOp, Box<Node>, Box<Node>),
    /// Comparison (both sides of one type, by INVARIANT TypedValue).
    Compare(CmpOp, Box<Node>, Box<Node>),
    /// `x in LIST` (`not in` lowers to `Not(InList)`).
    InList(Box<Node>, ListId),
    /// `x in (...)`
    InSet(Box<Node>, Arc<SetData>),
    /// `x between low and high`
    Between(Box<Node>, Box<Node>, Box<Node>),
    /// `x is present` (`true`) / `x is missing` (`false`).
    Is(Box<Node>, bool),
    /// A built-in call.
    Call(Call),
}

impl Node {
    /// Calls `f` on this node and every node under it, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Node)) {
        f(self);
        match self {
            Node::Const(_) | Node::Field(_) | Node::Velocity(_) => {}
            Node::Not(x) | Node::Neg(x) | Node::InList(x, _) | Node::InSet(x, _) | Node::Is(x, _) => x.walk(f),
            Node::And(xs) | Node::Or(xs) => xs.iter().for_each(|x| x.walk(f)),
            Node::Call(c) => c.args.iter().for_each(|x| x.walk(f)),
            Node::Arith(_, a, b) | Node::Compare(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Node::Between(x, lo, hi) => {
                x.walk(f);
                lo.walk(f);
                hi.walk(f);
            }
        }
    }
}

/// A built-in call with its literal parameters already compiled.
#[derive(Clone, Debug)]
pub struct Call {
    /// The function.
    pub func: Builtin,
    /// The value arguments (literal parameters are not among them).
    pub args: Vec<Node>,
    /// The compiled pattern of `matches`.
    pub regex: Option<Arc<regex::Regex>>,
    /// The UTC offset of `hour` / `weekday`, in minutes.
    pub offset_minutes: i32,
}

/// What a rule's condition reads, for `--explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// A field.
    Field(FieldId),
    /// A velocity.
    Velocity(VelocityId),
}

/// A lowered rule.
#[derive(Clone, Debug)]
pub struct RuleIr {
    /// The rule id.
    pub id: String,
    /// The outcome's precedence rank (0 = highest).
    pub outcome: usize,
    /// `priority`.
    pub priority: Option<i64>,
    /// False for `disabled` rules: they never match.
    pub enabled: bool,
    /// `skip_scoring`.
    pub skip_scoring: bool,
    /// Phase 1 or 2.
    pub phase: Phase,
    /// The condition.
    pub when: Node,
    /// Fields and velocities the condition reads, in order of first mention.
    pub reads: Vec<Read>,
}

/// A lowered velocity.
#[derive(Clone, Debug)]
pub struct VelocityIr {
    /// Its name.
    pub name: String,
    /// The aggregate.
    pub agg: AggKind,
    /// The aggregated expression (`None` for `count()`).
    pub of: Option<Node>,
    /// The key fields.
    pub keys: Vec<FieldId>,
    /// Which key group (distinct key-field tuple) it belongs to.
    pub key_group: usize,
    /// The window, in ms (> 0).
    pub window_ms: i64,
    /// `excluding current`.
    pub excluding_current: bool,
    /// The `where` filter.
    pub filter: Option<Node>,
    /// The result type.
    pub ty: TypeName,
    /// What the velocity records, independent of its name, slot numbers
    /// and window: the recorded expression, key paths and filter.
    /// Velocities with the same series share their recorded state, in one
    /// rule set and across the versions of an embedded engine (a deploy
    /// keeps their windows), each reading its own window of it.
    pub series: String,
    /// Which events the series records: its key paths and filter (the part
    /// of [`VelocityIr::series`] after the recorded expression).
    pub events: String,
    /// True when the velocity reads nothing of its entries but their times:
    /// `count()`, or an aggregate of the event's own time (`last(event.time)`,
    /// whose recorded value is always its entry's time). Such a velocity can
    /// read the entries of any series recording the same events.
    pub times_only: bool,
}

/// A declared list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListIr {
    /// Its name (the file is `<dir>/<name>.txt`).
    pub name: String,
    /// Its kind.
    pub kind: ListKind,
}

/// A whole rule set, ready to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// The rule set's name.
    pub name: String,
    /// The event schema (slot order).
    pub schema: Schema,
    /// The slot of `score`.
    pub score_field: FieldId,
    /// The slot of `event.id`.
    pub event_id_field: FieldId,
    /// The slot of `event.time`.
    pub event_time_field: FieldId,
    /// Outcomes with codes, highest precedence first.
    pub outcomes: Outcomes,
    /// Lists, in declaration order.
    pub lists: Vec<ListIr>,
    /// Velocities, in declaration order.
    pub velocities: Vec<VelocityIr>,
    /// Distinct key-field tuples of the velocities.
    pub key_groups: Vec<Vec<FieldId>>,
    /// Rules, in source order.
    pub rules: Vec<RuleIr>,
}

impl Program {
    /// Every field deciding an event can read, in slot order: the fields
    /// in the rules' conditions and in the velocities (keys, recorded
    /// expression, filter), and the three the engine reads itself (the
    /// event's id and time, and the score). A reader that keeps only these
    /// (see the runtime's `Decoder::keeping`) decides exactly as one that
    /// keeps every field.
    pub fn fields_read(&self) -> Vec<FieldId> {
        let mut read = vec![self.event_id_field, self.event_time_field, self.score_field];
        read.extend(self.velocities.iter().flat_map(|v| v.keys.iter().copied()));
        let mut note = |n: &Node| {
            if let Node::Field(f) = n {
                read.push(*f);
            }
        };
        for rule in &self.rules {
            rule.when.walk(&mut note);
        }
        for v in &self.velocities {
            for node in v.of.iter().chain(&v.filter) {
                node.walk(&mut note);
            }
        }
        read.sort_unstable();
        read.dedup();
        read
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    /// The paths of `fields_read` of a rule set.
    fn paths_read(src: &str) -> Vec<String> {
        let program = crate::lower::lower(&crate::compile_source(src).expect("compiles"));
        let fields = program.schema.fields();
        program.fields_read().iter().filter_map(|id| fields.get(id.0 as usize)).map(|f| f.path.clone()).collect()
    }

    #[test]
    fn fields_read_are_the_conditions_the_velocities_and_the_engines_own() {
        let src = r#"ruleset t {
          velocity spend = sum(amount) by card.hash, device.id over 1h where currency == "JPY"
          velocity seen = count() by ip.address over 10m
          rule a -> block when spend > 100 and lower(customer.email) == "x@y.z"
          rule b -> alert when seen > 3 or hour(event.time, "+09:00") < 6
        }"#;
        let mut want = [
            "event.id", "event.time", "score", "amount", "card.hash", "device.id", "currency", "ip.address", "customer.email",
        ]
        .map(String::from)
        .to_vec();
        let mut got = paths_read(src);
        want.sort();
        got.sort();
        assert_eq!(got, want);
        // Nothing else of the schema: no card.bin, no browser fields.
        assert_eq!(paths_read("ruleset u { rule r -> alert when true }"), ["event.id", "event.time", "score"]);
    }
}
