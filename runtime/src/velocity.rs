//! The in-process velocity store: exact sliding windows per key (SPEC
//! section 8).
//!
//! Velocities with the same key fields share a key group: an event's key is
//! built and hashed once per group, and one map lookup finds the windows of
//! every velocity of the group. A window keeps its entries sorted by event
//! time (ties in recording order), so an out-of-order event is placed by its
//! own time and a read is a binary search for `(t - W, t]`.
//!
//! Memory: a window keeps entries newer than its newest entry minus twice its
//! length (events up to one window late still read exact values), at most
//! [`MAX_ENTRIES_PER_WINDOW`] entries (the oldest go first), and keys whose
//! windows have all gone idle are dropped by a sweep every [`SWEEP_EVERY`]
//! recordings, or every eight times as many recordings as there are keys when
//! that is more (so sweeping costs O(1) a recording, amortised).

use kensa_compiler::ir::VelocityIr;
use kensa_compiler::value::{ip_to_u128, Value};
use kensa_dsl::ast::AggKind;
use hashbrown::{HashMap, HashSet};
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;

/// The most entries one velocity window keeps for one key.
pub const MAX_ENTRIES_PER_WINDOW: usize = 100_000;

/// The fewest recordings between two sweeps of idle keys.
pub const SWEEP_EVERY: u64 = 65_536;

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
        Some(match v {
            Value::Str(s) => KeyPart::Str(s.clone()),
            Value::Number(n) => KeyPart::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            Value::Ip(a) => KeyPart::Ip(ip_to_u128(*a)),
            Value::Timestamp(t) | Value::Duration(t) => KeyPart::Int(*t),
            Value::Bool(b) => KeyPart::Bool(*b),
            Value::Missing | Value::StrList(_) => return None,
        })
    }
}

/// A key tuple.
pub type Key = Vec<KeyPart>;

#[derive(Clone, Debug)]
struct Entry {
    time: i64,
    /// The aggregated value (missing when the event had none).
    value: Value,
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
        let hi = self.entries.partition_point(|e| e.time <= t);
        (lo, hi.max(lo))
    }

    fn insert(&mut self, time: i64, value: Value, window_ms: i64) {
        let at = self.entries.partition_point(|e| e.time <= time);
        self.entries.insert(at, Entry { time, value });
        let newest = self.entries.back().map_or(time, |e| e.time);
        let keep_after = newest.saturating_sub(window_ms.saturating_mul(2));
        while self.entries.front().is_some_and(|e| e.time <= keep_after) || self.entries.len() > MAX_ENTRIES_PER_WINDOW {
            self.entries.pop_front();
        }
    }

    fn is_idle(&self, now: i64, window_ms: i64) -> bool {
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
            let mut few: Vec<KeyPart> = Vec::new();
            let mut many: Option<HashSet<KeyPart>> = None;
            for part in values.filter_map(KeyPart::of) {
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

/// What the store holds, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Distinct keys across key groups.
    pub keys: usize,
    /// Recorded entries across all windows.
    pub entries: usize,
}

/// The windows of every velocity of a program, by key group and key.
#[derive(Debug, Default)]
pub struct VelocityStore {
    /// Per key group: key -> one window per velocity of the group, in the
    /// order of [`VelocityStore::members`].
    groups: Vec<HashMap<Key, Vec<Window>>>,
    /// Per key group: the velocities (by index) in it.
    members: Vec<Vec<usize>>,
    /// Per velocity: (group, position in the group).
    place: Vec<(usize, usize)>,
    /// Per velocity: window length in ms.
    windows_ms: Vec<i64>,
    recorded: u64,
    /// The recording count at which the next sweep runs.
    next_sweep: u64,
    newest: i64,
}

impl VelocityStore {
    /// An empty store for these velocities.
    pub fn new(velocities: &[VelocityIr], key_groups: usize) -> VelocityStore {
        let mut members = vec![Vec::new(); key_groups];
        let mut place = Vec::with_capacity(velocities.len());
        for (i, v) in velocities.iter().enumerate() {
            let group = members.get_mut(v.key_group);
            let pos = group.as_ref().map_or(0, |g| g.len());
            if let Some(g) = group {
                g.push(i);
            }
            place.push((v.key_group, pos));
        }
        VelocityStore {
            groups: (0..key_groups).map(|_| HashMap::new()).collect(),
            members,
            place,
            windows_ms: velocities.iter().map(|v| v.window_ms).collect(),
            recorded: 0,
            next_sweep: SWEEP_EVERY,
            newest: i64::MIN,
        }
    }

    /// Velocity `v`'s key group and its position in the group.
    pub fn place(&self, v: usize) -> Option<(usize, usize)> {
        self.place.get(v).copied()
    }

    /// The windows of key group `g` for `key` (one per velocity of the
    /// group, by position), if anything was recorded: one hash lookup serves
    /// every velocity of the group.
    pub fn group_windows(&self, g: usize, key: &[KeyPart]) -> Option<&[Window]> {
        self.groups.get(g)?.get(key).map(Vec::as_slice)
    }

    /// Records an event into several velocities of key group `g` at once,
    /// `(position in the group, value)` each; `items` is left empty. The key
    /// is hashed once, and copied only when it is new.
    pub fn record_group(&mut self, g: usize, key: &[KeyPart], time: i64, items: &mut Vec<(usize, Value)>) {
        if items.is_empty() {
            return;
        }
        let members = self.members.get(g).map_or(&[][..], Vec::as_slice);
        let Some(group) = self.groups.get_mut(g) else {
            items.clear();
            return;
        };
        let windows = group.entry_ref(key).or_insert_with(|| vec![Window::default(); members.len()]);
        for (pos, value) in items.drain(..) {
            let window_ms = members.get(pos).and_then(|v| self.windows_ms.get(*v)).copied().unwrap_or(1);
            if let Some(w) = windows.get_mut(pos) {
                w.insert(time, value, window_ms);
            }
            self.recorded += 1;
        }
        self.newest = self.newest.max(time);
        // A sweep visits every key, so sweeps come no more often than once
        // per as many recordings as there are keys: amortised O(1) each.
        if self.recorded >= self.next_sweep {
            self.sweep();
            let keys: usize = self.groups.iter().map(HashMap::len).sum();
            self.next_sweep = self.recorded + SWEEP_EVERY.max(u64::try_from(keys).unwrap_or(u64::MAX).saturating_mul(8));
        }
    }

    /// Drops keys whose every window has gone idle.
    pub fn sweep(&mut self) {
        let now = self.newest;
        for (g, group) in self.groups.iter_mut().enumerate() {
            let members = self.members.get(g).map_or(&[][..], Vec::as_slice);
            let windows_ms = &self.windows_ms;
            group.retain(|_, windows| {
                !windows
                    .iter()
                    .zip(members)
                    .all(|(w, v)| w.is_idle(now, windows_ms.get(*v).copied().unwrap_or(1)))
            });
        }
    }

    /// How many keys and entries the store holds.
    pub fn stats(&self) -> StoreStats {
        let mut s = StoreStats::default();
        for group in &self.groups {
            s.keys += group.len();
            s.entries += group.values().flat_map(|ws| ws.iter().map(Window::len)).sum::<usize>();
        }
        s
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
