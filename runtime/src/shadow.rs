//! Shadow runs: a candidate rule set decides the same events as the active
//! one; its decisions are compared and counted, never returned.

use crate::decide::{evaluate, Recording, ScoreSource, Scratch};
use crate::decision::Decision;
use crate::deployment::{Deployment, VersionId};
use crate::record::Record;
use crate::store::VelocityStore;
use kensa_compiler::ir::SetData;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// What a shadow candidate decided, compared with the active version.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowReport {
    /// The candidate's version.
    pub version: VersionId,
    /// Events the candidate decided.
    pub decisions: u64,
    /// Events where its outcome or its matched rules differ from the
    /// active decision.
    pub differences: u64,
    /// Decisions per pair of outcomes: (active, candidate) -> count.
    pub pairs: BTreeMap<(String, String), u64>,
    /// The latest differing decisions, oldest first (at most the engine's
    /// `shadow_samples`).
    pub samples: Vec<ShadowDifference>,
}

/// One event the candidate decided differently.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowDifference {
    /// What the active version decided (and `decide` returned).
    pub active: Decision,
    /// What the candidate would have decided.
    pub candidate: Decision,
}

#[derive(Debug, Default)]
struct Tally {
    decisions: u64,
    differences: u64,
    pairs: BTreeMap<(Arc<str>, Arc<str>), u64>,
    samples: VecDeque<ShadowDifference>,
}

/// A running candidate with its lists and its own velocity state.
pub(crate) struct Shadow {
    deployment: Arc<Deployment>,
    lists: Vec<Arc<SetData>>,
    /// The state of the velocities production does not record.
    own: Arc<VelocityStore>,
    /// Shared by every copy of this shadow made for a list replacement.
    tally: Arc<Mutex<Tally>>,
    samples: usize,
}

impl Shadow {
    pub(crate) fn new(deployment: Arc<Deployment>, lists: Vec<Arc<SetData>>, own: VelocityStore, samples: usize) -> Shadow {
        Shadow { deployment, lists, own: Arc::new(own), tally: Arc::default(), samples }
    }

    pub(crate) fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    pub(crate) fn lists(&self) -> &[Arc<SetData>] {
        &self.lists
    }

    /// The same candidate, tally and state, with other lists.
    pub(crate) fn with_lists(&self, lists: Vec<Arc<SetData>>) -> Shadow {
        Shadow {
            deployment: Arc::clone(&self.deployment),
            lists,
            own: Arc::clone(&self.own),
            tally: Arc::clone(&self.tally),
            samples: self.samples,
        }
    }

    /// Decides `record` as the candidate and compares with `active`.
    /// Records into the candidate's own windows unless a dry run.
    pub(crate) fn decide(&self, record: &Record, score: ScoreSource<'_>, active: &Decision, dry_run: bool, s: &mut Scratch) {
        let record = record.in_layout(&self.deployment.schema);
        // The candidate's own windows are read by nothing else in between.
        let recording = if dry_run { Recording::Deferred } else { Recording::WithReads };
        let candidate = evaluate(&self.deployment, &self.lists, &record, score, recording, false, s);
        let differs = candidate.outcome != active.outcome || candidate.matched != active.matched;
        let mut tally = self.tally.lock();
        tally.decisions += 1;
        *tally.pairs.entry((Arc::clone(&active.outcome), Arc::clone(&candidate.outcome))).or_default() += 1;
        if differs {
            tally.differences += 1;
            if self.samples > 0 {
                if tally.samples.len() == self.samples {
                    tally.samples.pop_front();
                }
                tally.samples.push_back(ShadowDifference { active: active.clone(), candidate });
            }
        }
    }

    pub(crate) fn report(&self) -> ShadowReport {
        let tally = self.tally.lock();
        ShadowReport {
            version: self.deployment.version(),
            decisions: tally.decisions,
            differences: tally.differences,
            pairs: tally.pairs.iter().map(|((a, c), n)| ((a.to_string(), c.to_string()), *n)).collect(),
            samples: tally.samples.iter().cloned().collect(),
        }
    }
}
