//! The boundary between generated code and Rust: the frame of native values
//! a compiled rule set reads, the signature of its phase functions, and the
//! `extern "C"` helpers it calls for what it does not compile natively
//! (strings, IP addresses, lists, sets, regexes, most built-ins).
//!
//! INVARIANT (HelpersNeverUnwind): every helper catches panics and answers
//! "missing" instead, so no unwinding ever crosses into generated code.

use crate::interp::{self, Env};
use crate::ir::{ListId, Node, SetData, VelocityId};
use crate::schema::FieldId;
use crate::value::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The native kinds generated code computes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `number`: an f64.
    F64,
    /// `timestamp` or `duration`: an i64 of milliseconds.
    I64,
    /// `bool`: an i8, 0 or 1.
    Bool,
}

/// Where a frame slot's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A field of the record (for `score`, the score of the phase).
    Field(FieldId),
    /// A velocity's value for this event.
    Velocity(VelocityId),
}

/// A string test on one field that generated code asks for through
/// [`kensa_jit_predicate`] when (and only when) evaluation reaches it: the
/// common string conditions of fraud rules (`currency == "JPY"`,
/// `card.bin in prepaid_bins`, `ip.country in ("KP", "IR")`) cost a
/// comparison or one lookup each, not a walk of the interpreter.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// `field == value`, or `!=` when `negate`.
    StrEq {
        /// The field (a string).
        field: FieldId,
        /// The constant.
        value: Arc<str>,
        /// `!=`
        negate: bool,
    },
    /// `field in (...)`
    InSet {
        /// The field.
        field: FieldId,
        /// The inline set.
        set: Arc<SetData>,
    },
    /// `field in list`
    InList {
        /// The field.
        field: FieldId,
        /// The list.
        list: ListId,
    },
}

impl Predicate {
    /// The truth of the test for this event (`None`: missing).
    pub fn truth(&self, env: &dyn Env) -> Option<bool> {
        match self {
            Predicate::StrEq { field, value, negate } => match env.field(*field) {
                Value::Str(s) => Some((**s == **value) != *negate),
                _ => None,
            },
            Predicate::InSet { field, set } => interp::member(set, env.field(*field)),
            Predicate::InList { field, list } => interp::member(env.list(*list), env.field(*field)),
        }
    }
}

/// The values generated code reads: one 8-byte cell and one presence byte
/// per slot. A cell holds f64 bits, an i64, or 0/1 for a bool.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    /// Cells, by slot.
    pub vals: Vec<u64>,
    /// 1 when the slot's value is present, by slot.
    pub present: Vec<u8>,
}

impl Frame {
    /// Fills every slot from an environment.
    pub fn fill(&mut self, slots: &[(Source, Kind)], env: &dyn Env) {
        self.vals.resize(slots.len(), 0);
        self.present.resize(slots.len(), 0);
        for (i, (source, kind)) in slots.iter().enumerate() {
            self.fill_slot(i, *source, *kind, env);
        }
    }

    /// Fills the slots at `which` again (the score's, between the phases).
    pub fn refill(&mut self, which: &[usize], slots: &[(Source, Kind)], env: &dyn Env) {
        for &i in which {
            if let Some((source, kind)) = slots.get(i) {
                self.fill_slot(i, *source, *kind, env);
            }
        }
    }

    fn fill_slot(&mut self, i: usize, source: Source, kind: Kind, env: &dyn Env) {
        let v = match source {
            Source::Field(f) => env.field(f),
            Source::Velocity(v) => env.velocity(v),
        };
        let cell = native_cell(kind, v);
        if let (Some(val), Some(present)) = (self.vals.get_mut(i), self.present.get_mut(i)) {
            *val = cell.unwrap_or(0);
            *present = u8::from(cell.is_some());
        }
    }
}

/// A value as a frame cell of `kind`; `None` when missing (or of another kind).
fn native_cell(kind: Kind, v: &Value) -> Option<u64> {
    match (kind, v) {
        (Kind::F64, Value::Number(n)) => Some(n.to_bits()),
        (Kind::I64, Value::Timestamp(t) | Value::Duration(t)) => Some(u64::from_ne_bytes(t.to_ne_bytes())),
        (Kind::Bool, Value::Bool(b)) => Some(u64::from(*b)),
        _ => None,
    }
}

/// What the helpers need: the environment, the subtrees generated code
/// hands back to the interpreter, and the string tests, by index.
pub struct FallbackCtx<'a> {
    /// The record, velocities and lists of this event.
    pub env: &'a dyn Env,
    /// Subtrees evaluated by the interpreter.
    pub nodes: &'a [Node],
    /// String tests.
    pub predicates: &'a [Predicate],
}

/// Truth of the string test `index`: 0 false, 1 true, 2 missing.
///
/// # Safety
/// `ctx` points to a live [`FallbackCtx`] (the caller of the phase function
/// passes one that outlives the call).
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_predicate(ctx: *const u8, index: u32) -> u8 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        ctx.predicates.get(index as usize)?.truth(ctx.env)
    }));
    match answer {
        Ok(Some(true)) => 1,
        Ok(Some(false)) => 0,
        _ => 2,
    }
}

/// The signature of a compiled phase: reads the frame and writes, for each
/// rule of the phase, 0 (false), 1 (true) or 2 (missing) at `out[rule]`.
pub type PhaseFn = unsafe extern "C" fn(vals: *const u64, present: *const u8, ctx: *const u8, out: *mut u8);

/// Truth of the fallback subtree `node`: 0 false, 1 true, 2 missing.
///
/// # Safety
/// `ctx` points to a live [`FallbackCtx`] (the caller of the phase function
/// passes one that outlives the call).
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_truth(ctx: *const u8, node: u32) -> u8 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        let n = ctx.nodes.get(node as usize)?;
        interp::truth(n, ctx.env)
    }));
    match answer {
        Ok(Some(true)) => 1,
        Ok(Some(false)) => 0,
        _ => 2,
    }
}

/// The number of the fallback subtree `node`, or NaN when missing (numbers
/// are always finite, so NaN is free to mean missing).
///
/// # Safety
/// As [`kensa_jit_truth`].
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_number(ctx: *const u8, node: u32) -> f64 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        ctx.nodes.get(node as usize).map(|n| interp::eval(n, ctx.env))
    }));
    match answer {
        Ok(Some(Value::Number(n))) => n,
        _ => f64::NAN,
    }
}

/// The timestamp or duration of the fallback subtree `node`, written to
/// `out`; returns 1 when present, 0 when missing.
///
/// # Safety
/// As [`kensa_jit_truth`]; `out` points to 8 writable bytes.
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_int(ctx: *const u8, node: u32, out: *mut i64) -> u8 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        ctx.nodes.get(node as usize).map(|n| interp::eval(n, ctx.env))
    }));
    match answer {
        Ok(Some(Value::Timestamp(t) | Value::Duration(t))) => {
            // SAFETY: see the function's contract.
            unsafe { out.write(t) };
            1
        }
        _ => 0,
    }
}
