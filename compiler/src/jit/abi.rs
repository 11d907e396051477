//! The boundary between generated code and Rust: the inputs a compiled rule
//! set reads in place, the byte layout it relies on, the signature of its
//! phase functions, and the
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

/// Where a value generated code reads comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A field of the record (for `score`, the score of the phase).
    Field(FieldId),
    /// A velocity's value for this event.
    Velocity(VelocityId),
}

/// A string test on one field that generated code asks for when (and only
/// when) evaluation reaches it: the common string conditions of fraud rules
/// (`currency == "JPY"`, `card.bin in prepaid_bins`, `ip.country in ("KP",
/// "IR")`) cost a comparison or one lookup each, not a walk of the
/// interpreter. A list test calls [`kensa_jit_in_list`], an inline set
/// [`kensa_jit_in_set`], an equality too long to compare in place
/// [`kensa_jit_predicate`]; [`Predicate::truth`] is the meaning of each.
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
    /// The field the test reads.
    pub fn field(&self) -> FieldId {
        match self {
            Predicate::StrEq { field, .. } | Predicate::InSet { field, .. } | Predicate::InList { field, .. } => *field,
        }
    }

    /// The truth of the test for this event (`None`: missing). A missing
    /// field makes every test missing (generated code relies on this to
    /// answer without calling, see `Translator::predicate`).
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

/// Where generated code finds its inputs: every generated function takes a
/// pointer to one. Values are read in place (see [`layout`]).
#[repr(C)]
pub struct Inputs {
    /// The record's values by field id: at least one per field of the
    /// compiled program's schema.
    pub fields: *const Value,
    /// The velocity values by id: at least one per velocity of the program.
    pub velocities: *const Value,
    /// The score the phase reads (it replaces the record's `score` field).
    pub score: *const Value,
}

/// The byte layout generated code relies on (INVARIANT ValueLayout on
/// [`Value`], and [`Inputs`]'s `repr(C)`).
pub mod layout {
    use super::Inputs;
    use std::mem::offset_of;

    /// The size of a [`crate::value::Value`].
    pub const VALUE_SIZE: i32 = 24;
    /// Where a value's `bool` is.
    pub const BOOL_AT: i32 = 1;
    /// Where a value's `f64`, `i64` or `Arc<str>` is.
    pub const WORD_AT: i32 = 8;
    /// The tag of `Value::Missing`.
    pub const TAG_MISSING: i64 = 0;
    /// The tag of `Value::Bool`.
    pub const TAG_BOOL: i64 = 1;
    /// The tag of `Value::Number`.
    pub const TAG_NUMBER: i64 = 2;
    /// The tag of `Value::Str`.
    pub const TAG_STR: i64 = 3;
    /// The tag of `Value::Timestamp`; `Value::Duration` is the next.
    pub const TAG_TIMESTAMP: i64 = 5;

    /// Offsets of the fields of [`Inputs`].
    pub const FIELDS_AT: i32 = offset_of!(Inputs, fields) as i32;
    /// See [`FIELDS_AT`].
    pub const VELOCITIES_AT: i32 = offset_of!(Inputs, velocities) as i32;
    /// See [`FIELDS_AT`].
    pub const SCORE_AT: i32 = offset_of!(Inputs, score) as i32;
}

/// Where an `Arc<str>` keeps its text's address and length, so generated
/// code can compare a string field in place.
///
/// Rust fixes neither the order of a wide pointer's two words nor where
/// `Arc`'s allocation puts the text, so this is not assumed: it is read off
/// two probe strings when the process first compiles a rule set, and only
/// accepted when both probes agree (a string's length is one word; the other
/// word plus a fixed offset is its text's address). Without it, string
/// equality goes through a helper instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrLayout {
    /// The byte offset, within the `Arc<str>`, of the word that leads to the text.
    pub ptr_at: i32,
    /// The byte offset, within the `Arc<str>`, of the length word.
    pub len_at: i32,
    /// The text's address minus the pointer word.
    pub text_offset: i64,
}

impl StrLayout {
    /// The layout of this process's `Arc<str>`, when the probes agree.
    pub fn get() -> Option<StrLayout> {
        static LAYOUT: std::sync::OnceLock<Option<StrLayout>> = std::sync::OnceLock::new();
        *LAYOUT.get_or_init(|| {
            let a = probe("kensa string layout probe")?;
            let b = probe("k")?;
            (a == b).then_some(a)
        })
    }
}

/// The layout seen on one string (see [`StrLayout`]).
#[allow(unsafe_code)]
fn probe(text: &str) -> Option<StrLayout> {
    let s: Arc<str> = Arc::from(text);
    if std::mem::size_of::<Arc<str>>() != 16 {
        return None;
    }
    // SAFETY: an `Arc<str>` is 16 bytes (checked above) of two initialised
    // words (a wide pointer); reading them as integers reads no padding.
    let words: [u64; 2] = unsafe { std::ptr::from_ref(&s).cast::<[u64; 2]>().read_unaligned() };
    let (addr, len) = (s.as_ptr() as u64, u64::try_from(s.len()).ok()?);
    let [w0, w1] = words;
    let (ptr_at, pointer, len_at) = match (w0 == len, w1 == len) {
        (false, true) => (0, w0, 8),
        (true, false) => (8, w1, 0),
        _ => return None,
    };
    let text_offset = i64::try_from(addr.checked_sub(pointer)?).ok()?;
    (0..=64).contains(&text_offset).then_some(StrLayout { ptr_at, len_at, text_offset })
}

/// What the helpers need: the environment, the subtrees generated code
/// hands back to the interpreter, and the string tests, by index.
pub struct FallbackCtx<'a> {
    /// The record, velocities and lists of this event.
    pub env: &'a dyn Env,
    /// The lists by id when the environment lends them ([`Env::lists`]):
    /// [`kensa_jit_in_list`] then finds a list without a dynamic call.
    pub lists: Option<&'a [Arc<SetData>]>,
    /// Subtrees evaluated by the interpreter.
    pub nodes: &'a [Node],
    /// String tests.
    pub predicates: &'a [Predicate],
}

/// A helper's three-valued answer as generated code reads it: 0 false,
/// 1 true, 2 missing (also for a helper that panicked).
fn answer(truth: std::thread::Result<Option<bool>>) -> u8 {
    match truth {
        Ok(Some(true)) => 1,
        Ok(Some(false)) => 0,
        _ => 2,
    }
}

/// Truth of `value in set` for an inline set (`ip.country in ("KP",
/// "IR")`): generated code passes the set's address, known when it was
/// compiled, and the field's slot, so the test costs the set lookup and
/// little else. 0 false, 1 true, 2 missing.
///
/// # Safety
/// `set` points to a live [`SetData`] (the compiled program keeps the
/// `Arc` it was taken from, INVARIANT SetsOutliveCode) and `value` to a
/// live [`Value`] (a slot of the phase's inputs).
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_in_set(set: *const SetData, value: *const Value) -> u8 {
    answer(catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let (set, value) = unsafe { (&*set, &*value) };
        interp::member(set, value)
    })))
}

/// Truth of `value in list` for the declared list `list`: the list is read
/// from the lists the environment lends (one bounds check), else asked of
/// the environment. 0 false, 1 true, 2 missing.
///
/// # Safety
/// `ctx` points to a live [`FallbackCtx`] and `value` to a live [`Value`]
/// (a slot of the phase's inputs); the caller of the phase function keeps
/// both alive for the call.
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_in_list(ctx: *const u8, list: u32, value: *const Value) -> u8 {
    answer(catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let (ctx, value) = unsafe { (&*(ctx.cast::<FallbackCtx<'_>>()), &*value) };
        match ctx.lists.and_then(|lists| lists.get(list as usize)) {
            Some(set) => interp::member(set, value),
            None => interp::member(ctx.env.list(ListId(list)), value),
        }
    })))
}

/// Truth of the string test `index`: 0 false, 1 true, 2 missing.
///
/// # Safety
/// `ctx` points to a live [`FallbackCtx`] (the caller of the phase function
/// passes one that outlives the call).
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_predicate(ctx: *const u8, index: u32) -> u8 {
    answer(catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        ctx.predicates.get(index as usize)?.truth(ctx.env)
    })))
}

/// The signature of a compiled phase: reads its [`Inputs`] and writes, for
/// each rule of the phase, 0 (false), 1 (true) or 2 (missing) at
/// `out[rule]`.
pub type PhaseFn = unsafe extern "C" fn(inputs: *const Inputs, ctx: *const u8, out: *mut u8);

/// Truth of the fallback subtree `node`: 0 false, 1 true, 2 missing.
///
/// # Safety
/// `ctx` points to a live [`FallbackCtx`] (the caller of the phase function
/// passes one that outlives the call).
#[allow(unsafe_code)]
pub unsafe extern "C" fn kensa_jit_truth(ctx: *const u8, node: u32) -> u8 {
    answer(catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let ctx = unsafe { &*(ctx.cast::<FallbackCtx<'_>>()) };
        let n = ctx.nodes.get(node as usize)?;
        interp::truth(n, ctx.env)
    })))
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

#[cfg(test)]
mod tests {
    #![allow(unsafe_code)]
    use super::layout::{BOOL_AT, TAG_BOOL, TAG_NUMBER, TAG_TIMESTAMP, VALUE_SIZE, WORD_AT};
    use crate::value::Value;

    /// Reads `T` at byte `at` of `v`, as generated code does.
    fn read<T: Copy>(v: &Value, at: i32) -> T {
        let base = std::ptr::from_ref(v).cast::<u8>();
        // SAFETY: `at` is inside the 24-byte value and the tests read only
        // bytes the variant initialises (ValueLayout).
        unsafe { base.add(usize::try_from(at).unwrap()).cast::<T>().read_unaligned() }
    }

    #[test]
    fn the_string_layout_probe_finds_every_string_s_text() {
        let layout = super::StrLayout::get().expect("this platform's Arc<str> is two words");
        for text in ["", "a", "JPY", "card44394-1", "é"] {
            let v = Value::str(text);
            let arc_at = WORD_AT;
            let len: u64 = read(&v, arc_at + layout.len_at);
            let pointer: u64 = read(&v, arc_at + layout.ptr_at);
            assert_eq!(i64::from(read::<u8>(&v, 0)), super::layout::TAG_STR);
            assert_eq!(len, text.len() as u64);
            let addr = pointer.wrapping_add(layout.text_offset as u64) as usize as *const u8;
            // SAFETY: the probe found where the text is; `v` keeps it alive.
            let bytes = unsafe { std::slice::from_raw_parts(addr, text.len()) };
            assert_eq!(bytes, text.as_bytes());
        }
    }

    #[test]
    fn generated_code_reads_values_where_the_layout_says() {
        assert_eq!(std::mem::size_of::<Value>(), usize::try_from(VALUE_SIZE).unwrap());
        let n = Value::Number(2.5);
        assert_eq!(i64::from(read::<u8>(&n, 0)), TAG_NUMBER);
        assert_eq!(read::<f64>(&n, WORD_AT), 2.5);
        let b = Value::Bool(true);
        assert_eq!(i64::from(read::<u8>(&b, 0)), TAG_BOOL);
        assert_eq!(read::<u8>(&b, BOOL_AT), 1);
        let t = Value::Timestamp(-7);
        assert_eq!(i64::from(read::<u8>(&t, 0)), TAG_TIMESTAMP);
        assert_eq!(read::<i64>(&t, WORD_AT), -7);
        let d = Value::Duration(9);
        assert_eq!(i64::from(read::<u8>(&d, 0)), TAG_TIMESTAMP + 1);
        assert_eq!(read::<i64>(&d, WORD_AT), 9);
        for other in [Value::Missing, Value::str("x"), Value::StrList(std::sync::Arc::from(vec![std::sync::Arc::from("a")]))] {
            let tag = i64::from(read::<u8>(&other, 0));
            assert!(![TAG_BOOL, TAG_NUMBER, TAG_TIMESTAMP, TAG_TIMESTAMP + 1].contains(&tag), "{other:?}");
        }
    }
}
