//! Exact sliding windows (SPEC section 8): one velocity's events for one
//! key, and the aggregates read from them. Where windows live is the
//! store's business (`crate::store`).
//!
//! A window keeps its entries sorted by event time (ties in recording
//! order), so an out-of-order event is placed by its own time and a read is
//! a binary search for `(t - W, t]`. It keeps entries newer than its newest
//! entry minus twice its length (events up to one window late still read
//! exact values) and at most [`MAX_ENTRIES_PER_WINDOW`] entries (the oldest
//! go first).

use kensa_compiler::value::{ip_to_u128, u128_to_ip, Value};
use kensa_dsl::ast::AggKind;
use hashbrown::HashSet;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;

/// The most entries one velocity window keeps for one key.
pub const MAX_ENTRIES_PER_WINDOW: usize = 100_000;

/// One part of a key tuple, hashable and comparable exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    /// A string.
    Str(Arc<str>),
    /// A number's bits (`-0` normalised to `0`).
    Num(u64),
    /// An IP address in the 128-bit space.
    Ip(u128),
    /// A timestamp or duration in ms.
    Int(i64),
    /// A bool.
    Bool(bool),
}

impl KeyPart {
    /// The key part of a scalar value; `None` for missing (and lists).
    pub fn of(v: &Value) -> Option<KeyPart> {
        Some(match (v, PartRef::of(v)?) {
            // The string's own `Arc`, not a copy of its text.
            (Value::Str(s), _) => KeyPart::Str(s.clone()),
            (_, PartRef::Num(n)) => KeyPart::Num(n),
            (_, PartRef::Ip(a)) => KeyPart::Ip(a),
            (_, PartRef::Int(t)) => KeyPart::Int(t),
            (_, PartRef::Bool(b)) => KeyPart::Bool(b),
            (_, PartRef::Str(_)) => return None,
        })
    }
}

impl KeyPart {
    /// A value this key part is taken from ([`KeyPart::of`] gives it back;
    /// an `Int` reads as a timestamp, which keys the same as a duration).
    pub fn to_value(&self) -> Value {
        match self {
            KeyPart::Str(s) => Value::Str(s.clone()),
            KeyPart::Num(bits) => Value::Number(f64::from_bits(*bits)),
            KeyPart::Ip(a) => Value::Ip(u128_to_ip(*a)),
            KeyPart::Int(t) => Value::Timestamp(*t),
            KeyPart::Bool(b) => Value::Bool(*b),
        }
    }
}

/// A key tuple.
pub type Key = Vec<KeyPart>;

/// A [`KeyPart`] borrowed from its value: what `count_distinct` compares,
/// without touching the strings' reference counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PartRef<'a> {
    Str(&'a str),
    Num(u64),
    Ip(u128),
    Int(i64),
    Bool(bool),
}

impl PartRef<'_> {
    fn of(v: &Value) -> Option<PartRef<'_>> {
        Some(match v {
            Value::Str(s) => PartRef::Str(s),
            Value::Number(n) => PartRef::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            Value::Ip(a) => PartRef::Ip(ip_to_u128(*a)),
            Value::Timestamp(t) | Value::Duration(t) => PartRef::Int(*t),
            Value::Bool(b) => PartRef::Bool(*b),
            Value::Missing | Value::StrList(_) => return None,
        })
    }
}

/// One recorded event of a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its event time, ms since the epoch.
    pub time: i64,
    /// The recorded value (missing when the event had none, and for `count()`).
    pub value: Value,
}

/// One velocity's events for one key, sorted by time, ties in recording order.
#[derive(Clone, Debug, Default)]
pub struct Window {
    entries: VecDeque<Entry>,
}

impl Window {
    /// The index range of entries with time in `(t - w, t]`.
    fn range(&self, t: i64, w: i64) -> (usize, usize) {
        let start = t.saturating_sub(w);
        let lo = self.entries.partition_point(|e| e.time <= start);
        // Events mostly come in time order: nothing is newer than `t`.
        let hi = if self.entries.back().is_none_or(|e| e.time <= t) {
            self.entries.len()
        } else {
            self.entries.partition_point(|e| e.time <= t)
        };
        (lo, hi.max(lo))
    }

    /// Places an event by its time (after entries of the same time) and
    /// drops what no read can see any more.
    pub fn insert(&mut self, time: i64, value: Value, window_ms: i64) {
        if self.entries.back().is_none_or(|e| e.time <= time) {
            // In time order (the common case): it goes last.
            self.entries.push_back(Entry { time, value });
        } else {
            let at = self.entries.partition_point(|e| e.time <= time);
            self.entries.insert(at, Entry { time, value });
        }
        let newest = self.entries.back().map_or(time, |e| e.time);
        let keep_after = newest.saturating_sub(window_ms.saturating_mul(2));
        while self.entries.front().is_some_and(|e| e.time <= keep_after) || self.entries.len() > MAX_ENTRIES_PER_WINDOW {
            self.entries.pop_front();
        }
    }

    /// True when no read at `now` or later can see any entry.
    pub fn is_idle(&self, now: i64, window_ms: i64) -> bool {
        self.entries.back().is_none_or(|e| e.time <= now.saturating_sub(window_ms.saturating_mul(2)))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter()
    }

    /// A window holding exactly these entries, which must be sorted by
    /// time (a snapshot holds them so); `None` when they are not.
    pub fn from_sorted(entries: Vec<Entry>) -> Option<Window> {
        entries.windows(2).all(|p| p.first().map(|a| a.time) <= p.get(1).map(|b| b.time)).then(|| Window { entries: entries.into() })
    }
}

/// Reads an aggregate over a window's entries in `(t - w, t]`, plus the
/// current event's value when `current` is given (it qualifies and is not
/// excluded). `last` never reads the current event.
pub fn aggregate(agg: AggKind, window: Option<&Window>, t: i64, w: i64, current: Option<&Value>) -> Value {
    let empty = Window::default();
    let window = window.unwrap_or(&empty);
    let (lo, hi) = window.range(t, w);
    let recorded = window.entries.range(lo..hi);
    let current_value = match agg {
        AggKind::Last => None,
        _ => current,
    };
    match agg {
        AggKind::Count => count_value(hi - lo + usize::from(current.is_some())),
        AggKind::Last => recorded.rev().find(|e| !e.value.is_missing()).map_or(Value::Missing, |e| e.value.clone()),
        _ => {
            let values = recorded.map(|e| &e.value).chain(current_value).filter(|v| !v.is_missing());
            fold(agg, values)
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn count_value(n: usize) -> Value {
    Value::Number(n as f64)
}

fn fold<'a>(agg: AggKind, values: impl Iterator<Item = &'a Value>) -> Value {
    match agg {
        AggKind::CountDistinct => {
            // Windows are mostly small: a vector with a linear check beats a
            // hash set until it grows, and allocates once.
            const SMALL: usize = 32;
            let mut few: Vec<PartRef<'_>> = Vec::new();
            let mut many: Option<HashSet<PartRef<'_>>> = None;
            for part in values.filter_map(PartRef::of) {
                match many.as_mut() {
                    Some(set) => {
                        set.insert(part);
                    }
                    None if !few.contains(&part) => {
                        few.push(part);
                        if few.len() > SMALL {
                            many = Some(few.drain(..).collect());
                        }
                    }
                    None => {}
                }
            }
            count_value(many.map_or(few.len(), |set| set.len()))
        }
        AggKind::Sum | AggKind::Avg => {
            let (mut sum, mut n) = (0.0f64, 0usize);
            for v in values {
                if let Value::Number(x) = v {
                    sum += x;
                    n += 1;
                }
            }
            if agg == AggKind::Sum {
                Value::number(sum)
            } else if n == 0 {
                Value::Missing
            } else {
                Value::number(sum / n as f64)
            }
        }
        AggKind::Min | AggKind::Max => {
            let want = if agg == AggKind::Min { Ordering::Less } else { Ordering::Greater };
            let mut best: Option<&Value> = None;
            for v in values {
                best = match best {
                    Some(b) if order(v, b) != Some(want) => Some(b),
                    _ => Some(v),
                };
            }
            best.cloned().unwrap_or(Value::Missing)
        }
        AggKind::Count | AggKind::Last => Value::Missing,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_distinct_past_the_small_vector() {
        let values: Vec<Value> = (0..200).map(|i| Value::Number(f64::from(i % 70))).collect();
        assert_eq!(fold(AggKind::CountDistinct, values.iter()), Value::Number(70.0));
        let few: Vec<Value> = ["a", "b", "a"].iter().map(|s| Value::str(s)).collect();
        assert_eq!(fold(AggKind::CountDistinct, few.iter()), Value::Number(2.0));
    }

    #[test]
    fn a_key_part_comes_back_from_its_value() {
        let parts = [
            KeyPart::Str(Arc::from("c1")),
            KeyPart::Num(2.5f64.to_bits()),
            KeyPart::Num(0),
            KeyPart::Ip(ip_to_u128("10.0.0.1".parse().unwrap())),
            KeyPart::Ip(ip_to_u128("2001:db8::1".parse().unwrap())),
            KeyPart::Int(-5),
            KeyPart::Bool(true),
        ];
        for p in parts {
            assert_eq!(KeyPart::of(&p.to_value()), Some(p));
        }
    }

    #[test]
    fn windows_read_the_half_open_range() {
        let mut w = Window::default();
        for t in [10, 20, 20, 30] {
            w.insert(t, Value::Number(1.0), 1_000);
        }
        assert_eq!(aggregate(AggKind::Count, Some(&w), 30, 10, None), Value::Number(1.0));
        assert_eq!(aggregate(AggKind::Count, Some(&w), 30, 11, None), Value::Number(3.0));
        assert_eq!(aggregate(AggKind::Count, Some(&w), 20, 100, Some(&Value::Missing)), Value::Number(4.0));
    }
}
