//! Counters an embedding host reads: decisions per outcome, per-rule hits,
//! invalid events, swaps, live versions.
//!
//! Deciding only increments relaxed atomics of its own version. A version's
//! counts are folded into the engine's totals when it is retired (dropped),
//! and a [`Counters`] snapshot adds the totals to the counts of the versions
//! still alive, so no count is lost or counted twice across a swap. (A
//! version being dropped at the very moment of a snapshot may be missed by
//! that one snapshot; the next one has it.)

use crate::deployment::Deployment;
use kensa_compiler::ir::Program;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};

/// A snapshot of an engine's counters since it was built.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Decisions made (dry runs included, shadow decisions not).
    pub decisions: u64,
    /// Events that could not be decoded.
    pub invalid_events: u64,
    /// Successful deploys of an active rule set after the first.
    pub swaps: u64,
    /// Successful list replacements.
    pub list_swaps: u64,
    /// Deploys and list replacements that were rejected.
    pub failed_updates: u64,
    /// Versions still in memory: the active one and retired ones that
    /// decisions in flight still hold.
    pub live_versions: usize,
    /// Decisions per outcome name (`none` included).
    pub outcomes: BTreeMap<String, u64>,
    /// Matches per rule id.
    pub rule_hits: BTreeMap<String, u64>,
}

/// One version's counts. Every decision has exactly one outcome, so the
/// number of decisions is the sum of the outcome counts (one atomic
/// increment a decision fewer, and a snapshot never sees the two disagree).
#[derive(Debug)]
pub(crate) struct VersionCounters {
    /// By outcome rank; the last one is `none`.
    outcomes: Box<[AtomicU64]>,
    /// By rule index.
    rules: Box<[AtomicU64]>,
}

impl VersionCounters {
    pub(crate) fn new(outcomes: usize, rules: usize) -> VersionCounters {
        VersionCounters {
            outcomes: (0..=outcomes).map(|_| AtomicU64::new(0)).collect(),
            rules: (0..rules).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Counts one decision: its outcome rank (`None` for `none`) and the
    /// indices of its matched rules.
    pub(crate) fn count(&self, outcome: Option<usize>, matched: &[usize]) {
        let none = self.outcomes.len().saturating_sub(1);
        if let Some(c) = self.outcomes.get(outcome.unwrap_or(none)) {
            c.fetch_add(1, Relaxed);
        }
        for &i in matched {
            if let Some(c) = self.rules.get(i) {
                c.fetch_add(1, Relaxed);
            }
        }
    }

    /// Adds these counts to `into`, by outcome name and rule id.
    fn add_to(&self, program: &Program, outcome_names: &[Arc<str>], into: &mut Totals) {
        let none = kensa_compiler::outcomes::NONE_OUTCOME.0;
        for (rank, c) in self.outcomes.iter().enumerate() {
            let n = c.load(Relaxed);
            into.decisions += n;
            if n > 0 {
                let name = outcome_names.get(rank).map_or(none, |s| &**s);
                *into.outcomes.entry(name.to_string()).or_default() += n;
            }
        }
        for (rule, c) in program.rules.iter().zip(self.rules.iter()) {
            let n = c.load(Relaxed);
            if n > 0 {
                *into.rule_hits.entry(rule.id.clone()).or_default() += n;
            }
        }
    }
}

#[derive(Debug, Default)]
struct Totals {
    decisions: u64,
    outcomes: BTreeMap<String, u64>,
    rule_hits: BTreeMap<String, u64>,
}

/// An engine's counters: the totals of retired versions, the live ones,
/// and the engine-wide events.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    live: AtomicUsize,
    invalid_events: AtomicU64,
    swaps: AtomicU64,
    list_swaps: AtomicU64,
    failed_updates: AtomicU64,
    retired: Mutex<Totals>,
    versions: Mutex<Vec<Weak<Deployment>>>,
}

impl Tracker {
    pub(crate) fn version_born(&self) {
        self.live.fetch_add(1, Relaxed);
    }

    /// Registers a live version so snapshots can read its counts.
    pub(crate) fn register(&self, d: &Arc<Deployment>) {
        let mut versions = self.versions.lock();
        versions.retain(|w| w.strong_count() > 0);
        versions.push(Arc::downgrade(d));
    }

    pub(crate) fn version_retired(&self, counts: &VersionCounters, program: &Program, outcome_names: &[Arc<str>]) {
        counts.add_to(program, outcome_names, &mut self.retired.lock());
        self.live.fetch_sub(1, Relaxed);
    }

    pub(crate) fn invalid_event(&self) {
        self.invalid_events.fetch_add(1, Relaxed);
    }

    pub(crate) fn swapped(&self) {
        self.swaps.fetch_add(1, Relaxed);
    }

    pub(crate) fn list_swapped(&self) {
        self.list_swaps.fetch_add(1, Relaxed);
    }

    pub(crate) fn update_failed(&self) {
        self.failed_updates.fetch_add(1, Relaxed);
    }

    /// Versions still in memory.
    pub(crate) fn live_versions(&self) -> usize {
        self.live.load(Relaxed)
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let mut totals = Totals::default();
        {
            let retired = self.retired.lock();
            totals.decisions = retired.decisions;
            totals.outcomes.clone_from(&retired.outcomes);
            totals.rule_hits.clone_from(&retired.rule_hits);
        }
        let live: Vec<Arc<Deployment>> = self.versions.lock().iter().filter_map(Weak::upgrade).collect();
        for d in &live {
            d.counters.add_to(&d.program, &d.outcome_names, &mut totals);
        }
        Counters {
            decisions: totals.decisions,
            invalid_events: self.invalid_events.load(Relaxed),
            swaps: self.swaps.load(Relaxed),
            list_swaps: self.list_swaps.load(Relaxed),
            failed_updates: self.failed_updates.load(Relaxed),
            live_versions: self.live_versions(),
            outcomes: totals.outcomes,
            rule_hits: totals.rule_hits,
        }
    }
}
