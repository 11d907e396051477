//! The Cranelift JIT: every rule set compiled to native code, one function
//! per phase (phase 1: rules that do not read `score`; phase 2: those that
//! do). The language walk is in `lower.rs`; the inputs' layout and the
//! helpers generated code calls are in `abi.rs`.
//!
//! Lifecycle (as Cranelift's own front ends do it): declare the helpers and
//! the phase functions, define each, `finalize_definitions` once, then take
//! the function pointers. `JITModule` is `Send` but not `Sync`: it is owned
//! here behind a mutex, used only again to free its memory when the last
//! user of the compiled rule set drops it (INVARIANT CodeOutlivesCalls: the
//! function pointers are only called through `&JitProgram`, so the code
//! cannot be freed while a call is running).

#![allow(unsafe_code)] // calling generated code and reading helper contexts

pub mod abi;
pub mod index;
pub mod lower;

use crate::check::Phase;
use crate::interp::Env;
use crate::ir::{Node, Program};
use abi::{FallbackCtx, Inputs, PhaseFn, Predicate};
use crate::value::Value;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, JumpTableData, MemFlagsData, UserFuncName, Value as Ssa};
use index::PhaseIndex;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::sync::Mutex;

/// Why a rule set could not be compiled to native code (the interpreter can
/// still run it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitError {
    /// What failed.
    pub message: String,
}

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "native compilation failed: {}", self.message)
    }
}

impl std::error::Error for JitError {}

fn err(e: impl std::fmt::Display) -> JitError {
    JitError { message: e.to_string() }
}

/// A rule set compiled to native code.
pub struct JitProgram {
    module: Mutex<Option<JITModule>>,
    phase_one: PhaseFn,
    phase_two: PhaseFn,
    /// The chunk functions of indexed rules.
    chunks: Vec<ChunkFn>,
    /// Per phase: the indexed rules, by the values that select them.
    index: [PhaseIndex; 2],
    /// Per phase: whether it has any enabled rule. A phase without one is
    /// not run at all (a stateless rule set that reads `score` everywhere
    /// has an empty phase 1).
    has_rules: [bool; 2],
    /// Per phase: whether its function passes the helpers' context to a
    /// helper. One that does not is called with a null context
    /// (INVARIANT NoCtxNoRead: generated code only hands the context to
    /// helpers, never reads it), so a phase of comparisons alone does not
    /// pay for building one.
    uses_ctx: [bool; 2],
    /// The field a phase's score replaces.
    score_field: crate::schema::FieldId,
    /// How many values generated code reads from `Inputs::fields` (the
    /// program's fields) ...
    fields: usize,
    /// ... and from `Inputs::velocities` (the program's velocities).
    velocities: usize,
    predicates: Vec<Predicate>,
    fallback: Vec<Node>,
}

/// The signature of a chunk function: evaluates the indexed rule at entry
/// `local` of its table and returns 0, 1 or 2 (false, true, missing).
type ChunkFn = unsafe extern "C" fn(inputs: *const Inputs, ctx: *const u8, local: u32) -> u8;

/// The most rules a phase function compiles twice (a version for events
/// where every value it reads natively is present, and the general one):
/// beyond, one version, so compile time stays bounded.
pub const PRESENT_PATH_MAX_RULES: usize = 512;

/// How many indexed rules one chunk function holds: compile time grows
/// faster than linearly with a function's size, so large rule sets are
/// split.
pub const CHUNK_RULES: usize = 256;

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("predicates", &self.predicates.len())
            .field("chunks", &self.chunks.len())
            .field("fallback", &self.fallback.len())
            .finish()
    }
}

/// What every function of one program shares while it is compiled.
struct Shared {
    fallback: Vec<Node>,
    predicates: Vec<Predicate>,
}

/// The module and what defining a function needs.
struct Builder {
    module: JITModule,
    ctx: cranelift_codegen::Context,
    fctx: FunctionBuilderContext,
    truth: cranelift_module::FuncId,
    number: cranelift_module::FuncId,
    int: cranelift_module::FuncId,
    predicate: cranelift_module::FuncId,
    in_set: cranelift_module::FuncId,
    in_list: cranelift_module::FuncId,
    ptr: types::Type,
}

impl Builder {
    fn new() -> Result<Builder, JitError> {
        let mut flags = settings::builder();
        flags.set("use_colocated_libcalls", "false").map_err(err)?;
        flags.set("is_pic", "false").map_err(err)?;
        flags.set("opt_level", "speed").map_err(err)?;
        // The verifier guards tests; release builds skip its cost.
        flags.set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" }).map_err(err)?;
        let isa = cranelift_native::builder().map_err(err)?.finish(settings::Flags::new(flags)).map_err(err)?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        jb.symbol("kensa_jit_truth", abi::kensa_jit_truth as *const u8);
        jb.symbol("kensa_jit_number", abi::kensa_jit_number as *const u8);
        jb.symbol("kensa_jit_int", abi::kensa_jit_int as *const u8);
        jb.symbol("kensa_jit_predicate", abi::kensa_jit_predicate as *const u8);
        jb.symbol("kensa_jit_in_set", abi::kensa_jit_in_set as *const u8);
        jb.symbol("kensa_jit_in_list", abi::kensa_jit_in_list as *const u8);
        let mut module = JITModule::new(jb);
        let ptr = module.target_config().pointer_type();

        let mut truth_sig = module.make_signature();
        truth_sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32)]);
        truth_sig.returns.push(AbiParam::new(types::I8));
        let mut number_sig = module.make_signature();
        number_sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32)]);
        number_sig.returns.push(AbiParam::new(types::F64));
        let mut int_sig = module.make_signature();
        int_sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32), AbiParam::new(ptr)]);
        int_sig.returns.push(AbiParam::new(types::I8));
        let truth = module.declare_function("kensa_jit_truth", Linkage::Import, &truth_sig).map_err(err)?;
        let number = module.declare_function("kensa_jit_number", Linkage::Import, &number_sig).map_err(err)?;
        let int = module.declare_function("kensa_jit_int", Linkage::Import, &int_sig).map_err(err)?;
        // Same C signature as the truth helper.
        let predicate = module.declare_function("kensa_jit_predicate", Linkage::Import, &truth_sig).map_err(err)?;
        let mut in_set_sig = module.make_signature();
        in_set_sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr)]);
        in_set_sig.returns.push(AbiParam::new(types::I8));
        let in_set = module.declare_function("kensa_jit_in_set", Linkage::Import, &in_set_sig).map_err(err)?;
        let mut in_list_sig = module.make_signature();
        in_list_sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32), AbiParam::new(ptr)]);
        in_list_sig.returns.push(AbiParam::new(types::I8));
        let in_list = module.declare_function("kensa_jit_in_list", Linkage::Import, &in_list_sig).map_err(err)?;
        let ctx = module.make_context();
        Ok(Builder { module, ctx, fctx: FunctionBuilderContext::new(), truth, number, int, predicate, in_set, in_list, ptr })
    }

    /// The signature `(inputs, ctx, extra) -> returns`.
    fn signature(&self, extra: Option<types::Type>, returns: Option<types::Type>) -> cranelift_codegen::ir::Signature {
        let mut sig = self.module.make_signature();
        sig.params.extend([AbiParam::new(self.ptr), AbiParam::new(self.ptr)]);
        sig.params.extend(extra.map(AbiParam::new));
        sig.returns.extend(returns.map(AbiParam::new));
        sig
    }

    /// Declares and defines one function; `body` gets a translator at the
    /// entry block and the fourth parameter, and ends every block it makes.
    fn define(
        &mut self,
        name: &str,
        sig: cranelift_codegen::ir::Signature,
        program: &Program,
        shared: &mut Shared,
        body: impl FnOnce(&mut lower::Translator<'_, '_>, Ssa) -> Result<(), JitError>,
    ) -> Result<(cranelift_module::FuncId, bool), JitError> {
        let id = self.module.declare_function(name, Linkage::Local, &sig).map_err(err)?;
        let uses_ctx;
        self.ctx.func.signature = sig;
        self.ctx.func.name = UserFuncName::user(0, id.as_u32());
        {
            let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let (Some(&inputs), Some(&cx), Some(&extra)) = (params.first(), params.get(1), params.get(2)) else {
                return Err(err("function signature"));
            };
            // The input pointers, loaded once at entry.
            let flags = lower::slot_flags();
            let ptr = self.ptr;
            let mut base = |at: i32| b.ins().load(ptr, flags, inputs, at);
            let bases = lower::Bases {
                fields: base(abi::layout::FIELDS_AT),
                velocities: base(abi::layout::VELOCITIES_AT),
                score: base(abi::layout::SCORE_AT),
            };
            let helpers = lower::Helpers {
                truth: self.module.declare_func_in_func(self.truth, b.func),
                number: self.module.declare_func_in_func(self.number, b.func),
                int: self.module.declare_func_in_func(self.int, b.func),
                predicate: self.module.declare_func_in_func(self.predicate, b.func),
                in_set: self.module.declare_func_in_func(self.in_set, b.func),
                in_list: self.module.declare_func_in_func(self.in_list, b.func),
            };
            let mut t = lower::Translator {
                b: &mut b,
                program,
                fallback: &mut shared.fallback,
                predicates: &mut shared.predicates,
                helpers: &helpers,
                bases,
                ctx: cx,
                uses_ctx: false,
                ptr: self.ptr,
                preloaded: std::collections::HashMap::new(),
                shared_answers: std::collections::HashMap::new(),
                assume_present: false,
            };
            body(&mut t, extra)?;
            uses_ctx = t.uses_ctx;
            b.seal_all_blocks();
            b.finalize(self.module.target_config());
        }
        self.module.define_function(id, &mut self.ctx).map_err(err)?;
        self.module.clear_context(&mut self.ctx);
        Ok((id, uses_ctx))
    }
}

impl JitProgram {
    /// Compiles every enabled rule of `program`: per phase, one function
    /// for the rules that are not indexed, and chunk functions for the
    /// indexed ones (see `index.rs`).
    pub fn compile(program: &Program) -> Result<JitProgram, JitError> {
        let mut bld = Builder::new()?;
        let mut shared = Shared { fallback: Vec::new(), predicates: Vec::new() };
        let phases = [Phase::One, Phase::Two];
        let mut phase_ids = Vec::new();
        let mut phase_uses_ctx = Vec::new();
        let mut indexed: Vec<(usize, index::Guarded)> = Vec::new();
        for (n, phase) in phases.into_iter().enumerate() {
            let in_phase = |i: usize| program.rules.get(i).is_some_and(|r| r.phase == phase && r.enabled);
            let (rest, guarded) = index::plan(program, in_phase);
            indexed.extend(guarded.into_iter().map(|g| (n, g)));
            let sig = bld.signature(Some(bld.ptr), None);
            let (id, uses_ctx) = bld.define(&format!("phase_{}", n + 1), sig, program, &mut shared, |t, out| {
                let conditions = || rest.iter().filter_map(|&i| program.rules.get(i)).map(|r| &r.when);
                t.preload_strings(conditions());
                t.share_predicates(conditions());
                let rules = |t: &mut lower::Translator<'_, '_>| -> Result<(), JitError> {
                    for &i in &rest {
                        let Some(rule) = program.rules.get(i) else { continue };
                        let (v, missing) = t.condition(&rule.when);
                        // out[i] = missing ? 2 : v
                        let two = t.b.ins().iconst(types::I8, 2);
                        let answer = t.b.ins().select(missing, two, v);
                        let offset = i32::try_from(i).map_err(err)?;
                        t.b.ins().store(MemFlagsData::trusted(), answer, out, offset);
                    }
                    t.b.ins().return_(&[]);
                    Ok(())
                };
                // Two versions of the rules: one for events where every
                // value the generated code reads is present, compiled
                // knowing that (three-valued logic folds to plain and/or),
                // and the general one for the others.
                let sources = t.native_sources(conditions());
                if sources.is_empty() || rest.len() > PRESENT_PATH_MAX_RULES {
                    return rules(t);
                }
                let all_present = t.all_present(&sources);
                let (present, general) = (t.b.create_block(), t.b.create_block());
                t.b.ins().brif(all_present, present, &[], general, &[]);
                t.b.switch_to_block(present);
                t.assume_present = true;
                rules(t)?;
                t.b.switch_to_block(general);
                t.assume_present = false;
                rules(t)
            })?;
            phase_ids.push(id);
            phase_uses_ctx.push(uses_ctx);
        }

        let mut chunk_ids = Vec::new();
        for (c, rules) in indexed.chunks(CHUNK_RULES).enumerate() {
            let sig = bld.signature(Some(types::I32), Some(types::I8));
            let (id, _) = bld.define(&format!("chunk_{c}"), sig, program, &mut shared, |t, local| {
                let blocks: Vec<_> = rules.iter().map(|_| t.b.create_block()).collect();
                let otherwise = t.b.create_block();
                let default_call = t.b.func.dfg.block_call(otherwise, &[]);
                let calls: Vec<_> = blocks.iter().map(|blk| t.b.func.dfg.block_call(*blk, &[])).collect();
                let table = t.b.create_jump_table(JumpTableData::new(default_call, &calls));
                t.b.ins().br_table(local, table);
                for ((_, g), blk) in rules.iter().zip(&blocks) {
                    t.b.switch_to_block(*blk);
                    let (v, missing) = t.condition(&g.body);
                    let two = t.b.ins().iconst(types::I8, 2);
                    let answer = t.b.ins().select(missing, two, v);
                    t.b.ins().return_(&[answer]);
                }
                t.b.switch_to_block(otherwise);
                let zero = t.b.ins().iconst(types::I8, 0);
                t.b.ins().return_(&[zero]);
                Ok(())
            })?;
            chunk_ids.push(id);
        }

        bld.module.finalize_definitions().map_err(err)?;
        let (Some(&one), Some(&two)) = (phase_ids.first(), phase_ids.get(1)) else {
            return Err(err("phase functions"));
        };
        // SAFETY: the phase functions were defined with the signature
        // `(ptr, ptr, ptr, ptr)`, the C signature of `PhaseFn`, and the chunk
        // functions with `(ptr, ptr, ptr, i32) -> i8`, that of `ChunkFn`; the
        // module is kept alive in `self`.
        let (phase_one, phase_two, chunks) = unsafe {
            (
                std::mem::transmute::<*const u8, PhaseFn>(bld.module.get_finalized_function(one)),
                std::mem::transmute::<*const u8, PhaseFn>(bld.module.get_finalized_function(two)),
                chunk_ids
                    .iter()
                    .map(|id| std::mem::transmute::<*const u8, ChunkFn>(bld.module.get_finalized_function(*id)))
                    .collect(),
            )
        };
        let mut index = [PhaseIndex::default(), PhaseIndex::default()];
        for (k, (phase, g)) in indexed.iter().enumerate() {
            let entry = index::Entry {
                rule: u32::try_from(g.rule).map_err(err)?,
                chunk: u32::try_from(k / CHUNK_RULES).map_err(err)?,
                local: u32::try_from(k % CHUNK_RULES).map_err(err)?,
            };
            if let Some(ix) = index.get_mut(*phase) {
                ix.insert(g.field, &g.keys, entry);
            }
        }
        let has_rules = phases.map(|phase| program.rules.iter().any(|r| r.phase == phase && r.enabled));
        let uses_ctx = [0, 1].map(|n| phase_uses_ctx.get(n).copied().unwrap_or(true));
        Ok(JitProgram {
            module: Mutex::new(Some(bld.module)),
            phase_one,
            phase_two,
            chunks,
            index,
            has_rules,
            uses_ctx,
            score_field: program.score_field,
            fields: program.schema.fields().len(),
            velocities: program.velocities.len(),
            predicates: shared.predicates,
            fallback: shared.fallback,
        })
    }

    /// Runs one phase: `out[i]` becomes 1 for every enabled rule `i` of that
    /// phase that is true, and 0 or 2 (false, missing) for the others, except
    /// that an indexed rule the event cannot select is 0 without being
    /// evaluated. Other entries are untouched, unless the phase has indexed
    /// rules: then every entry not of the phase is set to 0. A phase without
    /// enabled rules writes nothing ([`JitProgram::has_rules`]). `out` must
    /// hold one byte per rule of the program. The phase reads `score` through
    /// `env.field` (a phase may replace it) and everything else in place
    /// when the environment lends its values (see [`Env::values`]).
    ///
    /// Generic over the environment so that a caller holding a concrete one
    /// (a decision's, a bench's) lends its values and score without a
    /// dynamic call; what is not small (copying values an environment does
    /// not lend, running indexed chunks) stays in non-generic functions.
    #[inline]
    pub fn run<E: Env>(&self, phase: Phase, env: &E, out: &mut [u8], rules: usize) {
        if !self.has_rules(phase) {
            return;
        }
        let Some(out) = out.get_mut(..rules) else { return };
        match env.values() {
            Some((fields, velocities)) if fields.len() >= self.fields && velocities.len() >= self.velocities => {
                // Phase 1 code never reads the score (rules that read it are
                // phase 2): the record's own value stands in, without a call.
                let score = match phase {
                    Phase::One => fields.get(self.score_field.0 as usize).unwrap_or(&Value::Missing),
                    Phase::Two => env.field(self.score_field),
                };
                self.run_on(phase, env, Lent { fields, velocities, score, lists: env.lists() }, out);
            }
            _ => self.run_copied(phase, env, out),
        }
    }

    /// [`JitProgram::run`] for an environment that does not lend its
    /// values (or lends too few): they are copied, since generated code
    /// reads one per field and per velocity.
    #[cold]
    #[inline(never)]
    fn run_copied(&self, phase: Phase, env: &dyn Env, out: &mut [u8]) {
        let fields: Vec<Value> =
            (0..self.fields).map(|i| env.field(crate::schema::FieldId(u32::try_from(i).unwrap_or(u32::MAX))).clone()).collect();
        let velocities: Vec<Value> =
            (0..self.velocities).map(|i| env.velocity(crate::ir::VelocityId(u32::try_from(i).unwrap_or(u32::MAX))).clone()).collect();
        let score = env.field(self.score_field);
        self.run_on(phase, env, Lent { fields: &fields, velocities: &velocities, score, lists: env.lists() }, out);
    }

    /// Runs a phase reading the values `lent` in place. Inlined into
    /// [`JitProgram::run`]: for a phase without indexed rules this is one
    /// call into generated code, and a small rule set's time is mostly such
    /// fixed costs.
    #[inline]
    fn run_on(&self, phase: Phase, env: &dyn Env, lent: Lent<'_>, out: &mut [u8]) {
        let Lent { fields, velocities, score, lists } = lent;
        debug_assert!(fields.len() >= self.fields && velocities.len() >= self.velocities);
        let inputs = Inputs {
            fields: fields.as_ptr(),
            velocities: velocities.as_ptr(),
            score,
        };
        let [index_one, index_two] = &self.index;
        let [ctx_one, ctx_two] = self.uses_ctx;
        let (f, index, uses_ctx) = match phase {
            Phase::One => (self.phase_one, index_one, ctx_one),
            Phase::Two => (self.phase_two, index_two, ctx_two),
        };
        if index.is_empty() && !uses_ctx {
            // SAFETY: as below; the code never touches the null context
            // (NoCtxNoRead).
            unsafe { f(&raw const inputs, std::ptr::null(), out.as_mut_ptr()) };
            return;
        }
        let ctx = FallbackCtx { env, lists, nodes: &self.fallback, predicates: &self.predicates };
        if index.is_empty() {
            // SAFETY: `inputs` points to at least one value per field and per
            // velocity of the program (the INVARIANT on `Lent`) and a live score
            // value, all borrowed for the call (generated code reads only ids of
            // the program, and a payload only after checking its tag, so any
            // value is safe to read); `out` holds a byte per rule, the highest
            // offset the code writes; `ctx` outlives the call; the code lives as
            // long as `self` (CodeOutlivesCalls).
            unsafe { f(&raw const inputs, std::ptr::from_ref(&ctx).cast::<u8>(), out.as_mut_ptr()) }
        } else {
            self.run_indexed(f, index, &inputs, &ctx, out);
        }
    }

    /// The phase function `f`, then the chunks `index` selects for the
    /// event: every entry of `out` is cleared first, since only selected
    /// rules are evaluated.
    #[inline(never)]
    fn run_indexed(&self, f: PhaseFn, index: &PhaseIndex, inputs: &Inputs, ctx: &FallbackCtx<'_>, out: &mut [u8]) {
        let ctx_ptr = std::ptr::from_ref(ctx).cast::<u8>();
        out.fill(0);
        // SAFETY: as in `run_on`.
        unsafe {
            f(inputs, ctx_ptr, out.as_mut_ptr());
        }
        index.candidates(ctx.env, |e| {
            let Some(chunk) = self.chunks.get(e.chunk as usize) else { return };
            // SAFETY: as above; `e.local` is an entry of this chunk's table
            // (an index past it returns 0).
            let answer = unsafe { chunk(inputs, ctx_ptr, e.local) };
            if let Some(slot) = out.get_mut(e.rule as usize) {
                *slot = answer;
            }
        });
    }

    /// Whether `phase` has any enabled rule: when not, [`JitProgram::run`]
    /// returns at once and leaves nothing to read in its answers.
    pub fn has_rules(&self, phase: Phase) -> bool {
        let [one, two] = self.has_rules;
        match phase {
            Phase::One => one,
            Phase::Two => two,
        }
    }

    /// How many rules are indexed (evaluated only when selected).
    pub fn indexed_rules(&self) -> usize {
        self.index.iter().map(PhaseIndex::rules).sum()
    }

    /// How many subtrees the generated code hands to the interpreter.
    pub fn fallback_count(&self) -> usize {
        self.fallback.len()
    }
}

/// The values one run of a phase reads in place.
///
/// INVARIANT (relied on by `run_on`'s call into generated code): `fields`
/// holds at least one value per field of the program and `velocities` one
/// per velocity.
struct Lent<'a> {
    fields: &'a [Value],
    velocities: &'a [Value],
    /// The event's score as this phase sees it.
    score: &'a Value,
    /// The lists by id, when the environment lends them.
    lists: Option<&'a [std::sync::Arc<crate::ir::SetData>]>,
}

/// Calls `f` with every `i` where `out[i] == 1` (a true rule after
/// [`JitProgram::run`]), in order. Answers are 0, 1 or 2, so a word of eight
/// answers holds a true rule exactly when one of its bytes has bit 0 set:
/// words of false and missing rules are skipped eight at a time.
#[inline]
pub fn for_each_true(out: &[u8], mut f: impl FnMut(usize)) {
    const LOW_BITS: u64 = 0x0101_0101_0101_0101;
    let mut words = out.chunks_exact(8);
    let mut base = 0;
    for word in words.by_ref() {
        let bits = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default()) & LOW_BITS;
        if bits != 0 {
            for (k, b) in word.iter().enumerate() {
                if *b == 1 {
                    f(base + k);
                }
            }
        }
        base += 8;
    }
    for (k, b) in words.remainder().iter().enumerate() {
        if *b == 1 {
            f(base + k);
        }
    }
}

impl Drop for JitProgram {
    fn drop(&mut self) {
        let module = match self.module.get_mut() {
            Ok(m) => m.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(module) = module {
            // SAFETY: the function pointers die with `self`, and no call can
            // be running: calls borrow `self` (CodeOutlivesCalls).
            unsafe { module.free_memory() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{for_each_true, JitProgram};
    use crate::check::Phase;
    use crate::interp::Env;
    use crate::ir::{ListId, SetData, VelocityId};
    use crate::schema::FieldId;
    use crate::value::Value;

    /// An environment over one vector of field values; lends them when
    /// `lend` (else the JIT copies them).
    struct Fields {
        values: Vec<Value>,
        lend: bool,
    }

    static NO_SET: SetData = SetData::Values(Vec::new());

    impl Env for Fields {
        fn field(&self, id: FieldId) -> &Value {
            self.values.get(id.0 as usize).unwrap_or(&Value::Missing)
        }
        fn velocity(&self, _: VelocityId) -> &Value {
            &Value::Missing
        }
        fn list(&self, _: ListId) -> &SetData {
            &NO_SET
        }
        fn values(&self) -> Option<(&[Value], &[Value])> {
            self.lend.then_some((self.values.as_slice(), &[]))
        }
    }

    #[test]
    fn values_are_read_in_place_or_copied_with_the_same_answers() {
        let src = r#"ruleset t {
            rule big -> block when amount > 1000 and currency == "JPY"
            rule yen -> alert when currency != "JPY"
            rule late -> challenge when event.time > @2026-01-01T00:00:00Z
        }"#;
        let program = crate::lower::lower(&crate::compile_source(src).unwrap());
        let jit = JitProgram::compile(&program).unwrap();
        let slot = |p: &str| program.schema.lookup(p).unwrap().0 .0 as usize;
        let mut values = vec![Value::Missing; program.schema.fields().len()];
        values[slot("amount")] = Value::Number(5000.0);
        values[slot("currency")] = Value::str("JPY");
        values[slot("event.time")] = Value::Timestamp(1_767_225_600_001);
        let n = program.rules.len();
        let answers = |env: &Fields| {
            let mut out = vec![9u8; n];
            jit.run(Phase::One, env, &mut out, n);
            out
        };
        let lent = answers(&Fields { values: values.clone(), lend: true });
        assert_eq!(lent, vec![1, 0, 1]);
        assert_eq!(answers(&Fields { values: values.clone(), lend: false }), lent);
        // Too few values lent: copied (the rest read as missing), never
        // read past the end.
        let mut padded = values[..2].to_vec();
        padded.resize(values.len(), Value::Missing);
        assert_eq!(answers(&Fields { values: values[..2].to_vec(), lend: true }), answers(&Fields { values: padded, lend: true }));
    }

    #[test]
    fn hour_and_weekday_in_generated_code_agree_with_the_interpreter() {
        let offsets = ["Z", "+09:00", "-05:30", "+14:00", "-12:00"];
        let mut src = String::from("ruleset t {\n  field custom.t: timestamp\n");
        for (o, off) in offsets.iter().enumerate() {
            for k in 0..24 {
                src.push_str(&format!("  rule h{o}_{k} -> alert when hour(custom.t, \"{off}\") == {k}\n"));
            }
            for k in 1..=7 {
                src.push_str(&format!("  rule w{o}_{k} -> alert when weekday(custom.t, \"{off}\") == {k}\n"));
            }
            src.push_str(&format!("  rule m{o} -> alert when hour(custom.t, \"{off}\") is missing or weekday(custom.t, \"{off}\") is missing\n"));
        }
        src.push('}');
        let program = crate::lower::lower(&crate::compile_source(&src).unwrap());
        let jit = JitProgram::compile(&program).unwrap();
        assert_eq!(jit.fallback_count(), 0, "hour and weekday are compiled, not handed to the interpreter");
        let slot = program.schema.lookup("custom.t").unwrap().0 .0 as usize;
        let day = 86_400_000i64;
        let mut times = vec![0, -1, 1, -day, -day - 1, -day + 1, day - 1, 1_767_225_600_000, -3_600_000 * 5 + 1, i64::MAX, i64::MIN];
        times.extend([i64::MAX - 1_000, i64::MIN + 1_000, i64::MAX - 50_400_000, i64::MIN + 43_200_000]);
        times.extend((0..200i64).map(|i| (i * 7_919_333_331).wrapping_mul(if i % 2 == 0 { 1 } else { -1 })));
        let n = program.rules.len();
        for t in times {
            let mut values = vec![Value::Missing; program.schema.fields().len()];
            values[slot] = Value::Timestamp(t);
            let env = Fields { values, lend: true };
            let mut out = vec![9u8; n];
            jit.run(Phase::One, &env, &mut out, n);
            for (i, rule) in program.rules.iter().enumerate() {
                let expected = match crate::interp::truth(&rule.when, &env) {
                    Some(true) => 1,
                    Some(false) => 0,
                    None => 2,
                };
                assert_eq!(out[i], expected, "{} at {t}", rule.id);
            }
        }
    }

    #[test]
    fn a_phase_is_called_without_a_context_only_when_no_helper_needs_one() {
        let compiled = |src: &str| JitProgram::compile(&crate::lower::lower(&crate::compile_source(src).unwrap())).unwrap();
        // Comparisons only, native string equality included; a set lookup
        // gets its set's address, not the context.
        let native = compiled(r#"ruleset t { rule a -> block when amount > 1000 and currency == "JPY" and currency in ("JPY", "USD") }"#);
        assert_eq!(native.uses_ctx, [false, false]);
        // A declared list is found through the context, and so is a
        // subtree the interpreter evaluates (a regex).
        let listed = compiled(r#"ruleset t { list bins: string rule a -> block when card.bin in bins }"#);
        assert_eq!(listed.uses_ctx, [true, false]);
        let fallback = compiled(r#"ruleset t { rule a -> alert when matches(customer.id, "^a") and score > 1 }"#);
        assert_eq!(fallback.uses_ctx, [false, true]);
    }

    #[test]
    fn for_each_true_finds_every_true_answer_in_order() {
        for len in [0usize, 1, 7, 8, 9, 16, 17, 100] {
            let out: Vec<u8> = (0..len).map(|i| [0u8, 1, 2, 2, 0, 1, 0][i % 7]).collect();
            let mut found = Vec::new();
            for_each_true(&out, |i| found.push(i));
            let expected: Vec<usize> = (0..len).filter(|i| out.get(*i) == Some(&1)).collect();
            assert_eq!(found, expected, "length {len}");
        }
    }
}
