//! A deployment: one version of a rule set, compiled and bound to the
//! velocity state it reads and writes. Immutable once built, shared by every
//! decision that started on it; its native code is freed when the last of
//! them is done (the `JitProgram` is dropped with it).

use crate::counters::{Tracker, VersionCounters};
use crate::record::Decoder;
use crate::store::{SeriesGroup, VelocityStore};
use kensa_compiler::ir::{Program, VelocityIr};
use kensa_compiler::jit::{JitError, JitProgram};
use kensa_compiler::Schema;
use std::sync::Arc;

/// Which evaluator runs the rules' conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Evaluator {
    /// Native code compiled with Cranelift (the default).
    #[default]
    Jit,
    /// The reference interpreter over the IR (`--no-jit`).
    Interpreter,
}

/// The id of a deployed version: 1 for an engine's first rule set, then one
/// more for every successful deploy (shadow deploys included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionId(pub u64);

impl std::fmt::Display for VersionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// One compiled version of a rule set.
pub struct Deployment {
    version: VersionId,
    pub(crate) program: Program,
    pub(crate) jit: Option<JitProgram>,
    pub(crate) schema: Arc<Schema>,
    decoder: Decoder,
    /// Rule ids, shared by every decision that names them.
    pub(crate) rule_ids: Vec<Arc<str>>,
    /// Outcome names by rank, shared likewise.
    pub(crate) outcome_names: Vec<Arc<str>>,
    pub(crate) none_name: Arc<str>,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) counters: VersionCounters,
    /// Where the counters go when this version is retired; `None` for a
    /// shadow candidate, whose counts are its own.
    tracker: Option<Arc<Tracker>>,
}

/// A program key group bound to the series group that holds its windows.
/// A shadow candidate may split one key group into two bindings: the
/// velocities it shares with production (read only) and its own.
pub(crate) struct Binding {
    /// The program's key group: which key this binding reads.
    pub key_group: usize,
    /// Where the windows live.
    pub group: Arc<SeriesGroup>,
    /// False for a shadow candidate's reads of production state.
    pub writable: bool,
    /// The velocities read through this binding.
    pub members: Vec<Member>,
}

/// One velocity of a binding.
pub(crate) struct Member {
    /// The velocity's index in the program.
    pub velocity: usize,
    /// Its lane in the series group.
    pub lane: usize,
    /// The window its lane keeps, in ms (at least the velocity's own):
    /// what recording into the lane trims to.
    pub lane_window_ms: i64,
    /// True for the first velocity of its lane in the binding: only it
    /// records, so a series two velocities share gets each event once.
    pub records: bool,
    /// Whether it reads the entries' times only (`VelocityIr::times_only`):
    /// then it reads them as its values, and when it records, it records
    /// a missing value (its lane keeps times only).
    pub times_only: bool,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment").field("version", &self.version).field("rules", &self.program.rules.len()).finish()
    }
}

/// Where a new deployment's velocities live.
pub(crate) enum VelocityHome<'a> {
    /// The engine's store: every velocity reads and records there.
    Production(&'a VelocityStore),
    /// A shadow candidate: velocities whose series production already
    /// records are read from there and never recorded; the others live in
    /// the candidate's own store.
    Shadow { production: &'a VelocityStore, own: &'a VelocityStore },
}

impl Deployment {
    /// Compiles `program` for `evaluator` and binds its velocities. When
    /// `previous` (the version it replaces) has the same schema, its schema
    /// is shared, so records built for it keep the fast path of `decide`.
    pub(crate) fn build(
        version: VersionId,
        program: Program,
        evaluator: Evaluator,
        home: VelocityHome<'_>,
        tracker: Option<Arc<Tracker>>,
        previous: Option<&Deployment>,
    ) -> Result<Deployment, JitError> {
        let jit = match evaluator {
            Evaluator::Jit => Some(JitProgram::compile(&program)?),
            Evaluator::Interpreter => None,
        };
        let schema = match previous {
            Some(p) if *p.schema == program.schema => Arc::clone(&p.schema),
            _ => Arc::new(program.schema.clone()),
        };
        let decoder = Decoder::new(Arc::clone(&schema));
        let bindings = bind(&program, &home, previous);
        let counters = VersionCounters::new(program.outcomes.list.len(), program.rules.len());
        if let Some(t) = &tracker {
            t.version_born();
        }
        Ok(Deployment {
            version,
            rule_ids: program.rules.iter().map(|r| Arc::from(r.id.as_str())).collect(),
            outcome_names: program.outcomes.list.iter().map(|o| Arc::from(o.name.as_str())).collect(),
            none_name: Arc::from(kensa_compiler::outcomes::NONE_OUTCOME.0),
            program,
            jit,
            schema,
            decoder,
            bindings,
            counters,
            tracker,
        })
    }

    /// The version id.
    pub fn version(&self) -> VersionId {
        self.version
    }

    /// The lowered rule set.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The schema of this version's records.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The event decoder of this version's schema.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some(t) = &self.tracker {
            t.version_retired(&self.counters, &self.program, &self.outcome_names);
        }
    }
}

/// Binds every velocity of `program` to its series group and lane.
///
/// Velocities that read recorded values are bound first, each to a lane of
/// its series (shared with the others of that series). A times-only
/// velocity (`count()`, `last(event.time)`) then reads a lane that records
/// the same events (same key and filter) over a window at least as long as
/// its own, whatever value it records: first one the active version
/// records (so a deploy keeps its windows, also when the velocity that
/// shared the lane is gone; it then records missing values there, which
/// every other aggregate skips), then one a velocity of this rule set
/// records; only when there is none does it get a lane of its own, which
/// records times only. So `count() by card.hash over 60s` beside
/// `count_distinct(customer.id) by card.hash over 1h` reads the one lane.
///
/// `previous` is the active version this one replaces (or runs beside, for
/// a shadow candidate).
fn bind(program: &Program, home: &VelocityHome<'_>, previous: Option<&Deployment>) -> Vec<Binding> {
    let mut bindings: Vec<Binding> = Vec::new();
    let velocities = &program.velocities;
    let values_first = (0..velocities.len())
        .filter(|&i| velocities.get(i).is_some_and(|v| !v.times_only))
        .chain((0..velocities.len()).filter(|&i| velocities.get(i).is_some_and(|v| v.times_only)));
    for i in values_first {
        let Some(v) = velocities.get(i) else { continue };
        let paths = key_paths(program, v);
        let shared = if v.times_only {
            live_lane_of_events(previous, home, &paths, v).or_else(|| program_lane_of_events(&bindings, program, v))
        } else {
            None
        };
        let LaneChoice { group, lane, lane_window_ms, writable } = match shared {
            Some(choice) => choice,
            None => lane_of_series(program, home, &paths, v),
        };
        let at = bindings.iter().position(|b| b.key_group == v.key_group && Arc::ptr_eq(&b.group, &group));
        let binding = match at {
            Some(b) => bindings.get_mut(b),
            None => {
                bindings.push(Binding { key_group: v.key_group, group, writable, members: Vec::new() });
                bindings.last_mut()
            }
        };
        if let Some(b) = binding {
            let records = b.writable && !b.members.iter().any(|m| m.lane == lane);
            b.members.push(Member { velocity: i, lane, lane_window_ms, records, times_only: v.times_only });
        }
    }
    bindings
}

/// Where a velocity's windows are: a series group, a lane in it and the
/// window the lane keeps, and whether this version records there.
struct LaneChoice {
    group: Arc<SeriesGroup>,
    lane: usize,
    lane_window_ms: i64,
    writable: bool,
}

/// The key paths of a velocity's key group.
fn key_paths(program: &Program, v: &VelocityIr) -> Vec<String> {
    program
        .key_groups
        .get(v.key_group)
        .map(|fields| fields.iter().filter_map(|f| program.schema.fields().get(f.0 as usize)).map(|f| f.path.clone()).collect())
        .unwrap_or_default()
}

/// The lane of `v`'s own series (for a times-only velocity, the times of
/// its events): one already registered that keeps `v`'s window, else a new
/// one keeping the longest window this rule set reads that series over. A
/// shadow candidate reads production's lane when there is one and records
/// a lane of its own store otherwise.
fn lane_of_series(program: &Program, home: &VelocityHome<'_>, paths: &[String], v: &VelocityIr) -> LaneChoice {
    let series = lane_series(v);
    let new_ms = program
        .velocities
        .iter()
        .filter(|u| u.key_group == v.key_group && lane_series(u) == series)
        .map(|u| u.window_ms)
        .fold(v.window_ms, i64::max);
    let (group, (lane, lane_window_ms), writable) = match home {
        VelocityHome::Production(store) => {
            let group = store.group(paths);
            let lane = group.lane(&series, v.window_ms, new_ms);
            (group, lane, true)
        }
        VelocityHome::Shadow { production, own } => {
            match production.find_group(paths).and_then(|g| g.find_lane(&series, v.window_ms).map(|l| (g, l))) {
                Some((group, lane)) => (group, lane, false),
                None => {
                    let group = own.group(paths);
                    let lane = group.lane(&series, v.window_ms, new_ms);
                    (group, lane, true)
                }
            }
        }
    };
    LaneChoice { group, lane, lane_window_ms, writable }
}

/// The series of the lane a velocity records into when it has a lane of
/// its own: its series, or for a times-only velocity the times of its
/// events (one lane for all times-only velocities of those events).
fn lane_series(v: &VelocityIr) -> String {
    if v.times_only {
        format!("of() {}", v.events)
    } else {
        v.series.clone()
    }
}

/// A production lane the active version records that records `v`'s events
/// and keeps its window. A production deploy records it too; a shadow
/// candidate reads it.
fn live_lane_of_events(previous: Option<&Deployment>, home: &VelocityHome<'_>, paths: &[String], v: &VelocityIr) -> Option<LaneChoice> {
    let (production, writable) = match home {
        VelocityHome::Production(store) => (*store, true),
        VelocityHome::Shadow { production, .. } => (*production, false),
    };
    let group = production.find_group(paths)?;
    let previous = previous?;
    previous.bindings.iter().filter(|b| b.writable && Arc::ptr_eq(&b.group, &group)).find_map(|b| {
        b.members
            .iter()
            .find(|m| {
                m.records
                    && m.lane_window_ms >= v.window_ms
                    && previous.program.velocities.get(m.velocity).is_some_and(|u| u.events == v.events)
            })
            .map(|m| LaneChoice { group: Arc::clone(&group), lane: m.lane, lane_window_ms: m.lane_window_ms, writable })
    })
}

/// A lane already bound to a velocity of this rule set that reads recorded
/// values of the same events as `v`, kept for at least `v`'s window.
fn program_lane_of_events(bindings: &[Binding], program: &Program, v: &VelocityIr) -> Option<LaneChoice> {
    bindings.iter().filter(|b| b.key_group == v.key_group).find_map(|b| {
        b.members
            .iter()
            .find(|m| {
                m.lane_window_ms >= v.window_ms
                    && program.velocities.get(m.velocity).is_some_and(|u| !u.times_only && u.events == v.events)
            })
            .map(|m| LaneChoice { group: Arc::clone(&b.group), lane: m.lane, lane_window_ms: m.lane_window_ms, writable: b.writable })
    })
}
