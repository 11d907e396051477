//! The in-process velocity store: every recorded series, by key, shared by
//! every thread and every deployed version of an engine.
//!
//! Layout. Velocities with the same key fields form a [`SeriesGroup`]; its
//! keys are spread over [`SHARDS`] shards, each a hash table behind its own
//! mutex, so threads deciding different keys rarely meet. A key's entry holds
//! one [`Window`] per *lane*: a lane is one series (what a velocity records:
//! its `of` expression, key and filter, see `VelocityIr::series`).
//! Lanes are registered by deployments and never removed, so a lane index
//! stays valid for as long as the group lives. A lane keeps its series for
//! the longest window it was registered with; velocities with the same
//! series and a window no longer than that, in one rule set or in two
//! versions of it, share it, each reading its own window: a deploy keeps
//! the windows of every velocity it did not change. Velocities that read
//! only their entries' times (`count()`) also read the lane of another
//! series recording the same events (see `deployment::bind`).
//!
//! Memory: windows drop what no read can see (see [`crate::velocity`]), and
//! keys whose windows have all gone idle are dropped by a sweep of their
//! shard every [`SWEEP_EVERY`] recordings into it, or every eight times as
//! many recordings as the shard has keys when that is more (so sweeping costs
//! O(1) a recording, amortised).
//!
//! Lock order: shards, then a group's lane table. A decision holds the
//! shards of all its keys at once ([`HeldKeys`]), taken in one order shared
//! by every thread (group address, then shard); everything else holds one
//! shard at a time. Registering a lane takes the lane table alone; nothing
//! takes a shard while holding a lane table.

pub mod snapshot;
mod stored_key;

use crate::velocity::{KeyRef, Window};
use stored_key::StoredKey;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use hashbrown::DefaultHashBuilder;
use kensa_compiler::value::Value;
use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;
use std::hash::BuildHasher;
use std::sync::Arc;

/// How many shards a series group's keys are spread over.
pub const SHARDS: usize = 16;

/// The fewest recordings into a shard between two sweeps of its idle keys.
pub const SWEEP_EVERY: u64 = 65_536;

/// What the store holds, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Distinct keys across series groups.
    pub keys: usize,
    /// Recorded entries across all windows.
    pub entries: usize,
}

/// Every series group of an engine (or of a shadow rule set's own
/// velocities). Cheap to share: deployments hold their groups directly and
/// never come back here on the decision path.
#[derive(Debug, Default)]
pub struct VelocityStore {
    groups: Mutex<Vec<Arc<SeriesGroup>>>,
}

/// One series in a group: what it records and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// The series (see `VelocityIr::series`).
    pub series: String,
    /// The longest window it is read over, in ms: it keeps what a read of
    /// that window needs (see [`crate::velocity`]).
    pub window_ms: i64,
}

/// The series recorded under one tuple of key fields.
#[derive(Debug)]
pub struct SeriesGroup {
    key_paths: Vec<String>,
    lanes: Mutex<Vec<Lane>>,
    shards: Box<[Mutex<Shard>]>,
    hasher: DefaultHashBuilder,
}

/// One key's windows, by lane (shorter when later lanes never recorded).
#[derive(Debug)]
struct KeyEntry {
    hash: u64,
    key: StoredKey,
    windows: LaneWindows,
}

/// A key's windows: kept inside the table entry for up to two lanes (a key
/// group with one or two velocities, the common case), so that finding the
/// key also finds its windows' headers, one cache miss fewer a lookup; more
/// lanes live in their own buffer.
type LaneWindows = SmallVec<[Window; 2]>;

impl KeyEntry {
    /// True when this is the entry of `key` (whose hash is `hash`): the
    /// stored hash first, which rules out nearly every other key without
    /// reading its parts.
    fn is(&self, hash: u64, key: &[KeyRef<'_>]) -> bool {
        self.hash == hash && self.key.matches(key)
    }
}

#[derive(Debug)]
struct Shard {
    table: HashTable<KeyEntry>,
    recorded: u64,
    next_sweep: u64,
    newest: i64,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard { table: HashTable::new(), recorded: 0, next_sweep: SWEEP_EVERY, newest: i64::MIN }
    }
}

impl VelocityStore {
    /// An empty store.
    pub fn new() -> VelocityStore {
        VelocityStore::default()
    }

    /// The group of these key fields, created when new.
    pub fn group(&self, key_paths: &[String]) -> Arc<SeriesGroup> {
        let mut groups = self.groups.lock();
        if let Some(g) = groups.iter().find(|g| g.key_paths == key_paths) {
            return Arc::clone(g);
        }
        let g = Arc::new(SeriesGroup {
            key_paths: key_paths.to_vec(),
            lanes: Mutex::new(Vec::new()),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: DefaultHashBuilder::default(),
        });
        groups.push(Arc::clone(&g));
        g
    }

    /// The group of these key fields, if one exists.
    pub fn find_group(&self, key_paths: &[String]) -> Option<Arc<SeriesGroup>> {
        self.groups.lock().iter().find(|g| g.key_paths == key_paths).cloned()
    }

    /// Every group, in creation order.
    pub fn groups(&self) -> Vec<Arc<SeriesGroup>> {
        self.groups.lock().clone()
    }

    /// How many keys and entries the store holds.
    pub fn stats(&self) -> StoreStats {
        let mut s = StoreStats::default();
        for g in self.groups() {
            for shard in g.shards.iter() {
                let shard = shard.lock();
                s.keys += shard.table.len();
                s.entries += shard.table.iter().flat_map(|e| e.windows.iter().map(Window::len)).sum::<usize>();
            }
        }
        s
    }

    /// Forgets every recorded event; groups and lanes stay registered.
    pub fn clear(&self) {
        for g in self.groups() {
            for shard in g.shards.iter() {
                *shard.lock() = Shard::default();
            }
        }
    }
}

impl SeriesGroup {
    /// The lane a velocity reading `need_ms` of `series` reads: the first
    /// registered lane of that series keeping at least `need_ms`, else a new
    /// one keeping `new_ms` (at least `need_ms`). Returns its index and the
    /// window it keeps.
    ///
    /// A lane's window never grows: a lane registered with a shorter window
    /// has already dropped entries a longer reader would need, so such a
    /// reader gets a lane of its own.
    pub fn lane(&self, series: &str, need_ms: i64, new_ms: i64) -> (usize, i64) {
        let mut lanes = self.lanes.lock();
        if let Some(found) = first_keeping(&lanes, series, need_ms) {
            return found;
        }
        let window_ms = new_ms.max(need_ms);
        lanes.push(Lane { series: series.to_string(), window_ms });
        (lanes.len() - 1, window_ms)
    }

    /// The lane [`SeriesGroup::lane`] would find for `series` and
    /// `need_ms`, if one is registered.
    pub fn find_lane(&self, series: &str, need_ms: i64) -> Option<(usize, i64)> {
        first_keeping(&self.lanes.lock(), series, need_ms)
    }

    /// The lane of exactly `series` and `window_ms` (a snapshot's lane),
    /// registered when new.
    pub fn exact_lane(&self, series: &str, window_ms: i64) -> usize {
        let mut lanes = self.lanes.lock();
        if let Some(i) = lanes.iter().position(|l| l.series == series && l.window_ms == window_ms) {
            return i;
        }
        lanes.push(Lane { series: series.to_string(), window_ms });
        lanes.len() - 1
    }

    /// Every lane, by index.
    pub fn lanes(&self) -> Vec<Lane> {
        self.lanes.lock().clone()
    }

    /// The hash of a key, computed once per event and group: it picks the
    /// shard and finds the key in it.
    pub fn hash(&self, key: &[KeyRef<'_>]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn shard(&self, hash: u64) -> Option<&Mutex<Shard>> {
        self.shards.get(self.shard_index(hash))
    }

    /// Records an event into several lanes at once, `(lane, window_ms,
    /// value)` each. The key is copied only when new.
    pub fn record(&self, hash: u64, key: &[KeyRef<'_>], time: i64, items: &[(usize, i64, &Value)]) {
        if items.is_empty() {
            return;
        }
        let Some(shard) = self.shard(hash) else { return };
        let mut guard = shard.lock();
        let bucket = guard.bucket_or_insert(hash, key);
        self.record_at(&mut guard, bucket, time, items);
    }

    fn shard_index(&self, hash: u64) -> usize {
        // The table uses the low bits (bucket) and the top seven (tag): the
        // shard takes bits from the middle.
        usize::try_from((hash >> 32) % SHARDS as u64).unwrap_or(0)
    }

    /// Records `items` into the entry in `bucket` of `shard`, one of this
    /// group's shards, locked by the caller; then sweeps the shard when a
    /// sweep is due.
    fn record_at(&self, shard: &mut Shard, bucket: usize, time: i64, items: &[(usize, i64, &Value)]) {
        let recorded = u64::try_from(items.len()).unwrap_or(u64::MAX);
        if let Some(entry) = shard.table.get_bucket_mut(bucket) {
            // Grown once, to the highest lane recorded (a new key records
            // all its lanes at once).
            let lanes = items.iter().map(|&(lane, _, _)| lane + 1).max().unwrap_or(0);
            if entry.windows.len() < lanes {
                entry.windows.resize_with(lanes, Window::default);
            }
            for &(lane, window_ms, value) in items {
                if let Some(w) = entry.windows.get_mut(lane) {
                    w.insert(time, value, window_ms);
                }
            }
        }
        shard.recorded += recorded;
        shard.newest = shard.newest.max(time);
        if shard.recorded >= shard.next_sweep {
            let windows_ms: Vec<i64> = self.lanes.lock().iter().map(|l| l.window_ms).collect();
            sweep(shard, &windows_ms);
            let keys = u64::try_from(shard.table.len()).unwrap_or(u64::MAX);
            shard.next_sweep = shard.recorded + SWEEP_EVERY.max(keys.saturating_mul(8));
        }
    }
}

impl Shard {
    /// The bucket of `key`'s entry (whose hash is `hash`), created when new.
    /// The key is copied only when new.
    fn bucket_or_insert(&mut self, hash: u64, key: &[KeyRef<'_>]) -> usize {
        match self.table.entry(hash, |e| e.is(hash, key), |e| e.hash) {
            TableEntry::Occupied(o) => o.bucket_index(),
            TableEntry::Vacant(v) => v.insert(KeyEntry { hash, key: StoredKey::of(key), windows: LaneWindows::new() }).bucket_index(),
        }
    }
}

/// One key for [`HeldKeys::lock`]: its group, its hash there and its
/// parts, and whether its entry is created when it has none (to record).
pub struct KeyRequest<'a> {
    /// The group whose windows are read.
    pub group: &'a SeriesGroup,
    /// The key's hash in that group ([`SeriesGroup::hash`]).
    pub hash: u64,
    /// The key's parts.
    pub key: &'a [KeyRef<'a>],
    /// Whether to create the key's entry when it has none.
    pub create: bool,
}

/// The entries of several keys, each in its own group, found with their
/// shards locked; the shards stay locked until this is dropped.
///
/// Every shard is locked first, in one order shared by every thread (by
/// group address, then shard: so two threads holding keys never wait for
/// each other in a cycle), and only then is every key looked up. Taking a
/// lock waits for every memory read before it (on x86 its atomic
/// instruction is a full barrier), so looking a key up between two locks
/// leaves its cache misses nothing to overlap with; with nothing between
/// the lookups, the processor waits for the misses of all the event's keys
/// at once instead of one key after another.
pub struct HeldKeys<'a> {
    /// By request.
    held: SmallVec<[HeldKey<'a>; 4]>,
}

struct HeldKey<'a> {
    group: &'a SeriesGroup,
    shard: MutexGuard<'a, Shard>,
    /// The key's entry; `None` when it has none (and was not created).
    bucket: Option<usize>,
}

impl<'a> HeldKeys<'a> {
    /// Locks the shards of every request and looks every key up. `None`
    /// when two requests fall in one shard of one group (locking it twice
    /// would wait forever): take such keys one at a time instead.
    pub fn lock(requests: &[KeyRequest<'a>]) -> Option<HeldKeys<'a>> {
        let mut order: SmallVec<[(usize, usize, usize); 4]> = requests
            .iter()
            .enumerate()
            .map(|(i, r)| (std::ptr::from_ref(r.group).addr(), r.group.shard_index(r.hash), i))
            .collect();
        order.sort_unstable();
        if order.iter().zip(order.iter().skip(1)).any(|(a, b)| (a.0, a.1) == (b.0, b.1)) {
            return None;
        }
        let mut guards: SmallVec<[Option<MutexGuard<'a, Shard>>; 4]> = requests.iter().map(|_| None).collect();
        for &(_, shard, i) in &order {
            let lock = requests.get(i).and_then(|r| r.group.shards.get(shard));
            if let (Some(lock), Some(slot)) = (lock, guards.get_mut(i)) {
                *slot = Some(lock.lock());
            }
        }
        let mut held: SmallVec<[HeldKey<'a>; 4]> = SmallVec::with_capacity(requests.len());
        for (r, guard) in requests.iter().zip(guards) {
            let mut shard = guard?;
            let bucket = if r.create {
                Some(shard.bucket_or_insert(r.hash, r.key))
            } else {
                shard.table.find_bucket_index(r.hash, |e| e.is(r.hash, r.key))
            };
            held.push(HeldKey { group: r.group, shard, bucket });
        }
        // Read each window's newest entry now, for the same reason: the
        // misses on the windows' buffers overlap here, where nothing
        // depends on them, instead of each stalling the read that needs it.
        for h in &held {
            if let Some(entry) = h.bucket.and_then(|b| h.shard.table.get_bucket(b)) {
                for w in &entry.windows {
                    std::hint::black_box(w.newest());
                }
            }
        }
        Some(HeldKeys { held })
    }

    /// The windows of request `i`'s key, by lane (`None` when nothing was
    /// ever recorded for it).
    pub fn windows(&self, i: usize) -> Option<&[Window]> {
        let h = self.held.get(i)?;
        h.shard.table.get_bucket(h.bucket?).map(|e| e.windows.as_slice())
    }

    /// Records `items` for request `i`'s key, as [`SeriesGroup::record`]
    /// does; the request must have asked for its entry to be created.
    pub fn record(&mut self, i: usize, time: i64, items: &[(usize, i64, &Value)]) {
        if let Some(HeldKey { group, shard, bucket: Some(bucket) }) = self.held.get_mut(i) {
            group.record_at(shard, *bucket, time, items);
        }
    }
}

/// The first lane of `series` keeping at least `need_ms`: its index and
/// window.
fn first_keeping(lanes: &[Lane], series: &str, need_ms: i64) -> Option<(usize, i64)> {
    lanes.iter().enumerate().find(|(_, l)| l.series == series && l.window_ms >= need_ms).map(|(i, l)| (i, l.window_ms))
}

fn sweep(shard: &mut Shard, windows_ms: &[i64]) {
    let now = shard.newest;
    shard
        .table
        .retain(|e| !e.windows.iter().zip(windows_ms).all(|(w, ms)| w.is_idle(now, *ms)));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn key(s: &str) -> Vec<KeyRef<'_>> {
        vec![KeyRef::Str(s)]
    }

    fn request<'a>(group: &'a SeriesGroup, key: &'a [KeyRef<'a>], create: bool) -> KeyRequest<'a> {
        KeyRequest { group, hash: group.hash(key), key, create }
    }

    #[test]
    fn held_keys_read_and_record_each_key_in_its_group() {
        let store = VelocityStore::new();
        let (a, b) = (store.group(&["ip".to_string()]), store.group(&["card".to_string()]));
        let (lane_a, _) = a.lane("of() by(ip) where()", 10, 10);
        let (lane_b, _) = b.lane("of(x) by(card) where()", 10, 10);
        let (ka, kb) = (key("10.0.0.1"), key("k1"));
        {
            let mut held = HeldKeys::lock(&[request(&a, &ka, true), request(&b, &kb, false)]).unwrap();
            assert_eq!(held.windows(0).map(<[Window]>::len), Some(0), "created, nothing recorded yet");
            assert!(held.windows(1).is_none(), "not created");
            held.record(0, 5, &[(lane_a, 10, &Value::Missing)]);
        }
        assert_eq!(store.stats(), StoreStats { keys: 1, entries: 1 });
        b.record(b.hash(&kb), &kb, 6, &[(lane_b, 10, &Value::Number(2.0))]);
        let held = HeldKeys::lock(&[request(&b, &kb, false), request(&a, &ka, false)]).unwrap();
        assert_eq!(held.windows(0).unwrap()[lane_b].entries(), vec![crate::velocity::Entry { time: 6, value: Value::Number(2.0) }]);
        assert_eq!(held.windows(1).unwrap()[lane_a].newest(), Some(5));
    }

    #[test]
    fn two_keys_in_one_shard_are_refused_rather_than_locked_twice() {
        let store = VelocityStore::new();
        let g = store.group(&["ip".to_string()]);
        let first = key("k0");
        let shard = g.shard_index(g.hash(&first));
        let name = (1..).map(|i| format!("k{i}")).find(|n| g.shard_index(g.hash(&key(n))) == shard).unwrap();
        let second = key(&name);
        assert!(HeldKeys::lock(&[request(&g, &first, true), request(&g, &second, true)]).is_none());
        assert_eq!(store.stats().keys, 0, "and nothing was created");
    }

    #[test]
    fn threads_holding_keys_in_opposite_orders_never_wait_for_each_other() {
        let store = Arc::new(VelocityStore::new());
        let (a, b) = (store.group(&["ip".to_string()]), store.group(&["card".to_string()]));
        let (done, finished) = std::sync::mpsc::channel();
        for thread in 0..4usize {
            let (a, b, done) = (Arc::clone(&a), Arc::clone(&b), done.clone());
            std::thread::spawn(move || {
                for i in 0..20_000usize {
                    let (na, nb) = (format!("a{}", (i * 7 + thread) % 64), format!("b{}", (i * 13 + thread) % 64));
                    let (ka, kb) = (key(&na), key(&nb));
                    // Half the threads name the groups in one order, half in the other.
                    let requests = if thread % 2 == 0 {
                        [request(&a, &ka, true), request(&b, &kb, true)]
                    } else {
                        [request(&b, &kb, true), request(&a, &ka, true)]
                    };
                    drop(HeldKeys::lock(&requests).unwrap());
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..4 {
            finished.recv_timeout(std::time::Duration::from_secs(60)).expect("threads holding keys deadlocked");
        }
    }
}
