//! The engine a host embeds: deploy and hot-swap rule sets and lists while
//! any number of threads decide, shadow a candidate, save and restore the
//! velocity state.
//!
//! Concurrency. Everything a decision needs (the active version, its lists,
//! the shadow candidate) is one immutable `Active` value behind an
//! `ArcSwap`: a decision loads it once, without a lock, and finishes on it
//! whatever is deployed meanwhile. Writers (deploys, list replacements,
//! shadow changes) take the `writer` mutex, build the next `Active` completely
//! (compiling, loading lists) and publish it with one store; a failure
//! returns before anything is published. Decisions never take the writer
//! mutex. Velocity windows live in the shared store, locked per shard.

use crate::counters::{Counters, Tracker};
use crate::decide::{commit, evaluate, Recording, ScoreSource, Scorer, Scratch};
use crate::decision::Decision;
use crate::deployment::{Deployment, Evaluator, VelocityHome, VersionId};
use crate::lists::{parse_list, ListError};
use crate::reaper::Reaper;
use crate::record::{EventError, Record};
use crate::shadow::{Shadow, ShadowReport};
use crate::store::snapshot::SnapshotError;
use crate::store::{StoreStats, VelocityStore};
use arc_swap::ArcSwap;
use kensa_compiler::ir::{Program, SetData};
use kensa_compiler::jit::JitError;
use kensa_compiler::Schema;
use kensa_dsl::ast::ListKind;
use kensa_dsl::{Diagnostic, SourceFile};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to decide one event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecideOptions {
    /// Record nothing into the velocity windows.
    pub dry_run: bool,
    /// Report what each matched rule read.
    pub explain: bool,
}

/// Why a deploy was rejected. Nothing changed.
#[derive(Debug)]
pub enum DeployError {
    /// The rule set does not compile: every diagnostic, and their rendering
    /// (`NAME:LINE:COL: error: ...` with the source line) under the name
    /// given to the deploy.
    Rules {
        /// The diagnostics, in source order.
        diagnostics: Vec<Diagnostic>,
        /// The diagnostics as `kensa check` prints them.
        rendered: String,
    },
    /// A declared list is not loaded, or its content does not fit its kind.
    List(ListError),
    /// Native compilation failed (it never has on a checked rule set; the
    /// interpreter evaluator does not need it).
    Compile(JitError),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Rules { rendered, .. } => f.write_str(rendered.trim_end()),
            DeployError::List(e) => write!(f, "{e}"),
            DeployError::Compile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DeployError {}

/// What every decision reads: one consistent view, swapped whole.
struct Active {
    deployment: Arc<Deployment>,
    /// The lists, in the deployment's declaration order.
    lists: Vec<Arc<SetData>>,
    shadow: Option<Arc<Shadow>>,
}

/// A list as the host gave it.
struct ListEntry {
    /// The file or name it came from, for errors.
    origin: String,
    /// The raw content, when given as bytes (kept so a rule set declaring
    /// another kind can parse it again).
    bytes: Option<Arc<[u8]>>,
    /// The content parsed, per kind it was needed as.
    parsed: Vec<(ListKind, Arc<SetData>)>,
}

impl ListEntry {
    fn as_kind(&self, name: &str, kind: ListKind) -> Result<Arc<SetData>, ListError> {
        if let Some((_, set)) = self.parsed.iter().find(|(k, _)| *k == kind) {
            return Ok(Arc::clone(set));
        }
        match &self.bytes {
            Some(bytes) => parse_list(&self.origin, kind, bytes).map(Arc::new),
            None => Err(ListError {
                message: format!("list `{name}` was given as a {} list; the rule set declares it {}", self.kind_names(), kind.as_str()),
            }),
        }
    }

    fn kind_names(&self) -> String {
        self.parsed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join("/")
    }
}

/// A rule set's lists in its declaration order, and the list files read
/// to get them (kept once the deploy succeeds).
type Resolved = (Vec<Arc<SetData>>, Vec<(String, ListEntry)>);

/// What only writers touch.
struct Registry {
    lists: BTreeMap<String, ListEntry>,
    lists_dir: Option<PathBuf>,
    next_version: u64,
}

impl Registry {
    /// Builds the next version of `program` with its lists; the version
    /// number and any list files read are used up only on success.
    fn build_version(
        &mut self,
        program: Program,
        evaluator: Evaluator,
        home: VelocityHome<'_>,
        tracker: Option<Arc<Tracker>>,
        previous: Option<&Deployment>,
    ) -> Result<(Arc<Deployment>, Vec<Arc<SetData>>), DeployError> {
        let (lists, loaded) = self.resolve(&program).map_err(DeployError::List)?;
        let version = VersionId(self.next_version);
        let deployment =
            Deployment::build(version, program, evaluator, home, tracker.clone(), previous).map_err(DeployError::Compile)?;
        self.next_version += 1;
        self.keep(loaded);
        let deployment = Arc::new(deployment);
        if let Some(t) = tracker {
            t.register(&deployment);
        }
        Ok((deployment, lists))
    }

    /// The lists `program` declares, in its order: from what the host gave,
    /// else from the lists directory. Newly read files are returned to be
    /// kept once the caller commits.
    fn resolve(&self, program: &Program) -> Result<Resolved, ListError> {
        let mut sets = Vec::with_capacity(program.lists.len());
        let mut loaded = Vec::new();
        for l in &program.lists {
            let set = match self.lists.get(&l.name) {
                Some(entry) => entry.as_kind(&l.name, l.kind)?,
                None => {
                    let Some(dir) = &self.lists_dir else {
                        return Err(ListError { message: format!("list `{}` is not loaded", l.name) });
                    };
                    let path = dir.join(format!("{}.txt", l.name));
                    let bytes: Arc<[u8]> = std::fs::read(&path)
                        .map_err(|e| ListError { message: format!("list `{}`: cannot read {}: {e}", l.name, path.display()) })?
                        .into();
                    let origin = path.display().to_string();
                    let set = Arc::new(parse_list(&origin, l.kind, &bytes)?);
                    loaded.push((l.name.clone(), ListEntry { origin, bytes: Some(bytes), parsed: vec![(l.kind, Arc::clone(&set))] }));
                    set
                }
            };
            sets.push(set);
        }
        Ok((sets, loaded))
    }

    fn keep(&mut self, loaded: Vec<(String, ListEntry)>) {
        for (name, entry) in loaded {
            self.lists.insert(name, entry);
        }
    }
}

/// Builds an [`Engine`].
/// ```
/// use kensa_runtime::{Engine, DecideOptions};
/// let engine = Engine::builder()
///     .scorer(|_: &kensa_runtime::Record| Some(42.0))
///     .build("rules.kensa", "ruleset r { rule big -> block when amount > 1000 }")
///     .unwrap();
/// let d = engine.decide_json(br#"{"amount": 5000}"#, DecideOptions::default()).unwrap();
/// assert_eq!(&*d.outcome, "block");
/// assert_eq!(d.score, Some(42.0));
/// ```
pub struct EngineBuilder {
    evaluator: Evaluator,
    scorer: Option<Arc<dyn Scorer>>,
    store: Option<Arc<VelocityStore>>,
    lists_dir: Option<PathBuf>,
    lists: Vec<(String, String, Vec<u8>)>,
    shadow_samples: Option<usize>,
    schema: Schema,
}

impl Default for EngineBuilder {
    fn default() -> EngineBuilder {
        EngineBuilder {
            evaluator: Evaluator::default(),
            scorer: None,
            store: None,
            lists_dir: None,
            lists: Vec::new(),
            shadow_samples: None,
            schema: Schema::payment(),
        }
    }
}

impl EngineBuilder {
    /// The evaluator of every version this engine deploys (default: the JIT).
    pub fn evaluator(mut self, evaluator: Evaluator) -> Self {
        self.evaluator = evaluator;
        self
    }

    /// The host's model: its score replaces the event's `score` field.
    pub fn scorer(mut self, scorer: impl Scorer + 'static) -> Self {
        self.scorer = Some(Arc::new(scorer));
        self
    }

    /// The velocity store (default: a new, empty one). Give a store restored
    /// from a snapshot, or one shared with another engine.
    pub fn velocity_store(mut self, store: Arc<VelocityStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Where a deploy reads `<name>.txt` for a declared list the host has
    /// not given with [`Lists::replace`].
    pub fn lists_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.lists_dir = Some(dir.into());
        self
    }

    /// A list's content, given before the first deploy.
    pub fn list(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.lists.push((name.to_string(), name.to_string(), bytes.into()));
        self
    }

    /// The schema of the host's records: the built-in payment schema with
    /// the fields the host adds (`Schema::payment().with_host_field(..)`).
    /// Every rule set deployed is checked against it: it may read the host's
    /// fields without declaring them (default: the payment schema).
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = schema;
        self
    }

    /// How many differing decisions a shadow report keeps (default 100).
    pub fn shadow_samples(mut self, n: usize) -> Self {
        self.shadow_samples = Some(n);
        self
    }

    /// The engine with its first rule set (text or JSON; `name` labels its
    /// diagnostics), version 1.
    pub fn build(self, name: &str, source: &str) -> Result<Engine, DeployError> {
        let program = compile(name, source, &self.schema)?;
        self.build_program(program)
    }

    /// The engine with an already lowered first rule set.
    pub fn build_program(mut self, program: Program) -> Result<Engine, DeployError> {
        let lists = std::mem::take(&mut self.lists)
            .into_iter()
            .map(|(name, origin, bytes)| (name, ListEntry { origin, bytes: Some(bytes.into()), parsed: Vec::new() }))
            .collect();
        self.finish(program, lists)
    }

    /// Deploys the first version with these lists.
    fn finish(self, program: Program, lists: BTreeMap<String, ListEntry>) -> Result<Engine, DeployError> {
        let mut registry = Registry { lists, lists_dir: self.lists_dir, next_version: 1 };
        let store = self.store.unwrap_or_default();
        let tracker = Arc::new(Tracker::default());
        let (deployment, sets) =
            registry.build_version(program, self.evaluator, VelocityHome::Production(&store), Some(Arc::clone(&tracker)), None)?;
        Ok(Engine {
            active: ArcSwap::from_pointee(Active { deployment, lists: sets, shadow: None }),
            reaper: Reaper::start(),
            writer: Mutex::new(registry),
            store,
            scorer: self.scorer,
            evaluator: self.evaluator,
            tracker,
            shadow_samples: self.shadow_samples.unwrap_or(100),
            schema: self.schema,
        })
    }
}

/// Compiles rule-set source (text or JSON) against `schema` to a program.
fn compile(name: &str, source: &str, schema: &Schema) -> Result<Program, DeployError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    match kensa_compiler::compile_source_against(source, schema.clone()) {
        Ok(checked) => Ok(kensa_compiler::lower::lower(&checked)),
        Err(mut diagnostics) => {
            kensa_dsl::diagnostic::sort_by_position(&mut diagnostics);
            let file = SourceFile::new(name, source);
            let rendered = diagnostics.iter().map(|d| file.render(d)).collect();
            Err(DeployError::Rules { diagnostics, rendered })
        }
    }
}

/// A rule set with its lists and velocity state, deciding events; `Sync`:
/// share it between threads with `Arc` or by reference.
pub struct Engine {
    active: ArcSwap<Active>,
    /// Drops what `active` held once decisions let go of it.
    reaper: Reaper<Active>,
    writer: Mutex<Registry>,
    store: Arc<VelocityStore>,
    scorer: Option<Arc<dyn Scorer>>,
    evaluator: Evaluator,
    tracker: Arc<Tracker>,
    shadow_samples: usize,
    /// What deployed rule sets are checked against.
    schema: Schema,
}

thread_local! {
    /// Per thread: buffers for the active version and for a shadow.
    static SCRATCH: RefCell<(Scratch, Scratch)> = RefCell::new(Default::default());
}

/// Runs `f` with this thread's decision buffers: its own and the shadow
/// candidate's. A scorer that decides on this engine from inside a decision
/// re-enters here while they are lent out: it gets fresh buffers.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch, &mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut fresh = None;
        let mut borrowed = cell.try_borrow_mut();
        let (mine, theirs) = match borrowed.as_deref_mut() {
            Ok((a, b)) => (a, b),
            Err(_) => {
                let (a, b) = fresh.insert((Scratch::default(), Scratch::default()));
                (a, b)
            }
        };
        f(mine, theirs)
    })
}

impl Engine {
    /// An engine builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// An engine for a lowered program with its lists already parsed, in
    /// declaration order and of the declared kinds (as `lists::load_dir`
    /// returns them); a list left out is an error naming it.
    pub fn with_evaluator(program: Program, lists: Vec<Arc<SetData>>, evaluator: Evaluator) -> Result<Engine, JitError> {
        let given: Vec<(String, ListKind, Arc<SetData>)> =
            program.lists.iter().zip(lists).map(|(l, set)| (l.name.clone(), l.kind, set)).collect();
        let mut registry_lists = BTreeMap::new();
        for (name, kind, set) in given {
            registry_lists.insert(name.clone(), ListEntry { origin: name, bytes: None, parsed: vec![(kind, set)] });
        }
        Engine::builder().evaluator(evaluator).finish(program, registry_lists).map_err(|e| match e {
            DeployError::Compile(j) => j,
            other => JitError { message: other.to_string() },
        })
    }

    /// The evaluator of this engine's versions.
    pub fn evaluator(&self) -> Evaluator {
        self.evaluator
    }

    /// The active version. Holding it keeps it alive (and its code mapped).
    pub fn active(&self) -> Arc<Deployment> {
        Arc::clone(&self.active.load().deployment)
    }

    /// The active version's id.
    pub fn active_version(&self) -> VersionId {
        self.active.load().deployment.version()
    }

    /// An empty record in the active version's schema, to fill with
    /// [`Record::set_path`] and decide.
    pub fn new_record(&self) -> Record {
        Record::new(Arc::clone(&self.active.load().deployment.schema))
    }

    /// Decodes one JSON event in the active version's schema.
    pub fn decode(&self, json: &[u8]) -> Result<Record, EventError> {
        let active = self.active.load();
        active.deployment.decoder().decode_bytes(json).inspect_err(|_| self.tracker.invalid_event())
    }

    /// Decodes and decides one JSON event.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// let engine = Engine::builder().build("r", "ruleset r { rule big -> block when amount > 1000 }").unwrap();
    /// let d = engine.decide_json(br#"{"event": {"id": "p1"}, "amount": 5000}"#, DecideOptions::default()).unwrap();
    /// assert_eq!((&*d.outcome, d.code, d.event_id.as_deref()), ("block", 30, Some("p1")));
    /// let err = engine.decide_json(br#"{"amount": "lots"}"#, DecideOptions::default()).unwrap_err();
    /// assert!(err.message.starts_with("amount: "));
    /// ```
    pub fn decide_json(&self, json: &[u8], options: DecideOptions) -> Result<Decision, EventError> {
        let active = self.active.load();
        let record = active.deployment.decoder().decode_bytes(json).inspect_err(|_| self.tracker.invalid_event())?;
        Ok(self.decide_on(&active, &record, options))
    }

    /// Decides a record on the active version and, unless a dry run,
    /// records it into the velocity windows. A record of an older schema is
    /// read by path.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// # use kensa_compiler::value::Value;
    /// let engine = Engine::builder().build("r", "ruleset r { rule big -> block when amount > 1000 }").unwrap();
    /// let mut record = engine.new_record();
    /// record.set_path("amount", Value::number(20.0)).unwrap();
    /// assert_eq!(&*engine.decide(&record, DecideOptions::default()).outcome, "none");
    /// ```
    pub fn decide(&self, record: &Record, options: DecideOptions) -> Decision {
        let active = self.active.load();
        self.decide_on(&active, record, options)
    }

    /// Decides without recording anything: the same as
    /// `decide(record, DecideOptions { dry_run: true, .. })`.
    /// ```
    /// # use kensa_runtime::Engine;
    /// let engine = Engine::builder()
    ///     .build("r", "ruleset r { velocity n = count() by card.hash over 1h rule again -> alert when n > 1 }")
    ///     .unwrap();
    /// let record = engine.decode(br#"{"event": {"time": 1}, "card": {"hash": "c"}}"#).unwrap();
    /// engine.dry_run(&record);
    /// assert_eq!(&*engine.dry_run(&record).outcome, "none", "the first dry run recorded nothing");
    /// assert_eq!(engine.velocity_stats().entries, 0);
    /// ```
    pub fn dry_run(&self, record: &Record) -> Decision {
        self.decide(record, DecideOptions { dry_run: true, explain: false })
    }

    /// Decides `records` in order, each exactly as [`Engine::decide`]
    /// would one after another, and appends the decisions to `decided`.
    /// The batch runs on the version active when it starts (a deploy
    /// meanwhile applies from the next call), which is looked up once for
    /// the whole batch instead of once a record, and each record's memory
    /// starts loading a few records before its turn: for a thread deciding
    /// a stream of records, such as a replay.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// let engine = Engine::builder()
    ///     .build("r", "ruleset r { velocity n = count() by card.hash over 1h rule again -> alert when n > 1 }")
    ///     .unwrap();
    /// let records: Vec<_> = (0..3)
    ///     .map(|i| engine.decode(format!(r#"{{"event": {{"time": {i}}}, "card": {{"hash": "c"}}}}"#).as_bytes()).unwrap())
    ///     .collect();
    /// let mut decided = Vec::new();
    /// engine.decide_batch(&records, DecideOptions::default(), &mut decided);
    /// assert_eq!(decided.iter().map(|d| &*d.outcome).collect::<Vec<_>>(), ["none", "alert", "alert"]);
    /// ```
    pub fn decide_batch(&self, records: &[Record], options: DecideOptions, decided: &mut Vec<Decision>) {
        /// How many records ahead of the one deciding the slots, and then
        /// (once those have arrived) the strings, start loading.
        const SLOTS_AHEAD: usize = 4;
        const STRINGS_AHEAD: usize = 2;
        let active = self.active.load();
        for record in records.iter().take(SLOTS_AHEAD) {
            record.prefetch_slots();
        }
        with_scratch(|mine, theirs| {
            decided.reserve(records.len());
            for (i, record) in records.iter().enumerate() {
                // A batch's records were mostly written elsewhere (decoded
                // on another thread, or long ago): their first reads would
                // each wait for memory; started early, they overlap with
                // deciding the records before them.
                if let Some(ahead) = records.get(i + SLOTS_AHEAD) {
                    ahead.prefetch_slots();
                }
                if let Some(ahead) = records.get(i + STRINGS_AHEAD) {
                    ahead.prefetch_strings();
                }
                decided.push(self.decide_with(&active, record, options, mine, theirs));
            }
        });
    }

    fn decide_on(&self, active: &Active, record: &Record, options: DecideOptions) -> Decision {
        with_scratch(|mine, theirs| self.decide_with(active, record, options, mine, theirs))
    }

    /// Decides `record` on `active` with the buffers `mine` (its own) and
    /// `theirs` (the shadow candidate's).
    fn decide_with(&self, active: &Active, record: &Record, options: DecideOptions, mine: &mut Scratch, theirs: &mut Scratch) -> Decision {
        let d = &active.deployment;
        let record = record.in_layout(&d.schema);
        let score = self.scorer.as_deref().map_or(ScoreSource::Field, ScoreSource::Host);
        // With no shadow candidate to read production windows before
        // this event is recorded, reading and recording are one step.
        let recording = if active.shadow.is_none() && !options.dry_run { Recording::WithReads } else { Recording::Deferred };
        let decision = evaluate(d, &active.lists, &record, score, recording, options.explain, mine);
        if let Some(shadow) = &active.shadow {
            // The candidate reads production windows before the active
            // version records this event, as the active version did,
            // and reuses the host's score when the active version got one.
            let score = match score {
                ScoreSource::Host(_) if !decision.skip_scoring => ScoreSource::Known(decision.score),
                other => other,
            };
            shadow.decide(&record, score, &decision, options.dry_run, theirs);
        }
        if recording == Recording::Deferred && !options.dry_run {
            commit(d, &record, mine);
        }
        decision
    }

    /// Compiles and deploys a rule set (text or JSON; `name` labels its
    /// diagnostics), then swaps it in. Decisions in flight finish on the
    /// version they started with. On any error nothing changes.
    /// ```
    /// # use kensa_runtime::{DeployError, Engine};
    /// let engine = Engine::builder().build("v1.kensa", "ruleset r { rule big -> block when amount > 1000 }").unwrap();
    /// let v2 = engine.deploy("v2.kensa", "ruleset r { rule big -> block when amount > 500 }").unwrap();
    /// assert_eq!((v2.0, engine.active_version()), (2, v2));
    /// let Err(DeployError::Rules { rendered, .. }) = engine.deploy("v3.kensa", "ruleset r { rule x -> block when amont > 1 }") else {
    ///     panic!("a misspelt field is rejected")
    /// };
    /// assert!(rendered.starts_with("v3.kensa:1:"), "{rendered}");
    /// assert_eq!(engine.active_version(), v2);
    /// ```
    pub fn deploy(&self, name: &str, source: &str) -> Result<VersionId, DeployError> {
        let program = compile(name, source, &self.schema).inspect_err(|_| self.tracker.update_failed())?;
        self.deploy_program(program)
    }

    /// Deploys an already lowered rule set.
    pub fn deploy_program(&self, program: Program) -> Result<VersionId, DeployError> {
        let mut registry = self.writer.lock();
        let result = (|| {
            let home = VelocityHome::Production(&self.store);
            let current = self.active.load_full();
            let (deployment, lists) =
                registry.build_version(program, self.evaluator, home, Some(Arc::clone(&self.tracker)), Some(&current.deployment))?;
            let version = deployment.version();
            self.publish(Active { deployment, lists, shadow: current.shadow.clone() });
            Ok(version)
        })();
        match &result {
            Ok(_) => self.tracker.swapped(),
            Err(_) => self.tracker.update_failed(),
        }
        result
    }

    /// Publishes the next view for every decision that starts from now
    /// on; the one it replaces goes to the reaper. Callers hold `writer`.
    fn publish(&self, next: Active) {
        let old = self.active.swap(Arc::new(next));
        self.reaper.retire(old);
    }

    /// The lists, to replace one without recompiling the rule set.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// let engine = Engine::builder()
    ///     .list("bad_ips", "10.0.0.0/8")
    ///     .build("r", "ruleset r { list bad_ips: ip rule listed -> block when ip.address in bad_ips }")
    ///     .unwrap();
    /// let event = br#"{"ip": {"address": "192.168.7.7"}}"#;
    /// assert_eq!(&*engine.decide_json(event, DecideOptions::default()).unwrap().outcome, "none");
    /// engine.lists().replace("bad_ips", b"192.168.0.0/16\n").unwrap();
    /// assert_eq!(&*engine.decide_json(event, DecideOptions::default()).unwrap().outcome, "block");
    /// assert!(engine.lists().replace("bad_ips", b"not an address").is_err(), "and the old content stays");
    /// ```
    pub fn lists(&self) -> Lists<'_> {
        Lists { engine: self }
    }

    /// Runs a candidate rule set in shadow beside the active one, replacing
    /// any earlier candidate: it decides the same events, its decisions are
    /// compared (see [`Engine::shadow_report`]) and never returned. Its
    /// velocities that production records by the same definition read
    /// production state; the others get their own state. Never writes
    /// production state.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// let engine = Engine::builder().build("r", "ruleset r { rule big -> block when amount > 1000 }").unwrap();
    /// engine.deploy_shadow("c", "ruleset r { rule big -> block when amount > 100 }").unwrap();
    /// let d = engine.decide_json(br#"{"amount": 500}"#, DecideOptions::default()).unwrap();
    /// assert_eq!(&*d.outcome, "none", "the candidate never decides");
    /// let report = engine.shadow_report().unwrap();
    /// assert_eq!(report.pairs.get(&("none".into(), "block".into())), Some(&1));
    /// ```
    pub fn deploy_shadow(&self, name: &str, source: &str) -> Result<VersionId, DeployError> {
        let program = compile(name, source, &self.schema).inspect_err(|_| self.tracker.update_failed())?;
        let mut registry = self.writer.lock();
        let result = (|| {
            let own = VelocityStore::new();
            let home = VelocityHome::Shadow { production: &self.store, own: &own };
            let current = self.active.load_full();
            let (deployment, lists) = registry.build_version(program, self.evaluator, home, None, Some(&current.deployment))?;
            let version = deployment.version();
            let shadow = Arc::new(Shadow::new(deployment, lists, own, self.shadow_samples));
            self.publish(Active { deployment: Arc::clone(&current.deployment), lists: current.lists.clone(), shadow: Some(shadow) });
            Ok(version)
        })();
        if result.is_err() {
            self.tracker.update_failed();
        }
        result
    }

    /// Stops the shadow candidate; returns its final report.
    pub fn stop_shadow(&self) -> Option<ShadowReport> {
        let _registry = self.writer.lock();
        let current = self.active.load_full();
        let shadow = current.shadow.clone()?;
        self.publish(Active { deployment: Arc::clone(&current.deployment), lists: current.lists.clone(), shadow: None });
        Some(shadow.report())
    }

    /// What the shadow candidate has decided so far, when one runs.
    pub fn shadow_report(&self) -> Option<ShadowReport> {
        self.active.load().shadow.as_ref().map(|s| s.report())
    }

    /// The counters since the engine was built.
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine};
    /// let engine = Engine::builder().build("r", "ruleset r { rule big -> block when amount > 1000 }").unwrap();
    /// engine.decide_json(br#"{"amount": 5000}"#, DecideOptions::default()).unwrap();
    /// let c = engine.counters();
    /// assert_eq!((c.decisions, c.outcomes["block"], c.rule_hits["big"]), (1, 1, 1));
    /// ```
    pub fn counters(&self) -> Counters {
        self.tracker.snapshot()
    }

    /// The velocity store.
    pub fn velocity_store(&self) -> &Arc<VelocityStore> {
        &self.store
    }

    /// How many keys and entries the velocity store holds.
    pub fn velocity_stats(&self) -> StoreStats {
        self.store.stats()
    }

    /// Forgets every recorded event: the velocity windows start empty again.
    pub fn clear_velocities(&self) {
        self.store.clear();
    }

    /// Saves the velocity state to `path` atomically (see
    /// [`crate::store::snapshot`]).
    /// ```
    /// # use kensa_runtime::{DecideOptions, Engine, VelocityStore};
    /// # use std::sync::Arc;
    /// let rules = "ruleset r { velocity n = count() by card.hash over 1h rule again -> alert when n > 1 }";
    /// let event = br#"{"event": {"time": 1}, "card": {"hash": "c"}}"#;
    /// let engine = Engine::builder().build("r", rules).unwrap();
    /// engine.decide_json(event, DecideOptions::default()).unwrap();
    /// let path = std::env::temp_dir().join(format!("kensa-doc-{}.kvs", std::process::id()));
    /// engine.save_velocities(&path).unwrap();
    /// // After a restart: restore, then deploy; the window holds the first event.
    /// let store = Arc::new(VelocityStore::new());
    /// store.restore_snapshot(&path).unwrap();
    /// let restarted = Engine::builder().velocity_store(store).build("r", rules).unwrap();
    /// assert_eq!(&*restarted.decide_json(event, DecideOptions::default()).unwrap().outcome, "alert");
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn save_velocities(&self, path: &Path) -> Result<(), SnapshotError> {
        self.store.save_snapshot(path)
    }

    /// Replaces the velocity state with the snapshot at `path`; on error
    /// nothing changes. Restore before deciding: decisions made while it
    /// runs may see part of the old state.
    pub fn restore_velocities(&self, path: &Path) -> Result<(), SnapshotError> {
        self.store.restore_snapshot(path)
    }
}

/// The engine's lists: replace one while deciding, without recompiling.
pub struct Lists<'a> {
    engine: &'a Engine,
}

impl Lists<'_> {
    /// Replaces list `name` with the content of a list file (SPEC section
    /// 10), parsed as the kind the active rule set (and a shadow candidate)
    /// declares. Decisions after the call read the new content; decisions in
    /// flight finish on the old. A list no rule set declares yet is kept for
    /// a later deploy. On error the old content stays.
    pub fn replace(&self, name: &str, bytes: &[u8]) -> Result<(), ListError> {
        self.replace_from(name, name, bytes)
    }

    /// Replaces list `name` with the file at `path`.
    pub fn replace_file(&self, name: &str, path: &Path) -> Result<(), ListError> {
        let bytes = std::fs::read(path).map_err(|e| {
            self.engine.tracker.update_failed();
            ListError { message: format!("list `{name}`: cannot read {}: {e}", path.display()) }
        })?;
        self.replace_from(name, &path.display().to_string(), &bytes)
    }

    fn replace_from(&self, name: &str, origin: &str, bytes: &[u8]) -> Result<(), ListError> {
        let engine = self.engine;
        let mut registry = engine.writer.lock();
        let current = engine.active.load_full();
        let result = (|| {
            let mut parsed: Vec<(ListKind, Arc<SetData>)> = Vec::new();
            let mut need = |program: &Program| -> Result<Vec<(usize, Arc<SetData>)>, ListError> {
                let mut at = Vec::new();
                for (i, l) in program.lists.iter().enumerate().filter(|(_, l)| l.name == name) {
                    let set = match parsed.iter().find(|(k, _)| *k == l.kind) {
                        Some((_, s)) => Arc::clone(s),
                        None => {
                            let s = Arc::new(parse_list(origin, l.kind, bytes)?);
                            parsed.push((l.kind, Arc::clone(&s)));
                            s
                        }
                    };
                    at.push((i, set));
                }
                Ok(at)
            };
            let active_sets = need(&current.deployment.program)?;
            let shadow_sets = match &current.shadow {
                Some(s) => need(s.deployment().program())?,
                None => Vec::new(),
            };
            let replaced = |lists: &[Arc<SetData>], sets: &[(usize, Arc<SetData>)]| {
                let mut lists = lists.to_vec();
                for (i, s) in sets {
                    if let Some(slot) = lists.get_mut(*i) {
                        *slot = Arc::clone(s);
                    }
                }
                lists
            };
            let shadow = current.shadow.as_ref().map(|s| Arc::new(s.with_lists(replaced(s.lists(), &shadow_sets))));
            let next = Active { deployment: Arc::clone(&current.deployment), lists: replaced(&current.lists, &active_sets), shadow };
            registry.lists.insert(name.to_string(), ListEntry { origin: origin.to_string(), bytes: Some(bytes.into()), parsed });
            engine.publish(next);
            Ok(())
        })();
        match &result {
            Ok(()) => engine.tracker.list_swapped(),
            Err(_) => engine.tracker.update_failed(),
        }
        result
    }

    /// The names of the lists the host has given or a deploy has read.
    pub fn names(&self) -> Vec<String> {
        self.engine.writer.lock().lists.keys().cloned().collect()
    }
}
