//! The engine: decides records with a compiled program, its lists and its
//! velocity state (SPEC sections 7 and 8).

use crate::decision::{Decision, Explained, ScoreLevel};
use crate::record::{Decoder, EventError, Record};
use crate::velocity::{aggregate, Key, KeyPart, VelocityStore};
use kensa_compiler::check::Phase;
use kensa_compiler::interp::{self, Env};
use kensa_compiler::ir::{ListId, Program, Read, SetData, VelocityId};
use kensa_compiler::schema::FieldId;
use kensa_compiler::jit::abi::Frame;
use kensa_compiler::jit::{JitError, JitProgram};
use kensa_compiler::value::Value;
use std::sync::Arc;

/// How to decide one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecideOptions {
    /// Record nothing into the velocity windows.
    pub dry_run: bool,
    /// Report what each matched rule read.
    pub explain: bool,
}

/// Which evaluator runs the rules' conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Evaluator {
    /// Native code compiled with Cranelift (the default).
    #[default]
    Jit,
    /// The reference interpreter over the IR (`--no-jit`).
    Interpreter,
}

/// A program with its lists and velocity state.
pub struct Engine {
    /// The compiled conditions, when the JIT is the evaluator.
    jit: Option<Arc<JitProgram>>,
    program: Arc<Program>,
    decoder: Decoder,
    lists: Vec<Arc<SetData>>,
    store: VelocityStore,
    /// Rule ids, shared by every decision that names them.
    rule_ids: Vec<Arc<str>>,
    /// Outcome names by rank, shared likewise.
    outcome_names: Vec<Arc<str>>,
    none_name: Arc<str>,
    scratch: Scratch,
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
}

impl Engine {
    /// An engine for `program` with its lists, run by the chosen evaluator;
    /// compiling to native code can fail (it never has on a checked rule
    /// set), and then nothing is built.
    /// INVARIANT (ListsMatch): `lists.len() == program.lists.len()`, each of
    /// the declared kind; `load_dir` returns them so.
    pub fn with_evaluator(program: Program, lists: Vec<Arc<SetData>>, evaluator: Evaluator) -> Result<Engine, JitError> {
        let jit = match evaluator {
            Evaluator::Jit => Some(Arc::new(JitProgram::compile(&program)?)),
            Evaluator::Interpreter => None,
        };
        Ok(Engine::build(program, lists, jit))
    }

    /// The evaluator in use.
    pub fn evaluator(&self) -> Evaluator {
        if self.jit.is_some() {
            Evaluator::Jit
        } else {
            Evaluator::Interpreter
        }
    }

    fn build(program: Program, lists: Vec<Arc<SetData>>, jit: Option<Arc<JitProgram>>) -> Engine {
        let store = VelocityStore::new(&program.velocities, program.key_groups.len());
        let decoder = Decoder::new(&program.schema);
        let rule_ids = program.rules.iter().map(|r| Arc::from(r.id.as_str())).collect();
        let outcome_names = program.outcomes.list.iter().map(|o| Arc::from(o.name.as_str())).collect();
        Engine {
            jit,
            program: Arc::new(program),
            decoder,
            lists,
            store,
            rule_ids,
            outcome_names,
            none_name: Arc::from(kensa_compiler::outcomes::NONE_OUTCOME.0),
            scratch: Scratch::default(),
        }
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The event decoder of this program's schema.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The velocity state.
    pub fn store(&self) -> &VelocityStore {
        &self.store
    }

    /// Forgets every recorded event: the velocity windows start empty again.
    pub fn clear_velocities(&mut self) {
        self.store = VelocityStore::new(&self.program.velocities, self.program.key_groups.len());
    }

    /// Decodes and decides one JSON event.
    pub fn decide_json(&mut self, line: &[u8], options: DecideOptions) -> Result<Decision, EventError> {
        let record = self.decoder.decode_bytes(line)?;
        Ok(self.decide(&record, options))
    }

    /// Decides a decoded record and, unless a dry run, records it into the
    /// velocity windows.
    pub fn decide(&mut self, record: &Record, options: DecideOptions) -> Decision {
        let program = Arc::clone(&self.program);
        let mut s = std::mem::take(&mut self.scratch);
        s.prepare(&program);
        let time = match record.get(program.event_time_field) {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        };
        let base = EvalEnv {
            record,
            velocities: &[],
            lists: &self.lists,
            score_field: program.score_field,
            score: record.get(program.score_field),
        };

        // Each key group's key, built once; missing when a key field is (or
        // the event has no time).
        for (g, fields) in program.key_groups.iter().enumerate() {
            let (Some(parts), Some(ok)) = (s.keys.get_mut(g), s.key_ok.get_mut(g)) else { continue };
            parts.clear();
            *ok = time.is_some();
            for f in fields {
                match KeyPart::of(record.get(*f)) {
                    Some(p) => parts.push(p),
                    None => {
                        *ok = false;
                        break;
                    }
                }
            }
        }

        // Read every velocity first; record after the decision. One hash
        // lookup per key group serves all of its velocities.
        let windows: Vec<Option<&[crate::velocity::Window]>> = (0..program.key_groups.len())
            .map(|g| match (s.key_ok.get(g), s.keys.get(g)) {
                (Some(true), Some(key)) => self.store.group_windows(g, key),
                _ => None,
            })
            .collect();
        for (i, v) in program.velocities.iter().enumerate() {
            let g = v.key_group;
            let (Some(true), Some(t)) = (s.key_ok.get(g).copied(), time) else {
                s.velocities.push(Value::Missing);
                continue;
            };
            let pos = self.store.place(i).map_or(usize::MAX, |p| p.1);
            let qualifies = v.filter.as_ref().is_none_or(|f| interp::truth(f, &base) == Some(true));
            let of = v.of.as_ref().map_or(Value::Missing, |e| interp::eval(e, &base));
            let current = (qualifies && !v.excluding_current).then_some(&of);
            let window = windows.get(g).copied().flatten().and_then(|ws| ws.get(pos));
            s.velocities.push(aggregate(v.agg, window, t, v.window_ms, current));
            if qualifies {
                if let Some(pending) = s.pending.get_mut(g) {
                    pending.push((pos, of));
                }
            }
        }
        drop(windows);

        let mut env = EvalEnv { velocities: &s.velocities, ..base };
        let jit = self.jit.as_deref();
        run_phase(&program, jit, Phase::One, &env, &mut s.frame, &mut s.out, &mut s.matched);
        let skip_scoring = s.matched.iter().any(|&i| program.rules.get(i).is_some_and(|r| r.skip_scoring));
        let score = if skip_scoring { Value::Missing } else { record.get(program.score_field).clone() };
        env.score = &score;
        run_phase(&program, jit, Phase::Two, &env, &mut s.frame, &mut s.out, &mut s.matched);
        // Precedence, then priority (rules without one last), then source order.
        s.matched.sort_by_key(|&i| {
            let r = program.rules.get(i);
            (r.map_or(usize::MAX, |r| r.outcome), r.and_then(|r| r.priority).map_or((1, 0), |p| (0, p)), i)
        });

        let explain = options.explain.then(|| {
            s.matched
                .iter()
                .filter_map(|&i| program.rules.get(i))
                .map(|r| Explained {
                    rule: r.id.clone(),
                    reads: r
                        .reads
                        .iter()
                        .map(|read| match read {
                            Read::Field(f) => (field_path(&program, *f), env.field(*f).clone()),
                            Read::Velocity(v) => (
                                program.velocities.get(v.0 as usize).map_or_else(String::new, |x| x.name.clone()),
                                env.velocity(*v).clone(),
                            ),
                        })
                        .collect(),
                })
                .collect()
        });

        let top = s.matched.first().and_then(|&i| program.rules.get(i)).map(|r| r.outcome);
        let (outcome, code) = match top.and_then(|rank| Some((self.outcome_names.get(rank)?, program.outcomes.list.get(rank)?))) {
            Some((name, o)) => (Arc::clone(name), o.code),
            None => (Arc::clone(&self.none_name), kensa_compiler::outcomes::NONE_OUTCOME.1),
        };
        let score_number = match score {
            Value::Number(n) => Some(n),
            _ => None,
        };
        let decision = Decision {
            event_id: match record.get(program.event_id_field) {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            },
            outcome,
            code,
            matched: s.matched.iter().filter_map(|&i| self.rule_ids.get(i)).cloned().collect(),
            skip_scoring,
            score: score_number,
            score_level: ScoreLevel::of(score_number),
            explain,
        };

        if !options.dry_run {
            if let Some(t) = time {
                for g in 0..program.key_groups.len() {
                    if let (Some(true), Some(key), Some(pending)) = (s.key_ok.get(g), s.keys.get(g), s.pending.get_mut(g)) {
                        self.store.record_group(g, key, t, pending);
                    }
                }
            }
        }
        self.scratch = s;
        decision
    }
}

/// Evaluates the enabled rules of one phase and appends the matched ones.
fn run_phase(
    program: &Program,
    jit: Option<&JitProgram>,
    phase: Phase,
    env: &EvalEnv<'_>,
    frame: &mut Frame,
    out: &mut Vec<u8>,
    matched: &mut Vec<usize>,
) {
    let in_phase = |r: &kensa_compiler::ir::RuleIr| r.enabled && r.phase == phase;
    match jit {
        Some(jit) => {
            out.clear();
            out.resize(program.rules.len(), 0);
            jit.run(phase, env, frame, out, program.rules.len());
            for (i, r) in program.rules.iter().enumerate() {
                if in_phase(r) && out.get(i) == Some(&1) {
                    matched.push(i);
                }
            }
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

/// Buffers reused from one decision to the next, so deciding allocates
/// little beyond the decision itself.
#[derive(Default)]
struct Scratch {
    /// Per key group: the event's key parts.
    keys: Vec<Key>,
    /// Per key group: whether the key is complete.
    key_ok: Vec<bool>,
    /// Per velocity: its value for this event.
    velocities: Vec<Value>,
    /// Per key group: (position, value) to record after the decision.
    pending: Vec<Vec<(usize, Value)>>,
    /// Matched rules, by index.
    matched: Vec<usize>,
    /// The JIT's frame of native values.
    frame: Frame,
    /// The JIT's answer per rule.
    out: Vec<u8>,
}

impl Scratch {
    fn prepare(&mut self, program: &Program) {
        let groups = program.key_groups.len();
        self.keys.resize_with(groups, Vec::new);
        self.key_ok.resize(groups, false);
        self.pending.resize_with(groups, Vec::new);
        self.pending.iter_mut().for_each(Vec::clear);
        self.velocities.clear();
        self.matched.clear();
    }
}

fn field_path(program: &Program, f: FieldId) -> String {
    program.schema.fields().get(f.0 as usize).map_or_else(String::new, |x| x.path.clone())
}
