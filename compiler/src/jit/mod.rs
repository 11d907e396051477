//! The Cranelift JIT: every rule set compiled to native code, one function
//! per phase (phase 1: rules that do not read `score`; phase 2: those that
//! do). The language walk is in `lower.rs`; the frame layout and the
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
pub mod lower;

use crate::check::Phase;
use crate::interp::Env;
use crate::ir::{Node, Program};
use abi::{FallbackCtx, Frame, Kind, PhaseFn, Source};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, UserFuncName};
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
    slots: Vec<(Source, Kind)>,
    fallback: Vec<Node>,
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram").field("slots", &self.slots.len()).field("fallback", &self.fallback.len()).finish()
    }
}

impl JitProgram {
    /// Compiles every enabled rule of `program`.
    pub fn compile(program: &Program) -> Result<JitProgram, JitError> {
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
        let truth_id = module.declare_function("kensa_jit_truth", Linkage::Import, &truth_sig).map_err(err)?;
        let number_id = module.declare_function("kensa_jit_number", Linkage::Import, &number_sig).map_err(err)?;
        let int_id = module.declare_function("kensa_jit_int", Linkage::Import, &int_sig).map_err(err)?;

        let mut phase_sig = module.make_signature();
        phase_sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr)]);

        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut slots = Vec::new();
        let mut fallback = Vec::new();
        let mut ids = Vec::new();
        for (n, phase) in [Phase::One, Phase::Two].into_iter().enumerate() {
            let name = format!("phase_{}", n + 1);
            let id = module.declare_function(&name, Linkage::Local, &phase_sig).map_err(err)?;
            ctx.func.signature = phase_sig.clone();
            ctx.func.name = UserFuncName::user(0, id.as_u32());
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                let params = b.block_params(entry).to_vec();
                let (Some(&vals), Some(&present), Some(&cx), Some(&out)) =
                    (params.first(), params.get(1), params.get(2), params.get(3))
                else {
                    return Err(err("phase signature"));
                };
                let helpers = lower::Helpers {
                    truth: module.declare_func_in_func(truth_id, b.func),
                    number: module.declare_func_in_func(number_id, b.func),
                    int: module.declare_func_in_func(int_id, b.func),
                };
                let mut t = lower::Translator {
                    b: &mut b,
                    program,
                    slots: &mut slots,
                    fallback: &mut fallback,
                    helpers: &helpers,
                    vals,
                    present,
                    ctx: cx,
                    ptr,
                };
                for (i, rule) in program.rules.iter().enumerate() {
                    if rule.phase != phase || !rule.enabled {
                        continue;
                    }
                    let (v, missing) = t.condition(&rule.when);
                    // out[i] = missing ? 2 : v
                    let two = t.b.ins().iconst(types::I8, 2);
                    let answer = t.b.ins().select(missing, two, v);
                    let offset = i32::try_from(i).map_err(err)?;
                    t.b.ins().store(MemFlagsData::trusted(), answer, out, offset);
                }
                b.ins().return_(&[]);
                b.seal_all_blocks();
                b.finalize(module.target_config());
            }
            module.define_function(id, &mut ctx).map_err(err)?;
            module.clear_context(&mut ctx);
            ids.push(id);
        }
        module.finalize_definitions().map_err(err)?;
        let (Some(&one), Some(&two)) = (ids.first(), ids.get(1)) else {
            return Err(err("phase functions"));
        };
        // SAFETY: both functions were defined with `phase_sig`, which is the
        // C signature of `PhaseFn`; the module is kept alive in `self`.
        let (phase_one, phase_two) = unsafe {
            (
                std::mem::transmute::<*const u8, PhaseFn>(module.get_finalized_function(one)),
                std::mem::transmute::<*const u8, PhaseFn>(module.get_finalized_function(two)),
            )
        };
        Ok(JitProgram { module: Mutex::new(Some(module)), phase_one, phase_two, slots, fallback })
    }

    /// Runs one phase: `out[i]` becomes 0, 1 or 2 (false, true, missing) for
    /// every enabled rule `i` of that phase; other entries are untouched.
    /// `out` must hold one byte per rule of the program.
    pub fn run(&self, phase: Phase, env: &dyn Env, frame: &mut Frame, out: &mut [u8], rules: usize) {
        if out.len() < rules {
            return;
        }
        frame.fill(&self.slots, env);
        let ctx = FallbackCtx { env, nodes: &self.fallback };
        let f = match phase {
            Phase::One => self.phase_one,
            Phase::Two => self.phase_two,
        };
        // SAFETY: the frame holds one cell and one presence byte per slot the
        // code reads (filled just above from the same `slots`); `out` holds a
        // byte per rule, the highest offset the code writes; `ctx` outlives
        // the call; the code lives as long as `self` (CodeOutlivesCalls).
        unsafe {
            f(frame.vals.as_ptr(), frame.present.as_ptr(), std::ptr::from_ref(&ctx).cast::<u8>(), out.as_mut_ptr());
        }
    }

    /// How many subtrees the generated code hands to the interpreter.
    pub fn fallback_count(&self) -> usize {
        self.fallback.len()
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
