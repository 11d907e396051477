//! The engine: decides records with a compiled program, its lists and its
//! velocity state (SPEC sections 7 and 8).

use crate::decision::{Decision, Explained, ScoreLevel};
use crate::record::{Decoder, EventError, Record};
use crate::velocity::{aggregate, Key, KeyPart, VelocityStore};
use kensa_compiler::check::Phase;
use kensa_compiler::interp::{self, Env};
use kensa_compiler::ir::{ListId, Program, Read, SetData, VelocityId};
use kensa_compiler::schema::FieldId;
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

/// A program with its lists and velocity state.
pub struct Engine {
    program: Arc<Program>,
    decoder: Decoder,
    lists: Vec<Arc<SetData>>,
    store: VelocityStore,
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
    /// An engine for `program` with its lists, in the program's list order.
    /// INVARIANT (ListsMatch): `lists.len() == program.lists.len()`, each of
    /// the declared kind; `load_dir` returns them so.
    pub fn new(program: Program, lists: Vec<Arc<SetData>>) -> Engine {
        let store = VelocityStore::new(&program.velocities, program.key_groups.len());
        let decoder = Decoder::new(&program.schema);
        Engine { program: Arc::new(program), decoder, lists, store }
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

    /// Decodes and decides one JSON event.
    pub fn decide_json(&mut self, line: &[u8], options: DecideOptions) -> Result<Decision, EventError> {
        let record = self.decoder.decode_bytes(line)?;
        Ok(self.decide(&record, options))
    }

    /// Decides a decoded record and, unless a dry run, records it into the
    /// velocity windows.
    pub fn decide(&mut self, record: &Record, options: DecideOptions) -> Decision {
        let program = Arc::clone(&self.program);
        let time = match record.get(program.event_time_field) {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        };
        // Read every velocity first; record after the decision.
        let no_velocities: [Value; 0] = [];
        let base = EvalEnv {
            record,
            velocities: &no_velocities,
            lists: &self.lists,
            score_field: program.score_field,
            score: record.get(program.score_field),
        };
        let keys: Vec<Option<Key>> = program
            .key_groups
            .iter()
            .map(|fields| fields.iter().map(|f| KeyPart::of(record.get(*f))).collect::<Option<Vec<_>>>().map(Vec::into_boxed_slice))
            .collect();
        let mut velocity_values = Vec::with_capacity(program.velocities.len());
        let mut to_record: Vec<(usize, Value)> = Vec::new();
        for (i, v) in program.velocities.iter().enumerate() {
            let key = keys.get(v.key_group).and_then(Option::as_ref);
            let (Some(key), Some(t)) = (key, time) else {
                velocity_values.push(Value::Missing);
                continue;
            };
            let qualifies = v.filter.as_ref().is_none_or(|f| interp::truth(f, &base) == Some(true));
            let of = v.of.as_ref().map_or(Value::Missing, |e| interp::eval(e, &base));
            let current = (qualifies && !v.excluding_current).then_some(&of);
            velocity_values.push(aggregate(v.agg, self.store.window(i, key), t, v.window_ms, current));
            if qualifies {
                to_record.push((i, of));
            }
        }

        let mut env = EvalEnv { velocities: &velocity_values, ..base };
        let mut matched: Vec<usize> = Vec::new();
        for (i, r) in program.rules.iter().enumerate() {
            if r.enabled && r.phase == Phase::One && interp::truth(&r.when, &env) == Some(true) {
                matched.push(i);
            }
        }
        let skip_scoring = matched.iter().any(|&i| program.rules.get(i).is_some_and(|r| r.skip_scoring));
        let score = if skip_scoring { Value::Missing } else { record.get(program.score_field).clone() };
        env.score = &score;
        for (i, r) in program.rules.iter().enumerate() {
            if r.enabled && r.phase == Phase::Two && interp::truth(&r.when, &env) == Some(true) {
                matched.push(i);
            }
        }
        // Precedence, then priority (rules without one last), then source order.
        matched.sort_by_key(|&i| {
            let r = program.rules.get(i);
            (r.map_or(usize::MAX, |r| r.outcome), r.and_then(|r| r.priority).map_or((1, 0), |p| (0, p)), i)
        });

        let explain = options.explain.then(|| {
            matched
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

        let top = matched.first().and_then(|&i| program.rules.get(i)).and_then(|r| program.outcomes.list.get(r.outcome));
        let (outcome, code) = match top {
            Some(o) => (o.name.clone(), o.code),
            None => (kensa_compiler::outcomes::NONE_OUTCOME.0.to_string(), kensa_compiler::outcomes::NONE_OUTCOME.1),
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
            matched: matched.iter().filter_map(|&i| program.rules.get(i)).map(|r| r.id.clone()).collect(),
            skip_scoring,
            score: score_number,
            score_level: ScoreLevel::of(score_number),
            explain,
        };

        if !options.dry_run {
            if let Some(t) = time {
                for (i, of) in to_record {
                    let Some(v) = program.velocities.get(i) else { continue };
                    if let Some(Some(key)) = keys.get(v.key_group) {
                        self.store.record(i, key, t, of);
                    }
                }
            }
        }
        decision
    }
}

fn field_path(program: &Program, f: FieldId) -> String {
    program.schema.fields().get(f.0 as usize).map_or_else(String::new, |x| x.path.clone())
}
