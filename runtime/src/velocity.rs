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

use crate::inline_str::InlineStr;
use kensa_compiler::value::{ip_to_u128, u128_to_ip, Value};
use kensa_dsl::ast::AggKind;
use hashbrown::HashSet;
use smallvec::SmallVec;
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
    /// A string is copied: deciding reads keys as [`KeyRef`]s instead.
    pub fn of(v: &Value) -> Option<KeyPart> {
        KeyRef::of(v).map(KeyRef::to_part)
    }
}

impl KeyPart {
    /// This part, borrowed: the form the store hashes and compares.
    pub fn as_key_ref(&self) -> KeyRef<'_> {
        match self {
            KeyPart::Str(s) => KeyRef::Str(s),
            KeyPart::Num(n) => KeyRef::Num(*n),
            KeyPart::Ip(a) => KeyRef::Ip(*a),
            KeyPart::Int(t) => KeyRef::Int(*t),
            KeyPart::Bool(b) => KeyRef::Bool(*b),
        }
    }

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

/// A [`KeyPart`] borrowed from the value it is taken from: what the store
/// hashes, looks up and compares. Building an event's key this way touches
/// no string's reference count (an atomic write, on memory the thread that
/// decoded the event may own); the store copies the key only when it is new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRef<'a> {
    /// A string.
    Str(&'a str),
    /// A number's bits (`-0` normalised to `0`).
    Num(u64),
    /// An IP address in the 128-bit space.
    Ip(u128),
    /// A timestamp or duration in ms.
    Int(i64),
    /// A bool.
    Bool(bool),
}

impl<'a> KeyRef<'a> {
    /// The key part of a scalar value; `None` for missing (and lists).
    /// The one place a value is mapped to a key part: [`KeyPart::of`] and
    /// `count_distinct`'s `PartRef::of` are this mapping.
    pub fn of(v: &'a Value) -> Option<KeyRef<'a>> {
        Some(match v {
            Value::Str(s) => KeyRef::Str(s),
            Value::Number(n) => KeyRef::Num(number_bits(*n)),
            Value::Ip(a) => KeyRef::Ip(ip_to_u128(*a)),
            Value::Timestamp(t) | Value::Duration(t) => KeyRef::Int(*t),
            Value::Bool(b) => KeyRef::Bool(*b),
            Value::Missing | Value::StrList(_) => return None,
        })
    }

    /// The part, owned (a string is copied).
    pub fn to_part(self) -> KeyPart {
        match self {
            KeyRef::Str(s) => KeyPart::Str(Arc::from(s)),
            KeyRef::Num(n) => KeyPart::Num(n),
            KeyRef::Ip(a) => KeyPart::Ip(a),
            KeyRef::Int(t) => KeyPart::Int(t),
            KeyRef::Bool(b) => KeyPart::Bool(b),
        }
    }
}

/// A [`KeyPart`] borrowed from its value: what `count_distinct` compares,
/// without touching the strings' reference counts. A string is its UTF-8
/// bytes, whether it comes from a value or from a window's inline text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PartRef<'a> {
    Str(&'a [u8]),
    Num(u64),
    Ip(u128),
    Int(i64),
    Bool(bool),
}

impl PartRef<'_> {
    /// [`KeyRef::of`], a string as its bytes.
    #[inline]
    fn of(v: &Value) -> Option<PartRef<'_>> {
        Some(match KeyRef::of(v)? {
            KeyRef::Str(s) => PartRef::Str(s.as_bytes()),
            KeyRef::Num(n) => PartRef::Num(n),
            KeyRef::Ip(a) => PartRef::Ip(a),
            KeyRef::Int(t) => PartRef::Int(t),
            KeyRef::Bool(b) => PartRef::Bool(b),
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
    column: Column,
}

/// A window's entries, stored as compactly as the values recorded so far
/// allow: 8 bytes an entry for a window that has only ever recorded missing
/// values (every `count()`), 16 for numbers or timestamps, 32 for short
/// strings (kept inside the entry) and for anything else. Windows are most
/// of an engine's memory and every read walks one, so the smaller entry is
/// fewer cache lines touched; a string kept inline is read without following
/// a pointer (a `count_distinct` over an hour of card ids reads one buffer,
/// not one allocation per entry) and dropped without freeing anything.
///
/// INVARIANT: every variant holds its entries sorted by time (ties in
/// recording order). A column widens, keeping that order, the first time a
/// value it cannot hold is recorded ([`Column::holds`]); it never narrows.
#[derive(Clone, Debug)]
enum Column {
    /// Every value recorded so far is missing: times only.
    Times(VecDeque<i64>),
    /// Numbers or missing; NaN stands for missing (a NaN number, which the
    /// engine never makes, widens the column instead).
    Numbers(VecDeque<(i64, f64)>),
    /// Timestamps or missing; `i64::MIN` stands for missing (that
    /// timestamp widens the column instead).
    Stamps(VecDeque<(i64, i64)>),
    /// Strings of at most [`TEXT_MAX`] bytes, or missing.
    Texts(VecDeque<(i64, Text)>),
    /// Any value.
    Values(VecDeque<Entry>),
}

impl Default for Column {
    fn default() -> Column {
        Column::Times(VecDeque::new())
    }
}

/// Runs `$body` with `$d` bound to the column's entries, whatever their
/// form (`$body` must type-check for each).
macro_rules! with_entries {
    ($column:expr, $d:ident => $body:expr) => {
        match $column {
            Column::Times($d) => $body,
            Column::Numbers($d) => $body,
            Column::Stamps($d) => $body,
            Column::Texts($d) => $body,
            Column::Values($d) => $body,
        }
    };
}

/// One entry of a column, in any of its forms.
trait Slot {
    /// Its event time.
    fn time(&self) -> i64;
    /// Its value, unless missing.
    fn recorded(&self) -> Option<Recorded<'_>>;
    /// The entry it stands for.
    fn to_entry(&self) -> Entry {
        Entry { time: self.time(), value: self.recorded().map_or(Value::Missing, Recorded::to_value) }
    }
}

impl Slot for i64 {
    fn time(&self) -> i64 {
        *self
    }
    fn recorded(&self) -> Option<Recorded<'_>> {
        None
    }
}

impl Slot for (i64, f64) {
    fn time(&self) -> i64 {
        self.0
    }
    fn recorded(&self) -> Option<Recorded<'_>> {
        (!self.1.is_nan()).then_some(Recorded::Number(self.1))
    }
}

impl Slot for (i64, i64) {
    fn time(&self) -> i64 {
        self.0
    }
    fn recorded(&self) -> Option<Recorded<'_>> {
        (self.1 != i64::MIN).then_some(Recorded::Stamp(self.1))
    }
}

impl Slot for (i64, Text) {
    fn time(&self) -> i64 {
        self.0
    }
    fn recorded(&self) -> Option<Recorded<'_>> {
        self.1.bytes().map(Recorded::Text)
    }
}

/// The longest string a [`Column::Texts`] entry keeps (the entry is then
/// 32 bytes, as a full value's is).
const TEXT_MAX: usize = 23;

/// A short string kept inside a window entry; none stands for missing.
type Text = InlineStr<TEXT_MAX>;

/// The text of a missing value or of a short string; `None` for any other
/// value.
fn text_of(value: &Value) -> Option<Text> {
    match value {
        Value::Missing => Some(Text::NONE),
        Value::Str(s) => Text::new(s),
        _ => None,
    }
}

impl Slot for Entry {
    fn time(&self) -> i64 {
        self.time
    }
    fn recorded(&self) -> Option<Recorded<'_>> {
        (!self.value.is_missing()).then_some(Recorded::Value(&self.value))
    }
}

/// A recorded value as a read sees it, borrowed from its window.
#[derive(Clone, Copy, Debug)]
enum Recorded<'a> {
    Number(f64),
    Stamp(i64),
    /// A string kept inline: its UTF-8 bytes (see [`Text`]).
    Text(&'a [u8]),
    Value(&'a Value),
}

impl<'a> Recorded<'a> {
    fn to_value(self) -> Value {
        match self {
            Recorded::Number(x) => Value::Number(x),
            Recorded::Stamp(t) => Value::Timestamp(t),
            // Always valid: see the INVARIANT on `InlineStr`.
            Recorded::Text(b) => Value::str(&String::from_utf8_lossy(b)),
            Recorded::Value(v) => v.clone(),
        }
    }

    /// Its part, as `count_distinct` compares it (`None` for a list).
    fn part(self) -> Option<PartRef<'a>> {
        match self {
            Recorded::Number(x) => Some(PartRef::Num(number_bits(x))),
            Recorded::Stamp(t) => Some(PartRef::Int(t)),
            Recorded::Text(b) => Some(PartRef::Str(b)),
            Recorded::Value(v) => PartRef::of(v),
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Recorded::Number(x) | Recorded::Value(&Value::Number(x)) => Some(x),
            _ => None,
        }
    }
}

/// The index range of entries with time in `(t - w, t]`.
fn range_of<S: Slot>(entries: &VecDeque<S>, t: i64, w: i64) -> (usize, usize) {
    let start = t.saturating_sub(w);
    // A long window mostly holds nothing older than its start: no search.
    let lo = if entries.front().is_none_or(|e| e.time() > start) {
        0
    } else {
        entries.partition_point(|e| e.time() <= start)
    };
    // Events mostly come in time order: nothing is newer than `t`.
    let hi = if entries.back().is_none_or(|e| e.time() <= t) {
        entries.len()
    } else {
        entries.partition_point(|e| e.time() <= t)
    };
    (lo, hi.max(lo))
}

/// Places an entry by its time (after entries of the same time).
fn place<S: Slot>(entries: &mut VecDeque<S>, entry: S) {
    if entries.back().is_none_or(|e| e.time() <= entry.time()) {
        // In time order (the common case): it goes last.
        entries.push_back(entry);
    } else {
        let at = entries.partition_point(|e| e.time() <= entry.time());
        entries.insert(at, entry);
    }
}

/// Drops what no read can see any more: entries older than the newest
/// minus twice the window, and the oldest past the per-window cap.
fn trim<S: Slot>(entries: &mut VecDeque<S>, window_ms: i64) {
    let Some(newest) = entries.back().map(Slot::time) else { return };
    let keep_after = newest.saturating_sub(window_ms.saturating_mul(2));
    while entries.front().is_some_and(|e| e.time() <= keep_after) || entries.len() > MAX_ENTRIES_PER_WINDOW {
        entries.pop_front();
    }
}

impl Column {
    /// True when `value` can be stored without widening.
    fn holds(&self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Missing) | (Column::Values(_), _) => true,
            (Column::Numbers(_), Value::Number(x)) => !x.is_nan(),
            (Column::Stamps(_), Value::Timestamp(t)) => *t != i64::MIN,
            (Column::Texts(_), Value::Str(s)) => s.len() <= TEXT_MAX,
            _ => false,
        }
    }

    /// The narrowest column holding the current entries and `value`.
    fn widened_for(&self, value: &Value) -> Column {
        match (self, value) {
            (Column::Times(d), Value::Number(x)) if !x.is_nan() => Column::Numbers(d.iter().map(|&t| (t, f64::NAN)).collect()),
            (Column::Times(d), Value::Timestamp(t)) if *t != i64::MIN => Column::Stamps(d.iter().map(|&time| (time, i64::MIN)).collect()),
            (Column::Times(d), Value::Str(s)) if s.len() <= TEXT_MAX => Column::Texts(d.iter().map(|&time| (time, Text::NONE)).collect()),
            _ => Column::Values(with_entries!(self, d => d.iter().map(Slot::to_entry).collect())),
        }
    }

    /// Places an event; the column must hold its value. Only a column of
    /// full values keeps the value itself (a string's reference count
    /// goes up); the others copy what they keep of it.
    fn place(&mut self, time: i64, value: &Value) {
        match self {
            Column::Times(d) => place(d, time),
            Column::Numbers(d) => place(d, (time, if let Value::Number(x) = value { *x } else { f64::NAN })),
            Column::Stamps(d) => place(d, (time, if let Value::Timestamp(t) = value { *t } else { i64::MIN })),
            Column::Texts(d) => place(d, (time, text_of(value).unwrap_or(Text::NONE))),
            Column::Values(d) => place(d, Entry { time, value: value.clone() }),
        }
    }
}

impl Window {
    /// Places an event by its time (after entries of the same time) and
    /// drops what no read can see any more.
    ///
    /// The value is borrowed: a short string is copied into the window,
    /// so recording an event's card or customer id touches neither the
    /// event's string nor its reference count (an atomic write, and a
    /// full memory barrier on x86, on memory another thread may own).
    pub fn insert(&mut self, time: i64, value: &Value, window_ms: i64) {
        self.push(time, value);
        with_entries!(&mut self.column, d => trim(d, window_ms));
    }

    /// Places an event by its time, dropping nothing.
    fn push(&mut self, time: i64, value: &Value) {
        if !self.column.holds(value) {
            self.column = self.column.widened_for(value);
        }
        self.column.place(time, value);
    }

    /// True when no read at `now` or later can see any entry.
    pub fn is_idle(&self, now: i64, window_ms: i64) -> bool {
        self.newest().is_none_or(|t| t <= now.saturating_sub(window_ms.saturating_mul(2)))
    }

    /// The newest entry's time, if any.
    pub fn newest(&self) -> Option<i64> {
        with_entries!(&self.column, d => d.back().map(Slot::time))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        with_entries!(&self.column, d => d.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, oldest first, as full values (for snapshots: a cold
    /// path).
    pub fn entries(&self) -> Vec<Entry> {
        with_entries!(&self.column, d => d.iter().map(Slot::to_entry).collect())
    }

    /// A window holding exactly these entries, which must be sorted by
    /// time (a snapshot holds them so); `None` when they are not.
    pub fn from_sorted(entries: Vec<Entry>) -> Option<Window> {
        if !entries.windows(2).all(|p| p.first().map(|a| a.time) <= p.get(1).map(|b| b.time)) {
            return None;
        }
        let mut window = Window::default();
        for e in entries {
            window.push(e.time, &e.value);
        }
        Some(window)
    }

    /// Calls `each` with the value of every entry in `lo..hi`, taken from
    /// `source`, oldest first, skipping missing ones.
    fn each_value<'a>(&'a self, lo: usize, hi: usize, source: ValueSource, mut each: impl FnMut(Recorded<'a>)) {
        match source {
            ValueSource::Recorded => with_entries!(&self.column, d => d.range(lo..hi).filter_map(Slot::recorded).for_each(&mut each)),
            ValueSource::Time => with_entries!(&self.column, d => d.range(lo..hi).for_each(|e| each(Recorded::Stamp(e.time())))),
        }
    }

    /// The newest value in entries `lo..hi`, taken from `source`, that is
    /// not missing.
    fn last_value(&self, lo: usize, hi: usize, source: ValueSource) -> Option<Recorded<'_>> {
        match source {
            ValueSource::Recorded => with_entries!(&self.column, d => d.range(lo..hi).rev().find_map(Slot::recorded)),
            // Entries are sorted by time: the newest is the last.
            ValueSource::Time => with_entries!(&self.column, d => d.range(lo..hi).next_back().map(|e| Recorded::Stamp(e.time()))),
        }
    }
}

/// Where a read takes each entry's value from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueSource {
    /// The value the entry recorded.
    Recorded,
    /// The entry's time, as a timestamp: for a velocity of the event's own
    /// time, which reads a lane that may record some other value (see
    /// `VelocityIr::times_only`).
    Time,
}

/// Reads an aggregate over a window's entries in `(t - w, t]`, each entry's
/// value taken from `source`, plus the current event's value when `current`
/// is given (it qualifies and is not excluded). `last` never reads the
/// current event.
pub fn aggregate(agg: AggKind, window: Option<&Window>, t: i64, w: i64, source: ValueSource, current: Option<&Value>) -> Value {
    let empty = Window::default();
    let window = window.unwrap_or(&empty);
    let (lo, hi) = with_entries!(&window.column, d => range_of(d, t, w));
    match agg {
        // `count()` counts events: a missing value counts too.
        AggKind::Count => count_value(hi - lo + usize::from(current.is_some())),
        AggKind::Last => window.last_value(lo, hi, source).map_or(Value::Missing, Recorded::to_value),
        AggKind::CountDistinct => {
            let mut distinct = Distinct::default();
            window.each_value(lo, hi, source, |r| distinct.add(r.part()));
            // A missing value has no part.
            distinct.add(current.and_then(PartRef::of));
            count_value(distinct.count())
        }
        _ => {
            let mut fold = Fold::new(agg);
            window.each_value(lo, hi, source, |r| fold.add(r));
            if let Some(v) = current.filter(|v| !v.is_missing()) {
                fold.add(Recorded::Value(v));
            }
            fold.finish()
        }
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn count_value(n: usize) -> Value {
    Value::Number(n as f64)
}

/// The distinct parts `count_distinct` has seen: checked linearly while
/// they fit on the stack (on the mostly small windows this beats a hash
/// set, and allocates nothing), then in a set.
#[derive(Default)]
struct Distinct<'a> {
    few: SmallVec<[PartRef<'a>; Distinct::SMALL]>,
    many: Option<HashSet<PartRef<'a>>>,
}

impl<'a> Distinct<'a> {
    /// More distinct parts than this go to a hash set.
    const SMALL: usize = 16;

    /// Adds a part (`None`, a value with no part, is left out).
    fn add(&mut self, part: Option<PartRef<'a>>) {
        let Some(part) = part else { return };
        if let Some(set) = self.many.as_mut() {
            set.insert(part);
        } else if !self.few.contains(&part) {
            if self.few.len() < Distinct::SMALL {
                self.few.push(part);
            } else {
                let mut set: HashSet<PartRef<'a>> = self.few.drain(..).collect();
                set.insert(part);
                self.many = Some(set);
            }
        }
    }

    /// How many distinct parts.
    fn count(&self) -> usize {
        self.many.as_ref().map_or(self.few.len(), HashSet::len)
    }
}

/// `sum`, `avg`, `min` or `max`, fed the window's values (missing ones
/// left out) oldest first, then the current event's.
struct Fold<'a> {
    agg: AggKind,
    /// `sum` and `avg`: the numbers' sum and count.
    sum: f64,
    n: usize,
    /// `min` and `max`: the best value so far.
    best: Option<Recorded<'a>>,
}

impl<'a> Fold<'a> {
    fn new(agg: AggKind) -> Fold<'a> {
        Fold { agg, sum: 0.0, n: 0, best: None }
    }

    fn add(&mut self, r: Recorded<'a>) {
        match self.agg {
            AggKind::Sum | AggKind::Avg => {
                if let Some(x) = r.number() {
                    self.sum += x;
                    self.n += 1;
                }
            }
            AggKind::Min | AggKind::Max => {
                let want = if self.agg == AggKind::Min { Ordering::Less } else { Ordering::Greater };
                self.best = match self.best {
                    Some(b) if order(r, b) != Some(want) => Some(b),
                    _ => Some(r),
                };
            }
            AggKind::Count | AggKind::Last | AggKind::CountDistinct => {}
        }
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn finish(self) -> Value {
        match self.agg {
            AggKind::Sum => Value::number(self.sum),
            AggKind::Avg if self.n == 0 => Value::Missing,
            AggKind::Avg => Value::number(self.sum / self.n as f64),
            AggKind::Min | AggKind::Max => self.best.map_or(Value::Missing, Recorded::to_value),
            AggKind::Count | AggKind::Last | AggKind::CountDistinct => Value::Missing,
        }
    }
}

/// A number's bits as a key or distinct part: `-0` counts as `0`.
fn number_bits(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

/// What `min` and `max` compare: values of one type are ordered, values
/// of two types are not.
fn order(a: Recorded<'_>, b: Recorded<'_>) -> Option<Ordering> {
    match (Ordered::of(a), Ordered::of(b)) {
        (Ordered::Number(x), Ordered::Number(y)) => x.partial_cmp(&y),
        (Ordered::Str(x), Ordered::Str(y)) => Some(x.cmp(y)),
        (Ordered::Timestamp(x), Ordered::Timestamp(y)) | (Ordered::Duration(x), Ordered::Duration(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

/// A recorded value as `min` and `max` compare it.
enum Ordered<'a> {
    Number(f64),
    Timestamp(i64),
    Duration(i64),
    Str(&'a [u8]),
    Unordered,
}

impl<'a> Ordered<'a> {
    fn of(r: Recorded<'a>) -> Ordered<'a> {
        match r {
            Recorded::Number(x) | Recorded::Value(&Value::Number(x)) => Ordered::Number(x),
            Recorded::Stamp(t) | Recorded::Value(&Value::Timestamp(t)) => Ordered::Timestamp(t),
            Recorded::Value(Value::Duration(d)) => Ordered::Duration(*d),
            Recorded::Text(b) => Ordered::Str(b),
            Recorded::Value(Value::Str(s)) => Ordered::Str(s.as_bytes()),
            Recorded::Value(_) => Ordered::Unordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_distinct(values: &[Value]) -> Value {
        let mut distinct = Distinct::default();
        values.iter().for_each(|v| distinct.add(PartRef::of(v)));
        count_value(distinct.count())
    }

    #[test]
    fn count_distinct_past_the_small_vector() {
        let values: Vec<Value> = (0..200).map(|i| Value::Number(f64::from(i % 70))).collect();
        assert_eq!(count_distinct(&values), Value::Number(70.0));
        let few: Vec<Value> = ["a", "b", "a"].iter().map(|s| Value::str(s)).collect();
        assert_eq!(count_distinct(&few), Value::Number(2.0));
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
            let value = p.to_value();
            assert_eq!(KeyRef::of(&value), Some(p.as_key_ref()), "borrowed, {p:?} is itself");
            assert_eq!(KeyPart::of(&value), Some(p));
        }
    }

    #[test]
    fn windows_read_the_half_open_range() {
        let mut w = Window::default();
        for t in [10, 20, 20, 30] {
            w.insert(t, &Value::Number(1.0), 1_000);
        }
        assert_eq!(aggregate(AggKind::Count, Some(&w), 30, 10, ValueSource::Recorded, None), Value::Number(1.0));
        assert_eq!(aggregate(AggKind::Count, Some(&w), 30, 11, ValueSource::Recorded, None), Value::Number(3.0));
        assert_eq!(aggregate(AggKind::Count, Some(&w), 20, 100, ValueSource::Recorded, Some(&Value::Missing)), Value::Number(4.0));
    }

    const AGGS: [AggKind; 7] =
        [AggKind::Count, AggKind::CountDistinct, AggKind::Sum, AggKind::Avg, AggKind::Min, AggKind::Max, AggKind::Last];

    /// The aggregate recomputed from a plain list of entries (sorted by
    /// time, ties in recording order), the way the SPEC states it.
    fn reference(agg: AggKind, entries: &[Entry], t: i64, w: i64, current: Option<&Value>) -> Value {
        let inside: Vec<&Value> = entries.iter().filter(|e| e.time > t.saturating_sub(w) && e.time <= t).map(|e| &e.value).collect();
        if agg == AggKind::Last {
            return inside.iter().rev().find(|v| !v.is_missing()).map_or(Value::Missing, |v| (*v).clone());
        }
        if agg == AggKind::Count {
            return count_value(inside.len() + usize::from(current.is_some()));
        }
        let values: Vec<&Value> = inside.into_iter().chain(current).filter(|v| !v.is_missing()).collect();
        match agg {
            AggKind::CountDistinct => {
                let mut seen: Vec<PartRef<'_>> = Vec::new();
                for p in values.iter().filter_map(|v| PartRef::of(v)) {
                    if !seen.contains(&p) {
                        seen.push(p);
                    }
                }
                count_value(seen.len())
            }
            AggKind::Sum | AggKind::Avg => {
                let numbers: Vec<f64> = values.iter().filter_map(|v| if let Value::Number(x) = v { Some(*x) } else { None }).collect();
                let sum = numbers.iter().fold(0.0, |a, x| a + x);
                if agg == AggKind::Sum {
                    Value::number(sum)
                } else if numbers.is_empty() {
                    Value::Missing
                } else {
                    Value::number(sum / numbers.len() as f64)
                }
            }
            _ => {
                let want = if agg == AggKind::Min { Ordering::Less } else { Ordering::Greater };
                let mut best: Option<&Value> = None;
                for v in values {
                    best = match best {
                        Some(b) if order(Recorded::Value(v), Recorded::Value(b)) != Some(want) => Some(b),
                        _ => Some(v),
                    };
                }
                best.cloned().unwrap_or(Value::Missing)
            }
        }
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            4 => Just(Value::Missing),
            4 => (-3i32..4).prop_map(|n| Value::Number(f64::from(n) / 2.0)),
            1 => Just(Value::Number(-0.0)),
            1 => Just(Value::Number(f64::NAN)),
            3 => (0i64..5).prop_map(Value::Timestamp),
            1 => Just(Value::Timestamp(i64::MIN)),
            1 => (0i64..5).prop_map(Value::Duration),
            2 => "[ab]{1,2}".prop_map(|s| Value::str(&s)),
            // Around the longest string a window keeps inline.
            1 => "[ab]{22,24}".prop_map(|s| Value::str(&s)),
            1 => Just(Value::str("")),
            1 => Just(Value::Bool(true)),
        ]
    }

    fn text_or_missing() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            1 => Just(Value::Missing),
            4 => "[ab]{0,3}".prop_map(|s| Value::str(&s)),
            1 => "[aé]{11,12}".prop_map(|s| Value::str(&s)),
        ]
    }

    proptest::proptest! {
        /// Whatever mix of values a window records (so whichever column
        /// it ends in, after any widening), every aggregate reads what the
        /// plain list of its entries gives, and the entries come back.
        #[test]
        fn compact_columns_read_like_a_plain_list(
            first_kind in 0usize..5,
            // Half the windows record only strings and missing values, so
            // the inline text column is read as much as the others.
            events in proptest::prop_oneof![
                proptest::collection::vec((0i64..40, any_value()), 0..40),
                proptest::collection::vec((0i64..40, text_or_missing()), 0..40),
            ],
            reads in proptest::collection::vec((0i64..45, 1i64..30, proptest::option::of(any_value())), 1..12),
        ) {
            let mut window = Window::default();
            let mut plain: Vec<Entry> = Vec::new();
            // Start some windows with a run of one kind, so each column is
            // exercised before it widens.
            let lead: Vec<(i64, Value)> = (0..3).map(|i| (i, match first_kind {
                0 => Value::Missing,
                1 => Value::Number(f64::from(i32::try_from(i).unwrap_or(0))),
                2 => Value::Timestamp(i),
                3 => Value::str(if i == 1 { "é" } else { "x" }),
                _ => Value::str(&"y".repeat(TEXT_MAX + 1)),
            })).collect();
            for (time, value) in lead.into_iter().chain(events) {
                window.insert(time, &value, 1_000);
                let at = plain.partition_point(|e| e.time <= time);
                plain.insert(at, Entry { time, value });
            }
            let back: Vec<Entry> = window.entries();
            proptest::prop_assert_eq!(back.len(), plain.len());
            for (a, b) in back.iter().zip(&plain) {
                proptest::prop_assert_eq!(a.time, b.time);
                // NaN numbers compare unequal to themselves: compare bits.
                proptest::prop_assert_eq!(format!("{:?}", a.value), format!("{:?}", b.value));
            }
            // Read by time, every entry's value is its time, whatever it
            // recorded.
            let timed: Vec<Entry> = plain.iter().map(|e| Entry { time: e.time, value: Value::Timestamp(e.time) }).collect();
            for (t, w, current) in reads {
                for agg in AGGS {
                    let got = aggregate(agg, Some(&window), t, w, ValueSource::Recorded, current.as_ref());
                    let want = reference(agg, &plain, t, w, current.as_ref());
                    proptest::prop_assert_eq!(format!("{got:?}"), format!("{want:?}"), "{:?} at {} over {}", agg, t, w);
                    let got = aggregate(agg, Some(&window), t, w, ValueSource::Time, current.as_ref());
                    let want = reference(agg, &timed, t, w, current.as_ref());
                    proptest::prop_assert_eq!(format!("{got:?}"), format!("{want:?}"), "{:?} by time at {} over {}", agg, t, w);
                }
            }
        }
    }

    #[test]
    fn columns_start_narrow_and_widen_once() {
        let mut w = Window::default();
        w.insert(1, &Value::Missing, 100);
        assert!(matches!(w.column, Column::Times(_)));
        w.insert(2, &Value::Number(3.0), 100);
        assert!(matches!(w.column, Column::Numbers(_)));
        w.insert(3, &Value::Timestamp(9), 100);
        assert!(matches!(w.column, Column::Values(_)));
        let mut s = Window::default();
        s.insert(1, &Value::Timestamp(5), 100);
        assert!(matches!(s.column, Column::Stamps(_)));
        s.insert(2, &Value::Timestamp(i64::MIN), 100);
        assert!(matches!(s.column, Column::Values(_)));
        assert_eq!(s.entries().into_iter().map(|e| e.value).collect::<Vec<_>>(), vec![Value::Timestamp(5), Value::Timestamp(i64::MIN)]);
        let mut t = Window::default();
        t.insert(1, &Value::Missing, 100);
        t.insert(2, &Value::str(&"a".repeat(TEXT_MAX)), 100);
        assert!(matches!(t.column, Column::Texts(_)));
        t.insert(3, &Value::str(""), 100);
        assert!(matches!(t.column, Column::Texts(_)));
        t.insert(4, &Value::str(&"b".repeat(TEXT_MAX + 1)), 100);
        assert!(matches!(t.column, Column::Values(_)));
        let values: Vec<Value> = t.entries().into_iter().map(|e| e.value).collect();
        assert_eq!(values, vec![Value::Missing, Value::str(&"a".repeat(TEXT_MAX)), Value::str(""), Value::str(&"b".repeat(TEXT_MAX + 1))]);
    }
}
