//! The in-process velocity store: every recorded series, by key, shared by
//! every thread and every deployed version of an engine.
//!
//! Layout. Velocities with the same key fields form a [`SeriesGroup`]; its
//! keys are spread over [`SHARDS`] shards, each a hash table behind its own
//! mutex, so threads deciding different keys rarely meet. A key's entry holds
//! one [`Window`] per *lane*: a lane is one series (what a velocity records:
//! its `of` expression, key, window and filter, see `VelocityIr::series`).
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
//! Lock order: a shard, then its group's lane table. Registering a lane takes
//! the lane table alone; nothing takes a shard while holding the lane table.

pub mod snapshot;
mod stored_key;

use crate::velocity::{KeyPart, Window};
use stored_key::StoredKey;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use hashbrown::DefaultHashBuilder;
use kensa_compiler::value::Value;
use parking_lot::Mutex;
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
    fn is(&self, hash: u64, key: &[KeyPart]) -> bool {
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
    pub fn hash(&self, key: &[KeyPart]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn shard(&self, hash: u64) -> Option<&Mutex<Shard>> {
        // The table uses the low bits (bucket) and the top seven (tag): the
        // shard takes bits from the middle.
        let i = usize::try_from((hash >> 32) % SHARDS as u64).unwrap_or(0);
        self.shards.get(i)
    }

    /// Runs `read` on the windows of `key` (by lane; `None` when nothing was
    /// ever recorded for it), with its shard locked.
    pub fn read<R>(&self, hash: u64, key: &[KeyPart], read: impl FnOnce(Option<&[Window]>) -> R) -> R {
        let Some(shard) = self.shard(hash) else { return read(None) };
        let shard = shard.lock();
        read(shard.table.find(hash, |e| e.is(hash, key)).map(|e| e.windows.as_slice()))
    }

    /// Records an event into several lanes at once, `(lane, window_ms,
    /// value)` each; `items` is left empty. The key is copied only when new.
    pub fn record(&self, hash: u64, key: &[KeyPart], time: i64, items: &mut Vec<(usize, i64, Value)>) {
        if !items.is_empty() {
            self.read_then_record(hash, key, time, items, |_, _| ());
        }
    }

    /// Runs `read` on the windows of `key` (as [`SeriesGroup::read`] does),
    /// then records the items `read` leaves in `items` (as
    /// [`SeriesGroup::record`] does): one lock and one lookup serve both.
    /// The key gets an entry even when nothing is left to record, so call
    /// this only for an event that records.
    pub fn read_then_record<R>(
        &self,
        hash: u64,
        key: &[KeyPart],
        time: i64,
        items: &mut Vec<(usize, i64, Value)>,
        read: impl FnOnce(Option<&[Window]>, &mut Vec<(usize, i64, Value)>) -> R,
    ) -> R {
        let Some(shard) = self.shard(hash) else {
            let answer = read(None, items);
            items.clear();
            return answer;
        };
        let mut guard = shard.lock();
        let shard = &mut *guard;
        let entry = match shard.table.entry(hash, |e| e.is(hash, key), |e| e.hash) {
            TableEntry::Occupied(o) => o.into_mut(),
            TableEntry::Vacant(v) => v.insert(KeyEntry { hash, key: StoredKey::of(key), windows: LaneWindows::new() }).into_mut(),
        };
        let answer = read(Some(&entry.windows), items);
        // Grown once, to the highest lane recorded (a new key records all
        // its lanes at once).
        let lanes = items.iter().map(|&(lane, _, _)| lane + 1).max().unwrap_or(0);
        if entry.windows.len() < lanes {
            entry.windows.resize_with(lanes, Window::default);
        }
        for (lane, window_ms, value) in items.drain(..) {
            if let Some(w) = entry.windows.get_mut(lane) {
                w.insert(time, value, window_ms);
            }
            shard.recorded += 1;
        }
        shard.newest = shard.newest.max(time);
        if shard.recorded >= shard.next_sweep {
            let windows_ms: Vec<i64> = self.lanes.lock().iter().map(|l| l.window_ms).collect();
            sweep(shard, &windows_ms);
            let keys = u64::try_from(shard.table.len()).unwrap_or(u64::MAX);
            shard.next_sweep = shard.recorded + SWEEP_EVERY.max(keys.saturating_mul(8));
        }
        answer
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
