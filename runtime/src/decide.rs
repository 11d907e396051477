//! Deciding one record on one deployment (SPEC sections 7 and 8): build the
//! velocity keys, read every velocity, run phase 1, score, run phase 2, rank
//! the matches; then, as a separate step, record the event into the windows.
//! Keeping the two steps apart lets a shadow candidate read production state
//! before the active version records the event.

use crate::decision::{Decision, Explained, ScoreLevel};
use crate::deployment::Deployment;
use crate::record::Record;
use crate::store::{HeldKeys, KeyRequest};
use crate::velocity::{aggregate, KeyRef, ValueSource, Window};
use kensa_compiler::check::Phase;
use kensa_compiler::interp::{self, Env};
use kensa_compiler::ir::{ListId, Node, Program, Read, SetData, VelocityId};
use kensa_compiler::jit::JitProgram;
use kensa_compiler::schema::FieldId;
use kensa_compiler::value::Value;
use smallvec::SmallVec;
use std::sync::Arc;

/// The host's model, asked for the score of an event that no phase-1 rule
/// told to skip scoring. It replaces the event's `score` field.
pub trait Scorer: Send + Sync {
    /// The score of `record`, or `None` when the model has none.
    fn score(&self, record: &Record) -> Option<f64>;
}

impl<F: Fn(&Record) -> Option<f64> + Send + Sync> Scorer for F {
    fn score(&self, record: &Record) -> Option<f64> {
        self(record)
    }
}

/// Where the score of a decision comes from.
#[derive(Clone, Copy)]
pub(crate) enum ScoreSource<'a> {
    /// The event's `score` field.
    Field,
    /// The host's model, asked when scoring is not skipped.
    Host(&'a dyn Scorer),
    /// Already asked for this event (a shadow candidate reuses the answer
    /// the active version got, so the model runs once).
    Known(Option<f64>),
}

/// The record, velocity values and lists a rule reads.
struct EvalEnv<'a> {
    record: &'a Record,
    velocities: &'a [Value],
    lists: &'a [Arc<SetData>],
    score_field: FieldId,
    score: &'a Value,
}

static EMPTY_SET: SetData = SetData::Values(Vec::new());

impl Env for EvalEnv<'_> {
    fn field(&self, id: FieldId) -> &Value {
        if id == self.score_field {
            self.score
        } else {
            self.record.get(id)
        }
    }
    fn velocity(&self, id: VelocityId) -> &Value {
        self.velocities.get(id.0 as usize).unwrap_or(&Value::Missing)
    }
    fn list(&self, id: ListId) -> &SetData {
        self.lists.get(id.0 as usize).map_or(&EMPTY_SET, |l| l)
    }
    fn values(&self) -> Option<(&[Value], &[Value])> {
        Some((&self.record.slots, self.velocities))
    }
    fn lists(&self) -> Option<&[Arc<SetData>]> {
        Some(self.lists)
    }
}

/// Buffers reused from one decision to the next (one set per thread), so
/// deciding allocates little beyond the decision itself. After [`evaluate`]
/// they also hold what [`commit`] records.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The event time, when it has one.
    time: Option<i64>,
    /// Per binding: the key's hash in its group.
    hashes: Vec<u64>,
    /// Per binding: its key's request to `HeldKeys`, when its key is
    /// complete.
    request_of: Vec<Option<usize>>,
    /// Per velocity: whether the event passes its `where`.
    qualifies: Vec<bool>,
    /// Per velocity: the value it would record (`of`).
    ofs: Vec<Of>,
    /// Per velocity: its value for this event.
    velocities: Vec<Value>,
    /// Per binding: (lane, lane window, velocity whose value it records,
    /// or none for a missing value) to record, for a writable binding.
    pending: Vec<Vec<(usize, i64, Option<usize>)>>,
    /// Matched rules, by index.
    matched: Vec<usize>,
    /// The JIT's answer per rule.
    out: Vec<u8>,
}

/// What a velocity records for an event (its `of`).
enum Of {
    /// A field of the record, read where it is: most velocities record a
    /// field, and a copy of a string would write its reference count (an
    /// atomic write on memory the decoding thread may own).
    Field(FieldId),
    /// A computed value (missing for `count()`).
    Value(Value),
}

impl Of {
    /// The value, for an event decided from `record`.
    fn get<'a>(&'a self, record: &'a Record) -> &'a Value {
        match self {
            Of::Field(f) => record.get(*f),
            Of::Value(v) => v,
        }
    }
}

/// The event's values for its velocities.
struct Current<'a> {
    /// Per velocity: whether the event passes its `where`.
    qualifies: &'a [bool],
    /// Per velocity: what the event records.
    ofs: &'a [Of],
    record: &'a Record,
}

impl<'a> Current<'a> {
    /// What the event records for velocity `v`, when it passes its `where`.
    fn value(&self, v: usize) -> Option<&'a Value> {
        let (Some(true), Some(of)) = (self.qualifies.get(v), self.ofs.get(v)) else { return None };
        Some(of.get(self.record))
    }
}

/// An event's key in each key group, borrowed from its record (see
/// [`KeyRef`]).
struct EventKeys<'r> {
    /// Every complete key's parts, one key after another.
    parts: SmallVec<[KeyRef<'r>; 8]>,
    /// Per key group: where its key lies in `parts`; `None` when a key
    /// field is missing or the event has no time.
    groups: SmallVec<[Option<std::ops::Range<usize>>; 4]>,
}

impl<'r> EventKeys<'r> {
    /// The keys of `record` in `program`'s key groups; none is complete
    /// when the event has no time.
    #[inline]
    fn of(program: &Program, record: &'r Record, has_time: bool) -> EventKeys<'r> {
        let mut keys = EventKeys { parts: SmallVec::new(), groups: SmallVec::new() };
        for fields in &program.key_groups {
            let start = keys.parts.len();
            let mut complete = has_time;
            for f in fields {
                match KeyRef::of(record.get(*f)) {
                    Some(part) if complete => keys.parts.push(part),
                    _ => {
                        complete = false;
                        break;
                    }
                }
            }
            if complete {
                keys.groups.push(Some(start..keys.parts.len()));
            } else {
                keys.parts.truncate(start);
                keys.groups.push(None);
            }
        }
        keys
    }

    /// Key group `g`'s key, when complete.
    fn get(&self, g: usize) -> Option<&[KeyRef<'r>]> {
        let range = self.groups.get(g)?.clone()?;
        self.parts.get(range)
    }
}

impl Scratch {
    fn prepare(&mut self, d: &Deployment) {
        self.hashes.clear();
        self.hashes.resize(d.bindings.len(), 0);
        self.request_of.clear();
        self.request_of.resize(d.bindings.len(), None);
        self.pending.resize_with(d.bindings.len(), Vec::new);
        self.pending.iter_mut().for_each(Vec::clear);
        self.qualifies.clear();
        self.ofs.clear();
        self.velocities.clear();
        self.velocities.resize_with(d.program.velocities.len(), Value::default);
        self.matched.clear();
    }
}

/// When [`evaluate`] records the event into the windows it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recording {
    /// While reading them: one lock and one lookup per key serve both.
    /// Right when nothing must read the windows between the two steps.
    WithReads,
    /// Not at all: [`commit`] records it later (a shadow candidate reads
    /// production windows in between), or nothing does (a dry run).
    Deferred,
}

/// Decides `record` (in `d`'s layout) with `lists` (in `d`'s list order),
/// counting the decision in `d`'s counters. With [`Recording::Deferred`],
/// what the event would record is left in `s` for [`commit`].
pub(crate) fn evaluate(
    d: &Deployment,
    lists: &[Arc<SetData>],
    record: &Record,
    score: ScoreSource<'_>,
    recording: Recording,
    explain: bool,
    s: &mut Scratch,
) -> Decision {
    let program = &d.program;
    s.prepare(d);
    s.time = match record.get(program.event_time_field) {
        Value::Timestamp(t) => Some(*t),
        _ => None,
    };
    let base = EvalEnv {
        record,
        velocities: &[],
        lists,
        score_field: program.score_field,
        score: record.get(program.score_field),
    };

    // Each key group's key, built once; incomplete when a key field is
    // missing or the event has no time.
    let keys = EventKeys::of(program, record, s.time.is_some());
    // What each velocity would record; nothing for one whose key is
    // incomplete (it reads missing and records nothing).
    for v in &program.velocities {
        if keys.get(v.key_group).is_some() {
            s.qualifies.push(v.filter.as_ref().is_none_or(|f| interp::truth(f, &base) == Some(true)));
            s.ofs.push(match &v.of {
                None => Of::Value(Value::Missing),
                // Read from the record when needed (`base.field` is
                // `record.get` here: the score is still the field's).
                Some(Node::Field(f)) => Of::Field(*f),
                Some(e) => Of::Value(interp::eval(e, &base)),
            });
        } else {
            s.qualifies.push(false);
            s.ofs.push(Of::Value(Value::Missing));
        }
    }

    // Read every velocity: one lookup per binding serves all of its
    // velocities, and the recording too when it happens here. Every key is
    // looked up with all their shards locked at once (see `HeldKeys`).
    let mut requests: SmallVec<[KeyRequest<'_>; 4]> = SmallVec::new();
    for (b, binding) in d.bindings.iter().enumerate() {
        let g = binding.key_group;
        let (Some(key), Some(_), Some(pending)) = (keys.get(g), s.time, s.pending.get_mut(b)) else {
            continue;
        };
        let hash = binding.group.hash(key);
        if let Some(h) = s.hashes.get_mut(b) {
            *h = hash;
        }
        if binding.writable {
            for m in binding.members.iter().filter(|m| m.records) {
                if s.qualifies.get(m.velocity) == Some(&true) {
                    pending.push((m.lane, m.lane_window_ms, (!m.times_only).then_some(m.velocity)));
                }
            }
        }
        let create = recording == Recording::WithReads && !pending.is_empty();
        if let Some(r) = s.request_of.get_mut(b) {
            *r = Some(requests.len());
        }
        requests.push(KeyRequest { group: &binding.group, hash, key, create });
    }
    let mut all = HeldKeys::lock(&requests);
    for (b, binding) in d.bindings.iter().enumerate() {
        let (Some(&Some(r)), Some(t), Some(pending)) = (s.request_of.get(b), s.time, s.pending.get_mut(b)) else { continue };
        let Some(request) = requests.get(r) else { continue };
        // Bindings are in distinct groups (see `deployment::bind`), so
        // `lock` holds them all; were two in one shard, one at a time.
        let mut one;
        let (held, i) = match all.as_mut() {
            Some(held) => (Some(held), r),
            None => {
                one = HeldKeys::lock(std::slice::from_ref(request));
                (one.as_mut(), 0)
            }
        };
        let Some(held) = held else { continue };
        let current = Current { qualifies: &s.qualifies, ofs: &s.ofs, record };
        read_members(program, binding, held.windows(i), t, &current, &mut s.velocities);
        if request.create {
            held.record(i, t, &pending_items(pending, &s.ofs, record));
            pending.clear();
        }
    }
    // Unlock the shards before the rules run.
    drop(all);

    let mut env = EvalEnv { velocities: &s.velocities, ..base };
    let jit = d.jit.as_ref();
    run_phase(program, jit, Phase::One, &env, &mut s.out, &mut s.matched);
    let skip_scoring = s.matched.iter().any(|&i| program.rules.get(i).is_some_and(|r| r.skip_scoring));
    let score = if skip_scoring {
        Value::Missing
    } else {
        match score {
            ScoreSource::Field => record.get(program.score_field).clone(),
            ScoreSource::Host(scorer) => score_of(scorer, record),
            ScoreSource::Known(n) => n.map_or(Value::Missing, Value::number),
        }
    };
    env.score = &score;
    run_phase(program, jit, Phase::Two, &env, &mut s.out, &mut s.matched);
    // Precedence, then priority (rules without one last), then source order.
    s.matched.sort_by_key(|&i| {
        let r = program.rules.get(i);
        (r.map_or(usize::MAX, |r| r.outcome), r.and_then(|r| r.priority).map_or((1, 0), |p| (0, p)), i)
    });

    let explain = explain.then(|| {
        s.matched
            .iter()
            .filter_map(|&i| program.rules.get(i))
            .map(|r| Explained { rule: r.id.clone(), reads: r.reads.iter().map(|read| explain_read(program, &env, *read)).collect() })
            .collect()
    });

    let top = s.matched.first().and_then(|&i| program.rules.get(i)).map(|r| r.outcome);
    d.counters.count(top, &s.matched);
    let (outcome, code) = match top.and_then(|rank| Some((d.outcome_names.get(rank)?, program.outcomes.list.get(rank)?))) {
        Some((name, o)) => (Arc::clone(name), o.code),
        None => (Arc::clone(&d.none_name), kensa_compiler::outcomes::NONE_OUTCOME.1),
    };
    let score_number = match score {
        Value::Number(n) => Some(n),
        _ => None,
    };
    Decision {
        event_id: match record.get(program.event_id_field) {
            Value::Str(s) => Some(Arc::clone(s)),
            _ => None,
        },
        outcome,
        code,
        matched: s.matched.iter().filter_map(|&i| d.rule_ids.get(i)).cloned().collect(),
        skip_scoring,
        score: score_number,
        score_level: ScoreLevel::of(score_number),
        explain,
        version: d.version(),
    }
}

/// Records what the last [`evaluate`] on `d` (with
/// [`Recording::Deferred`]) of `record` left in `s` into the windows of
/// `d`'s writable bindings.
pub(crate) fn commit(d: &Deployment, record: &Record, s: &mut Scratch) {
    let Some(t) = s.time else { return };
    let keys = EventKeys::of(&d.program, record, true);
    for (b, binding) in d.bindings.iter().enumerate() {
        let (Some(key), Some(&hash), Some(pending)) = (keys.get(binding.key_group), s.hashes.get(b), s.pending.get_mut(b)) else {
            continue;
        };
        if !pending.is_empty() {
            binding.group.record(hash, key, t, &pending_items(pending, &s.ofs, record));
            pending.clear();
        }
    }
}

/// A binding's pending recordings, `(lane, window_ms, velocity)`, as the
/// store takes them: `(lane, window_ms, value)`, each value borrowed from
/// `ofs` or from the record.
fn pending_items<'a>(
    pending: &[(usize, i64, Option<usize>)],
    ofs: &'a [Of],
    record: &'a Record,
) -> SmallVec<[(usize, i64, &'a Value); 8]> {
    pending
        .iter()
        .map(|&(lane, window_ms, v)| (lane, window_ms, v.and_then(|v| ofs.get(v)).map_or(&Value::Missing, |of| of.get(record))))
        .collect()
}

/// Reads the velocities of one binding from its key's windows (by lane;
/// `None` when nothing was ever recorded for the key) at time `t`.
fn read_members(
    program: &Program,
    binding: &crate::deployment::Binding,
    windows: Option<&[Window]>,
    t: i64,
    event: &Current<'_>,
    velocities: &mut [Value],
) {
    for m in &binding.members {
        let Some(v) = program.velocities.get(m.velocity) else { continue };
        let current = event.value(m.velocity).filter(|_| !v.excluding_current);
        let window = windows.and_then(|ws| ws.get(m.lane));
        if let Some(slot) = velocities.get_mut(m.velocity) {
            let source = if m.times_only { ValueSource::Time } else { ValueSource::Recorded };
            *slot = aggregate(v.agg, window, t, v.window_ms, source, current);
        }
    }
}

/// The host scorer's answer; a panic in it is caught (it must not unwind
/// through the engine) and reads as no score.
fn score_of(scorer: &dyn Scorer, record: &Record) -> Value {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scorer.score(record))) {
        Ok(Some(n)) => Value::number(n),
        Ok(None) | Err(_) => Value::Missing,
    }
}

fn explain_read(program: &Program, env: &EvalEnv<'_>, read: Read) -> (String, Value) {
    match read {
        Read::Field(f) => (
            program.schema.fields().get(f.0 as usize).map_or_else(String::new, |x| x.path.clone()),
            env.field(f).clone(),
        ),
        Read::Velocity(v) => (
            program.velocities.get(v.0 as usize).map_or_else(String::new, |x| x.name.clone()),
            env.velocity(v).clone(),
        ),
    }
}

/// Evaluates the enabled rules of one phase and appends the matched ones.
fn run_phase(
    program: &Program,
    jit: Option<&JitProgram>,
    phase: Phase,
    env: &EvalEnv<'_>,
    out: &mut Vec<u8>,
    matched: &mut Vec<usize>,
) {
    let in_phase = |r: &kensa_compiler::ir::RuleIr| r.enabled && r.phase == phase;
    match jit {
        Some(jit) if !jit.has_rules(phase) => {}
        Some(jit) => {
            // No clearing: `run` writes every enabled rule of the phase
            // (indexed ones included), and entries of the other phase are
            // filtered out below.
            out.resize(program.rules.len(), 0);
            jit.run(phase, env, out, program.rules.len());
            kensa_compiler::jit::for_each_true(out, |i| {
                if program.rules.get(i).is_some_and(in_phase) {
                    matched.push(i);
                }
            });
        }
        None => {
            for (i, r) in program.rules.iter().enumerate() {
                if in_phase(r) && interp::truth(&r.when, env) == Some(true) {
                    matched.push(i);
                }
            }
        }
    }
}
