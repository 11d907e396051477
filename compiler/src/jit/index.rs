//! Rule-set-wide indexing: rules selected by one field's value are looked
//! up by that value instead of being evaluated one by one.
//!
//! A rule is *guarded* when its condition is `G` or `G and ...` where `G` is
//! `field == "constant"` or `field in ("a", "b", ...)` on a string field (a
//! `[string]` field is in a set when any of its elements is). The rule can
//! only be true when `G` is, so when a field guards at least
//! [`MIN_INDEXED_RULES`] rules of a phase, and no value selects more than
//! one in [`SELECTIVITY`] of them, those rules leave the phase function: a
//! hash map from each constant to its rules finds the ones worth
//! evaluating, and only those run, through chunk functions compiled with
//! `G` replaced by `true` (sound, as the lookup established it). Rules not
//! found stay false. The cost of a phase then grows with the rules that can
//! match, not with the size of the rule set.

use crate::interp::Env;
use crate::ir::{Node, Program, SetData};
use crate::schema::FieldId;
use crate::value::Value;
use hashbrown::HashMap;
use kensa_dsl::ast::TypeName;
use std::sync::Arc;

/// The fewest guarded rules on one field (in one phase) worth a lookup: for
/// fewer, a comparison per rule is cheaper than hashing the value.
pub const MIN_INDEXED_RULES: usize = 32;

/// How selective a field's guards must be to be indexed: no value may
/// select more than this fraction (1 / `SELECTIVITY`) of the rules the
/// field guards. A rule run through the index costs a call into its chunk
/// function, several times what it costs inline in the phase function, so
/// a lookup that selects most rules anyway (100 rules all guarded by
/// `currency == "JPY"`) is slower than no index.
pub const SELECTIVITY: usize = 8;

/// A guarded rule: what selects it, and the rest of its condition.
#[derive(Clone, Debug)]
pub struct Guarded {
    /// The rule's index in the program.
    pub rule: usize,
    /// The field whose value selects it.
    pub field: FieldId,
    /// The values that select it.
    pub keys: Vec<Arc<str>>,
    /// The condition with the guard replaced by `true`.
    pub body: Node,
}

/// The guard of a condition, if it has one (see the module doc).
pub fn split_guard(program: &Program, rule: usize, when: &Node) -> Option<Guarded> {
    let guard = |n: &Node| -> Option<(FieldId, Vec<Arc<str>>)> {
        let field_of = |x: &Node, list_ok: bool| match x {
            Node::Field(f) => program.schema.fields().get(f.0 as usize).and_then(|d| {
                (d.ty == TypeName::String || (list_ok && d.ty == TypeName::StringList)).then_some(*f)
            }),
            _ => None,
        };
        match n {
            Node::Compare(crate::ir::CmpOp::Eq, a, b) => match (&**a, &**b) {
                (x, Node::Const(Value::Str(s))) | (Node::Const(Value::Str(s)), x) => Some((field_of(x, false)?, vec![s.clone()])),
                _ => None,
            },
            Node::InSet(x, set) => match &**set {
                SetData::Strings(strings) => Some((field_of(x, true)?, strings.iter().map(Arc::from).collect())),
                _ => None,
            },
            _ => None,
        }
    };
    match when {
        Node::And(xs) => {
            let (at, (field, keys)) = xs.iter().enumerate().find_map(|(i, x)| guard(x).map(|g| (i, g)))?;
            let rest: Vec<Node> = xs.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, x)| x.clone()).collect();
            let body = match rest.len() {
                0 => Node::Const(Value::Bool(true)),
                1 => rest.into_iter().next().unwrap_or(Node::Const(Value::Bool(true))),
                _ => Node::And(rest),
            };
            Some(Guarded { rule, field, keys, body })
        }
        other => guard(other).map(|(field, keys)| Guarded { rule, field, keys, body: Node::Const(Value::Bool(true)) }),
    }
}

/// Where a guarded rule's compiled body is: which chunk function, and its
/// entry in that function's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The rule's index in the program.
    pub rule: u32,
    /// The chunk function.
    pub chunk: u32,
    /// The entry within the chunk.
    pub local: u32,
}

/// The guarded rules of one field, by the value that selects them.
type ByValue = HashMap<Box<str>, Vec<Entry>>;

/// One phase's index: per indexed field, each value's guarded rules.
#[derive(Clone, Debug, Default)]
pub struct PhaseIndex {
    fields: Vec<(FieldId, ByValue)>,
}

impl PhaseIndex {
    /// Adds a guarded rule under each of its keys.
    pub fn insert(&mut self, field: FieldId, keys: &[Arc<str>], entry: Entry) {
        let at = match self.fields.iter().position(|(f, _)| *f == field) {
            Some(i) => i,
            None => {
                self.fields.push((field, HashMap::new()));
                self.fields.len() - 1
            }
        };
        if let Some((_, map)) = self.fields.get_mut(at) {
            for k in keys {
                let entries = map.entry(Box::from(&**k)).or_default();
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
    }

    /// How many distinct rules are indexed.
    pub fn rules(&self) -> usize {
        let mut seen: Vec<u32> = self.fields.iter().flat_map(|(_, m)| m.values().flatten().map(|e| e.rule)).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Calls `f` with every guarded rule the event's values select (a rule
    /// selected by several elements of a `[string]` may come more than once).
    pub fn candidates(&self, env: &dyn Env, mut f: impl FnMut(Entry)) {
        for (field, map) in &self.fields {
            match env.field(*field) {
                Value::Str(s) => map.get(&**s).into_iter().flatten().copied().for_each(&mut f),
                Value::StrList(xs) => xs.iter().filter_map(|x| map.get(&**x)).flatten().copied().for_each(&mut f),
                _ => {}
            }
        }
    }
}

/// Splits one phase's rules: the guarded ones whose field guards enough
/// rules to be indexed, and the rest (by index, in source order).
pub fn plan(program: &Program, in_phase: impl Fn(usize) -> bool) -> (Vec<usize>, Vec<Guarded>) {
    let guarded: Vec<Guarded> = program
        .rules
        .iter()
        .enumerate()
        .filter(|(i, _)| in_phase(*i))
        .filter_map(|(i, r)| split_guard(program, i, &r.when))
        .collect();
    let mut per_field: HashMap<FieldId, usize> = HashMap::new();
    // Per field: the most rules one value selects.
    let mut most_selected: HashMap<FieldId, usize> = HashMap::new();
    {
        let mut per_key: HashMap<(FieldId, &str), usize> = HashMap::new();
        for g in &guarded {
            *per_field.entry(g.field).or_default() += 1;
            for k in &g.keys {
                *per_key.entry((g.field, &**k)).or_default() += 1;
            }
        }
        for (&(field, _), &n) in &per_key {
            let most = most_selected.entry(field).or_default();
            *most = (*most).max(n);
        }
    }
    let worth_indexing = |field: FieldId| {
        let rules = per_field.get(&field).copied().unwrap_or(0);
        let most = most_selected.get(&field).copied().unwrap_or(0);
        rules >= MIN_INDEXED_RULES && most.saturating_mul(SELECTIVITY) <= rules
    };
    let indexed: Vec<Guarded> = guarded.into_iter().filter(|g| worth_indexing(g.field)).collect();
    let mut is_indexed = vec![false; program.rules.len()];
    for g in &indexed {
        if let Some(x) = is_indexed.get_mut(g.rule) {
            *x = true;
        }
    }
    let rest = (0..program.rules.len()).filter(|i| in_phase(*i) && !is_indexed.get(*i).copied().unwrap_or(false)).collect();
    (rest, indexed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(rules: impl Iterator<Item = String>) -> (usize, usize) {
        let src = format!("ruleset s {{\n{}\n}}", rules.collect::<Vec<_>>().join("\n"));
        let program = crate::lower::lower(&crate::compile_source(&src).unwrap());
        let (rest, indexed) = plan(&program, |_| true);
        (rest.len(), indexed.len())
    }

    #[test]
    fn a_field_is_indexed_only_when_its_values_select_few_rules() {
        // 64 rules over 64 currencies: one value selects one rule.
        let spread = (0..64).map(|i| format!("  rule r{i} -> block when currency == \"C{i}\" and amount > {i}"));
        assert_eq!(planned(spread), (0, 64));
        // 64 rules over 8 currencies: one in eight, still worth a lookup.
        let eighths = (0..64).map(|i| format!("  rule r{i} -> block when currency == \"C{}\" and amount > {i}", i % 8));
        assert_eq!(planned(eighths), (0, 64));
        // Over 7 currencies a value selects more than one in eight.
        let sevenths = (0..64).map(|i| format!("  rule r{i} -> block when currency == \"C{}\" and amount > {i}", i % 7));
        assert_eq!(planned(sevenths), (64, 0));
        // Every rule guarded by the same value: the lookup would select them all.
        let same = (0..64).map(|i| format!("  rule r{i} -> block when currency == \"JPY\" and amount > {i}"));
        assert_eq!(planned(same), (64, 0));
        // Too few rules on the field, however spread.
        let few = (0..MIN_INDEXED_RULES - 1).map(|i| format!("  rule r{i} -> block when currency == \"C{i}\""));
        assert_eq!(planned(few), (MIN_INDEXED_RULES - 1, 0));
    }
}
