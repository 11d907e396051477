//! Deciding split into steps that run on different threads, one event after
//! another through each: a replay's pipeline.
//!
//! A decision reads its velocities key by key, and keys of different key
//! groups share no state. So the velocity work of one rule set can be cut
//! by binding (key group) into [`VelocityStep`]s, each reading and recording
//! only its own bindings' windows, and the rules run in a [`RuleStep`] once
//! every step has filled in the event's [`VelocityValues`]. Each step runs
//! on its own thread; events go through every step in the same order.
//!
//! INVARIANT (what makes the result that of [`Engine::decide`]): every
//! velocity step sees every event, in the order the events are decided, and
//! no two steps share a binding. A binding's windows are then read and
//! recorded in exactly the order a single thread would have, and no window
//! is read by a step that does not record it. The steps are built from one
//! deployment and keep it, so a deploy in between changes nothing for them.

use crate::decide::{read_velocities, run_rules, Bindings, Recording, ScoreSource, Scorer, Scratch};
use crate::decision::Decision;
use crate::deployment::Deployment;
use crate::record::Record;
use kensa_compiler::ir::SetData;
use kensa_compiler::value::Value;
use smallvec::SmallVec;
use std::sync::Arc;

/// One event's velocity values, filled in by the velocity steps and read
/// by the rule step. They travel with the event from thread to thread, so
/// a rule set's usual handful is kept inline: no allocation an event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VelocityValues {
    /// By velocity index; missing until a step fills it in.
    values: SmallVec<[Value; 12]>,
}

impl VelocityValues {
    /// The values, by velocity index in the program.
    pub fn as_slice(&self) -> &[Value] {
        &self.values
    }
}

/// A deployment's decision, cut into velocity steps and a rule step. Built
/// by [`Engine::pipeline`](crate::Engine::pipeline).
pub struct Pipeline {
    /// The velocity steps: run each on every event, in event order, on a
    /// thread of its own or one after another.
    pub velocity_steps: Vec<VelocityStep>,
    /// The rule step: run on every event once all velocity steps have.
    pub rules: RuleStep,
}

/// Reads and records the velocities of some of a deployment's bindings.
pub struct VelocityStep {
    deployment: Arc<Deployment>,
    lists: Arc<[Arc<SetData>]>,
    /// The binding indices this step owns.
    bindings: Vec<usize>,
    /// The velocities those bindings read.
    velocities: Vec<usize>,
    scratch: Scratch,
}

/// Runs the rules on a record whose velocity values are known.
pub struct RuleStep {
    deployment: Arc<Deployment>,
    lists: Arc<[Arc<SetData>]>,
    scorer: Option<Arc<dyn Scorer>>,
    scratch: Scratch,
}

impl Pipeline {
    /// Cuts `deployment` into at most `steps` velocity steps (at least one,
    /// even with no velocities), balancing them by how many velocities
    /// each reads: a binding's cost is mostly its key lookup and its
    /// windows. Bindings are handed out largest first, each to the
    /// lightest step so far.
    pub(crate) fn new(deployment: Arc<Deployment>, lists: Vec<Arc<SetData>>, scorer: Option<Arc<dyn Scorer>>, steps: usize) -> Pipeline {
        let lists: Arc<[Arc<SetData>]> = lists.into();
        let mut order: Vec<(usize, usize)> =
            deployment.bindings.iter().enumerate().map(|(b, binding)| (binding.members.len() + 4, b)).collect();
        order.sort_by(|a, b| b.cmp(a));
        let mut owned: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); steps.max(1)];
        for (weight, b) in order {
            if let Some(lightest) = owned.iter_mut().min_by_key(|(w, _)| *w) {
                lightest.0 += weight;
                lightest.1.push(b);
            }
        }
        let velocity_steps = owned
            .into_iter()
            .filter(|(w, _)| *w > 0)
            .map(|(_, mut bindings)| {
                bindings.sort_unstable();
                let velocities = bindings
                    .iter()
                    .filter_map(|&b| deployment.bindings.get(b))
                    .flat_map(|binding| binding.members.iter().map(|m| m.velocity))
                    .collect();
                VelocityStep {
                    deployment: Arc::clone(&deployment),
                    lists: Arc::clone(&lists),
                    bindings,
                    velocities,
                    scratch: Scratch::default(),
                }
            })
            .collect();
        Pipeline { velocity_steps, rules: RuleStep { deployment, lists, scorer, scratch: Scratch::default() } }
    }
}

impl VelocityStep {
    /// Reads this step's velocities for `record` into `values` and records
    /// the event into their windows (SPEC section 8). A record of another
    /// schema is read by path.
    pub fn run(&mut self, record: &Record, values: &mut VelocityValues) {
        let d = &*self.deployment;
        let record = record.in_layout(&d.schema);
        self.scratch.prepare(d);
        read_velocities(d, &self.lists, &record, Recording::WithReads, Bindings::Only(&self.bindings), &mut self.scratch);
        values.values.resize_with(d.program.velocities.len(), Value::default);
        for &v in &self.velocities {
            if let (Some(slot), Some(read)) = (values.values.get_mut(v), self.scratch.velocities.get_mut(v)) {
                *slot = std::mem::take(read);
            }
        }
    }
}

impl RuleStep {
    /// The program this step decides with.
    pub fn program(&self) -> &kensa_compiler::ir::Program {
        &self.deployment.program
    }

    /// The decision on `record`, given the values every velocity step put
    /// in `values`; counted in the engine's counters like any decision.
    pub fn decide(&mut self, record: &Record, values: &VelocityValues) -> Decision {
        let d = &*self.deployment;
        let record = record.in_layout(&d.schema);
        let score = self.scorer.as_deref().map_or(ScoreSource::Field, ScoreSource::Host);
        run_rules(d, &self.lists, &record, &values.values, score, false, &mut self.scratch)
    }
}
