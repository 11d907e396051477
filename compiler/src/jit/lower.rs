//! The language walk: IR nodes to Cranelift IR.
//!
//! Every node of a native kind (number, timestamp/duration, bool) becomes a
//! pair of SSA values: the value and a `missing` flag (i8, 1 = missing), so
//! three-valued logic is two bits. Fields and velocities are read in place
//! from the event's values; `and`/`or` combine call-free operands without
//! branches and short-circuit before the rest. `field == "..."` and `!=`
//! compare lengths and bytes natively; other string tests on a field go to
//! one small helper; a subtree that works on strings, IP addresses, lists or
//! sets otherwise, or calls a built-in other than `abs`/`min`/`max`, is
//! handed to a helper that runs the interpreter on it (see `abi.rs`).

use super::abi::layout::{BOOL_AT, TAG_BOOL, TAG_MISSING, TAG_NUMBER, TAG_STR, TAG_TIMESTAMP, VALUE_SIZE, WORD_AT};
use super::abi::{Kind, Predicate, Source, StrLayout};
use crate::builtins::Builtin;
use crate::ir::{ArithOp, CmpOp, Node, Program};
use crate::schema::FieldId;
use std::collections::HashMap;
use std::sync::Arc;
use crate::value::Value;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, FuncRef, InstBuilder, MemFlagsData, StackSlot, StackSlotData, StackSlotKind, Value as Ssa};
use cranelift_frontend::FunctionBuilder;
use kensa_dsl::ast::TypeName;

/// The kind of a node, as the walk sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A native kind.
    Native(Kind),
    /// Strings, IP addresses, string lists: never computed natively.
    Other,
    /// A constant missing value (folded), of no particular kind.
    Missing,
}

fn kind_of_type(ty: TypeName) -> NodeKind {
    match ty {
        TypeName::Number => NodeKind::Native(Kind::F64),
        TypeName::Timestamp | TypeName::Duration => NodeKind::Native(Kind::I64),
        TypeName::Bool => NodeKind::Native(Kind::Bool),
        TypeName::String | TypeName::Ip | TypeName::StringList => NodeKind::Other,
    }
}

/// The kind of a node of `program`.
pub fn kind_of(program: &Program, node: &Node) -> NodeKind {
    match node {
        Node::Const(v) => match v {
            Value::Missing => NodeKind::Missing,
            Value::Number(_) => NodeKind::Native(Kind::F64),
            Value::Timestamp(_) | Value::Duration(_) => NodeKind::Native(Kind::I64),
            Value::Bool(_) => NodeKind::Native(Kind::Bool),
            Value::Str(_) | Value::Ip(_) | Value::StrList(_) => NodeKind::Other,
        },
        Node::Field(f) => program.schema.fields().get(f.0 as usize).map_or(NodeKind::Other, |x| kind_of_type(x.ty)),
        Node::Velocity(v) => program.velocities.get(v.0 as usize).map_or(NodeKind::Other, |x| kind_of_type(x.ty)),
        Node::Not(_)
        | Node::And(_)
        | Node::Or(_)
        | Node::Compare(..)
        | Node::InList(..)
        | Node::InSet(..)
        | Node::Between(..)
        | Node::Is(..) => NodeKind::Native(Kind::Bool),
        Node::Neg(x) => kind_of(program, x),
        Node::Arith(_, a, b) => match (kind_of(program, a), kind_of(program, b)) {
            (NodeKind::Native(Kind::F64), _) | (_, NodeKind::Native(Kind::F64)) => NodeKind::Native(Kind::F64),
            (NodeKind::Native(Kind::I64), _) | (_, NodeKind::Native(Kind::I64)) => NodeKind::Native(Kind::I64),
            _ => NodeKind::Missing,
        },
        Node::Call(c) => match c.func {
            Builtin::Lower | Builtin::Upper => NodeKind::Other,
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains | Builtin::Matches => NodeKind::Native(Kind::Bool),
            Builtin::Len | Builtin::Hour | Builtin::Weekday | Builtin::Abs | Builtin::Min | Builtin::Max => {
                NodeKind::Native(Kind::F64)
            }
        },
    }
}

/// The string test on one field `node` is, if it is one.
pub fn predicate_of(program: &Program, node: &Node) -> Option<Predicate> {
    let string_field = |n: &Node| match n {
        Node::Field(f) if program.schema.fields().get(f.0 as usize).is_some_and(|x| x.ty == TypeName::String) => Some(*f),
        _ => None,
    };
    match node {
        Node::Compare(op @ (CmpOp::Eq | CmpOp::Ne), a, b) => {
            let (field, value) = match (&**a, &**b) {
                (x, Node::Const(Value::Str(s))) | (Node::Const(Value::Str(s)), x) => (string_field(x)?, s.clone()),
                _ => return None,
            };
            Some(Predicate::StrEq { field, value, negate: *op == CmpOp::Ne })
        }
        Node::InSet(x, set) => match &**x {
            Node::Field(field) => Some(Predicate::InSet { field: *field, set: set.clone() }),
            _ => None,
        },
        Node::InList(x, list) => match &**x {
            Node::Field(field) => Some(Predicate::InList { field: *field, list: *list }),
            _ => None,
        },
        _ => None,
    }
}

/// A shared string test's answer byte before the helper was asked (answers
/// are 0, 1 and 2).
const NOT_ASKED: u8 = 3;

/// The longest string constant `field == "..."` compares natively; longer
/// ones go through the predicate helper.
pub const NATIVE_STR_EQ_MAX: usize = 64;

/// `(field, constant, negate, layout)` when `node` is a string equality
/// the generated code compares itself (see `Translator::str_eq`): the
/// constant is short enough and this process's string layout is known.
fn native_str_eq(program: &Program, node: &Node) -> Option<(FieldId, Arc<str>, bool, StrLayout)> {
    match predicate_of(program, node)? {
        Predicate::StrEq { field, value, negate } if value.len() <= NATIVE_STR_EQ_MAX => {
            Some((field, value, negate, StrLayout::get()?))
        }
        _ => None,
    }
}

/// The flags of a load from the `Inputs` block or from a value's slot
/// (its tag, payload, string length or pointer): memory that is valid and
/// unchanged for the whole call (`run_on`'s contract), so the load may move
/// (`can_move`) and the optimiser merges repeated loads of one slot (every
/// rule reading `amount` shares one load). Loads through a string's pointer
/// must not use these: they are valid only under the tag test before them.
pub(super) fn slot_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// The flags of a load of a string's text, made only after its tag and
/// length were tested: any alignment, never trapping (every load is inside
/// the text), and not movable above that test.
fn text_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_readonly()
}

/// A node's compiled value: `v` (f64, i64 or i8) and `missing` (i8).
#[derive(Clone, Copy)]
struct Val {
    v: Ssa,
    missing: Ssa,
}

/// The helpers as the function being built calls them.
pub struct Helpers {
    /// `kensa_jit_truth(ctx, node) -> u8`
    pub truth: FuncRef,
    /// `kensa_jit_number(ctx, node) -> f64`
    pub number: FuncRef,
    /// `kensa_jit_int(ctx, node, out) -> u8`
    pub int: FuncRef,
    /// `kensa_jit_predicate(ctx, index) -> u8`
    pub predicate: FuncRef,
    /// `kensa_jit_in_set(set, value) -> u8`
    pub in_set: FuncRef,
    /// `kensa_jit_in_list(ctx, list, value) -> u8`
    pub in_list: FuncRef,
}

/// The integer a load of `piece.len()` (1, 2, 4 or 8) bytes holding `piece`
/// reads, in the target's byte order, zero-extended as Cranelift expects a
/// narrow immediate.
fn native_word(piece: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    if let Some(dst) = b.get_mut(..piece.len()) {
        dst.copy_from_slice(piece);
    }
    match piece.len() {
        1 => i64::from(b[0]),
        2 => i64::from(u16::from_ne_bytes([b[0], b[1]])),
        4 => i64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        _ => i64::from_ne_bytes(b),
    }
}

/// How generated code reads a text of `len` bytes: loads of 8, 4, 2 and 1
/// bytes, `(type, offset, size)` each, covering it in order.
fn text_pieces(len: usize) -> Vec<(types::Type, i32, usize)> {
    let mut pieces = Vec::new();
    let mut at = 0usize;
    while at < len {
        let (ty, size) = match len - at {
            8.. => (types::I64, 8),
            4..=7 => (types::I32, 4),
            2..=3 => (types::I16, 2),
            _ => (types::I8, 1),
        };
        pieces.push((ty, i32::try_from(at).unwrap_or(i32::MAX), size));
        at += size;
    }
    pieces
}

/// A string field's text, loaded once at a function's entry for one length
/// its `==` constants have (see [`Translator::preload_strings`]).
pub struct PreloadedText {
    /// 1 when the field is a string of that length (its pieces were loaded).
    go: Ssa,
    /// The text as [`text_pieces`] splits it; zeros when `go` is 0.
    pieces: Vec<Ssa>,
}

/// The pointers of `abi::Inputs`, loaded at the function's entry.
#[derive(Clone, Copy)]
pub struct Bases {
    /// The record's values.
    pub fields: Ssa,
    /// The velocity values.
    pub velocities: Ssa,
    /// The phase's score value.
    pub score: Ssa,
}

/// Walks IR nodes into one function under construction.
pub struct Translator<'a, 'b> {
    /// The builder of the function.
    pub b: &'a mut FunctionBuilder<'b>,
    /// The program being compiled.
    pub program: &'a Program,
    /// Subtrees for the interpreter, shared likewise.
    pub fallback: &'a mut Vec<Node>,
    /// String tests, shared likewise.
    pub predicates: &'a mut Vec<Predicate>,
    /// The helpers.
    pub helpers: &'a Helpers,
    /// The input pointers (see `abi::Inputs`).
    pub bases: Bases,
    /// The helpers' context (the function's second parameter); read it
    /// through `Translator::ctx`.
    pub ctx: Ssa,
    /// Whether the function passes its context to a helper: a phase whose
    /// code does not is called without one (see `JitProgram::run`).
    pub uses_ctx: bool,
    /// The pointer type.
    pub ptr: types::Type,
    /// String fields' texts loaded at the function's entry, by field and
    /// length (empty in functions that preload nothing).
    pub preloaded: HashMap<(FieldId, usize), PreloadedText>,
    /// True while compiling the version of a phase for events where every
    /// value in [`Translator::native_sources`] is present (checked at the
    /// function's entry): loads and string tests then yield "not missing"
    /// as a constant, and Cranelift folds the three-valued logic away.
    pub assume_present: bool,
    /// Per string test that several places of the function use: a stack
    /// byte holding its answer once asked (see
    /// [`Translator::share_predicates`]).
    pub shared_answers: HashMap<usize, StackSlot>,
}

impl Translator<'_, '_> {
    /// The helpers' context, for a helper call: notes that the function
    /// uses it.
    fn ctx(&mut self) -> Ssa {
        self.uses_ctx = true;
        self.ctx
    }

    fn zero(&mut self, kind: Kind) -> Ssa {
        match kind {
            Kind::F64 => self.b.ins().f64const(0.0),
            Kind::I64 => self.b.ins().iconst(types::I64, 0),
            Kind::Bool => self.b.ins().iconst(types::I8, 0),
        }
    }

    fn flag(&mut self, on: bool) -> Ssa {
        self.b.ins().iconst(types::I8, i64::from(on))
    }

    /// A missing value of `kind`.
    fn missing_of(&mut self, kind: Kind) -> Val {
        let v = self.zero(kind);
        let missing = self.flag(true);
        Val { v, missing }
    }

    /// Compiles a bool condition; the result's `v` is 0/1 and `missing` 0/1.
    pub fn condition(&mut self, node: &Node) -> (Ssa, Ssa) {
        let val = self.value(node, Kind::Bool);
        (val.v, val.missing)
    }

    /// Compiles a node expected to be of `want` kind.
    fn value(&mut self, node: &Node, want: Kind) -> Val {
        match kind_of(self.program, node) {
            NodeKind::Missing => return self.missing_of(want),
            NodeKind::Other => return self.missing_of(want),
            NodeKind::Native(k) if k != want => return self.missing_of(want),
            NodeKind::Native(_) => {}
        }
        if let Some((field, value, negate, layout)) = native_str_eq(self.program, node) {
            return self.str_eq(field, &value, negate, layout);
        }
        if let Some(p) = predicate_of(self.program, node) {
            let field = p.field();
            let index = self.intern(p);
            return self.predicate(field, index);
        }
        if !self.is_native(node) {
            return self.fallback(node, want);
        }
        match node {
            Node::Const(v) => self.constant(v, want),
            Node::Field(f) => self.load(Source::Field(*f), want),
            Node::Velocity(v) => self.load(Source::Velocity(*v), want),
            Node::Not(x) => {
                let x = self.value(x, Kind::Bool);
                let v = self.b.ins().bxor_imm_u(x.v, 1);
                Val { v, missing: x.missing }
            }
            Node::And(xs) => self.chain(xs, false),
            Node::Or(xs) => self.chain(xs, true),
            Node::Neg(x) => {
                let x = self.value(x, want);
                match want {
                    Kind::F64 => Val { v: self.b.ins().fneg(x.v), missing: x.missing },
                    _ => {
                        let zero = self.zero(Kind::I64);
                        let (v, overflow) = self.b.ins().ssub_overflow(zero, x.v);
                        let missing = self.b.ins().bor(x.missing, overflow);
                        Val { v, missing }
                    }
                }
            }
            Node::Arith(op, a, c) => self.arith(*op, a, c, want),
            Node::Compare(op, a, c) => {
                let kind = self.operand_kind(&[a, c]);
                match kind {
                    None => self.missing_of(Kind::Bool),
                    Some(k) => {
                        let (x, y) = (self.value(a, k), self.value(c, k));
                        self.compare(*op, k, x, y)
                    }
                }
            }
            Node::Between(x, lo, hi) => match self.operand_kind(&[x, lo, hi]) {
                None => self.missing_of(Kind::Bool),
                Some(k) => {
                    let (xv, lov, hiv) = (self.value(x, k), self.value(lo, k), self.value(hi, k));
                    let low = self.compare(CmpOp::Le, k, lov, xv);
                    let high = self.compare(CmpOp::Le, k, xv, hiv);
                    let both = self.combine(&[low, high], false);
                    both.unwrap_or(low)
                }
            },
            Node::Is(x, present) => {
                let missing = match kind_of(self.program, x) {
                    NodeKind::Native(k) => self.value(x, k).missing,
                    _ => self.flag(true),
                };
                let v = if *present { self.b.ins().bxor_imm_u(missing, 1) } else { missing };
                let never = self.flag(false);
                Val { v, missing: never }
            }
            Node::Call(call) if matches!(call.func, Builtin::Hour | Builtin::Weekday) => match call.args.first() {
                Some(t) => self.local_time(call.func, t, call.offset_minutes),
                None => self.missing_of(Kind::F64),
            },
            Node::Call(call) => {
                let args: Vec<Val> = call.args.iter().map(|a| self.value(a, Kind::F64)).collect();
                let (Some(first), second) = (args.first().copied(), args.get(1).copied()) else {
                    return self.missing_of(Kind::F64);
                };
                let (v, m) = match (call.func, second) {
                    (Builtin::Abs, _) => (self.b.ins().fabs(first.v), first.missing),
                    (Builtin::Min, Some(s)) => (self.b.ins().fmin(first.v, s.v), self.b.ins().bor(first.missing, s.missing)),
                    (Builtin::Max, Some(s)) => (self.b.ins().fmax(first.v, s.v), self.b.ins().bor(first.missing, s.missing)),
                    _ => return self.missing_of(Kind::F64),
                };
                Val { v, missing: m }
            }
            Node::InList(..) | Node::InSet(..) => self.fallback(node, want),
        }
    }

    /// `hour(t, offset)` or `weekday(t, offset)` in generated code, exactly
    /// as the interpreter computes them: the local time is `t` plus the
    /// offset (missing when that overflows), the hour is the local
    /// milliseconds of the day (`rem_euclid`) over an hour, the weekday
    /// counts from Monday 1 (1970-01-01, day 0, was a Thursday).
    fn local_time(&mut self, func: Builtin, t: &Node, offset_minutes: i32) -> Val {
        const DAY_MS: i64 = 86_400_000;
        let t = self.value(t, Kind::I64);
        let offset = self.b.ins().iconst(types::I64, i64::from(offset_minutes) * 60_000);
        let (local, overflow) = self.b.ins().sadd_overflow(t.v, offset);
        let missing = self.b.ins().bor(t.missing, overflow);
        // Division by a positive constant never traps.
        let r = self.b.ins().srem_imm_s(local, DAY_MS);
        let negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
        let n = match func {
            Builtin::Hour => {
                // The milliseconds of the day, made non-negative.
                let wrapped = self.b.ins().iadd_imm_s(r, DAY_MS);
                let of_day = self.b.ins().select(negative, wrapped, r);
                self.b.ins().sdiv_imm_s(of_day, 3_600_000)
            }
            _ => {
                // Days since the epoch, rounded down; then Monday is 1.
                let q = self.b.ins().sdiv_imm_s(local, DAY_MS);
                let earlier = self.b.ins().iadd_imm_s(q, -1);
                let days = self.b.ins().select(negative, earlier, q);
                let shifted = self.b.ins().iadd_imm_s(days, 3);
                let m = self.b.ins().srem_imm_s(shifted, 7);
                let m_negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, m, 0);
                let m_wrapped = self.b.ins().iadd_imm_s(m, 7);
                let of_week = self.b.ins().select(m_negative, m_wrapped, m);
                self.b.ins().iadd_imm_s(of_week, 1)
            }
        };
        let v = self.b.ins().fcvt_from_sint(types::F64, n);
        Val { v, missing }
    }

    /// True when `node` is compiled natively (its children may still fall back).
    fn is_native(&self, node: &Node) -> bool {
        let native_kind = |n: &Node| matches!(kind_of(self.program, n), NodeKind::Native(_) | NodeKind::Missing);
        match node {
            Node::Const(_) | Node::Field(_) | Node::Velocity(_) => true,
            Node::Not(_) | Node::And(_) | Node::Or(_) | Node::Neg(_) | Node::Arith(..) => true,
            Node::Compare(_, a, b) => native_kind(a) && native_kind(b),
            Node::Between(x, lo, hi) => native_kind(x) && native_kind(lo) && native_kind(hi),
            Node::Is(x, _) => native_kind(x),
            Node::Call(c) => match c.func {
                Builtin::Abs | Builtin::Min | Builtin::Max => true,
                // Of a timestamp, as the type checker guarantees.
                Builtin::Hour | Builtin::Weekday => c.args.first().is_some_and(|t| kind_of(self.program, t) == NodeKind::Native(Kind::I64)),
                _ => false,
            },
            Node::InList(..) | Node::InSet(..) => false,
        }
    }

    /// The native kind shared by comparison operands (ignoring missing
    /// constants); `None` when every operand is a missing constant.
    fn operand_kind(&self, nodes: &[&Node]) -> Option<Kind> {
        nodes.iter().find_map(|n| match kind_of(self.program, n) {
            NodeKind::Native(k) => Some(k),
            _ => None,
        })
    }

    fn constant(&mut self, v: &Value, want: Kind) -> Val {
        let never = self.flag(false);
        let v = match (want, v) {
            (Kind::F64, Value::Number(n)) => self.b.ins().f64const(*n),
            (Kind::I64, Value::Timestamp(t) | Value::Duration(t)) => self.b.ins().iconst(types::I64, *t),
            (Kind::Bool, Value::Bool(x)) => self.b.ins().iconst(types::I8, i64::from(*x)),
            _ => return self.missing_of(want),
        };
        Val { v, missing: never }
    }

    /// Where `source`'s value is: a base pointer and a byte offset.
    fn place(&self, source: Source) -> (Ssa, i32) {
        let index = |i: u32| i32::try_from(i).unwrap_or(i32::MAX).saturating_mul(VALUE_SIZE);
        match source {
            Source::Field(f) if f == self.program.score_field => (self.bases.score, 0),
            Source::Field(f) => (self.bases.fields, index(f.0)),
            Source::Velocity(v) => (self.bases.velocities, index(v.0)),
        }
    }

    /// Reads a native value in place (ValueLayout): present when the tag
    /// is the kind's. The payload is loaded either way and only used when
    /// present.
    fn load(&mut self, source: Source, want: Kind) -> Val {
        let (base, at) = self.place(source);
        let flags = slot_flags();
        let present = self.present(source, Some(want));
        let missing = self.missing_unless(present);
        let v = match want {
            Kind::F64 => self.b.ins().load(types::F64, flags, base, at.saturating_add(WORD_AT)),
            Kind::I64 => self.b.ins().load(types::I64, flags, base, at.saturating_add(WORD_AT)),
            Kind::Bool => {
                let byte = self.b.ins().load(types::I8, flags, base, at.saturating_add(BOOL_AT));
                // Only a present bool's byte is 0 or 1; keep `v` a clean bit.
                self.b.ins().band(byte, present)
            }
        };
        Val { v, missing }
    }

    /// 1 when `source` holds a value of kind `want` (a string for `None`).
    fn present(&mut self, source: Source, want: Option<Kind>) -> Ssa {
        let (base, at) = self.place(source);
        let tag = self.b.ins().load(types::I8, slot_flags(), base, at);
        match want {
            Some(Kind::F64) => self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_NUMBER),
            Some(Kind::Bool) => self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_BOOL),
            // Timestamp or Duration: tags 5 and 6.
            Some(Kind::I64) => {
                let from = self.b.ins().iadd_imm_u(tag, -TAG_TIMESTAMP);
                self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, from, 1)
            }
            None => self.b.ins().icmp_imm_u(IntCC::Equal, tag, TAG_STR),
        }
    }

    /// The missing flag of a value whose presence is `present`: the
    /// constant 0 while compiling for events where it is known present.
    fn missing_unless(&mut self, present: Ssa) -> Ssa {
        if self.assume_present {
            self.flag(false)
        } else {
            self.b.ins().bxor_imm_u(present, 1)
        }
    }

    /// Every value that `conditions` read in place, with the kind each is
    /// read as (`None`: a string compared natively): numbers, timestamps,
    /// durations and bools of fields and velocities, and the string fields
    /// of `field == "..."`. Values read only by a helper are not among
    /// them; one read only under a helper's subtree may be (harmless: it
    /// only makes the present-values version run less often).
    pub fn native_sources<'n>(&self, conditions: impl IntoIterator<Item = &'n Node>) -> Vec<(Source, Option<Kind>)> {
        let mut sources: Vec<(Source, Option<Kind>)> = Vec::new();
        for condition in conditions {
            condition.walk(&mut |n| {
                let found = match (n, kind_of(self.program, n)) {
                    (Node::Field(f), NodeKind::Native(k)) => Some((Source::Field(*f), Some(k))),
                    (Node::Velocity(v), NodeKind::Native(k)) => Some((Source::Velocity(*v), Some(k))),
                    _ => native_str_eq(self.program, n).map(|(f, ..)| (Source::Field(f), None)),
                };
                if let Some(s) = found.filter(|s| !sources.contains(s)) {
                    sources.push(s);
                }
            });
        }
        sources
    }

    /// 1 when every one of `sources` holds a value of its kind.
    pub fn all_present(&mut self, sources: &[(Source, Option<Kind>)]) -> Ssa {
        let mut all = self.flag(true);
        for &(source, want) in sources {
            let present = self.present(source, want);
            all = self.b.ins().band(all, present);
        }
        all
    }

    /// Loads, once and before any rule, the text of every string field
    /// that `conditions` compare natively with a constant (`field == "..."`,
    /// see `Translator::str_eq`), for each length those constants have:
    /// one test of the field's tag and length, then its pieces, all under
    /// one branch. Rules comparing the same field with other constants of
    /// that length (`currency == "JPY"`, `currency == "USD"`, ...) then
    /// compare loaded words, with no branch and no load of their own. Call
    /// it at the entry block, so the loads dominate every use.
    pub fn preload_strings<'n>(&mut self, conditions: impl IntoIterator<Item = &'n Node>) {
        let mut wanted: Vec<(FieldId, usize, StrLayout)> = Vec::new();
        for condition in conditions {
            condition.walk(&mut |n| {
                if let Some((field, value, _, layout)) = native_str_eq(self.program, n) {
                    let key = (field, value.len());
                    if !value.is_empty() && !wanted.iter().any(|&(f, l, _)| (f, l) == key) && !self.preloaded.contains_key(&key) {
                        wanted.push((field, value.len(), layout));
                    }
                }
            });
        }
        for (field, len, layout) in wanted {
            let pieces = text_pieces(len);
            let (go, base, arc_at) = self.str_with_len(field, len, layout);
            let load = self.b.create_block();
            let done = self.b.create_block();
            let loaded: Vec<Ssa> = pieces.iter().map(|&(ty, _, _)| self.b.append_block_param(done, ty)).collect();
            let zeros: Vec<_> = pieces.iter().map(|&(ty, _, _)| self.b.ins().iconst(ty, 0).into()).collect();
            self.b.ins().brif(go, load, &[], done, &zeros);
            self.b.switch_to_block(load);
            let text = self.text_pointer(base, arc_at, layout);
            let words: Vec<_> = pieces.iter().map(|&(ty, at, _)| self.b.ins().load(ty, text_flags(), text, at).into()).collect();
            self.b.ins().jump(done, &words);
            self.b.switch_to_block(done);
            self.preloaded.insert((field, len), PreloadedText { go, pieces: loaded });
        }
    }

    /// The index of string test `p` in the program's list, added when new:
    /// one test used in several places has one index.
    fn intern(&mut self, p: Predicate) -> usize {
        match self.predicates.iter().position(|q| *q == p) {
            Some(i) => i,
            None => {
                self.predicates.push(p);
                self.predicates.len() - 1
            }
        }
    }

    /// Gives every string test that `conditions` use in more than one
    /// place (`card.country in ("JPN", ...)` in four rules, as `in` and `not
    /// in`) a stack byte for its answer, set to "not asked" here: the first
    /// use reached asks the helper and keeps the answer, the others read it
    /// (`Translator::predicate`). A place may sit behind a short-circuit,
    /// so which use comes first is only known when the code runs. Call it
    /// at the entry block.
    pub fn share_predicates<'n>(&mut self, conditions: impl IntoIterator<Item = &'n Node>) {
        let mut uses: HashMap<usize, usize> = HashMap::new();
        for condition in conditions {
            let mut found: Vec<Predicate> = Vec::new();
            condition.walk(&mut |n| {
                if native_str_eq(self.program, n).is_none() {
                    found.extend(predicate_of(self.program, n));
                }
            });
            for p in found {
                *uses.entry(self.intern(p)).or_default() += 1;
            }
        }
        let mut shared: Vec<usize> = uses.into_iter().filter(|&(_, n)| n > 1).map(|(i, _)| i).collect();
        shared.sort_unstable();
        for index in shared {
            let slot = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 1, 0));
            let not_asked = self.b.ins().iconst(types::I8, i64::from(NOT_ASKED));
            self.b.ins().stack_store(self.ptr, not_asked, slot, 0);
            self.shared_answers.insert(index, slot);
        }
    }

    /// 1 when `field` holds a string of `len` bytes; the base and offset
    /// of its `Arc<str>`.
    fn str_with_len(&mut self, field: FieldId, len: usize, layout: StrLayout) -> (Ssa, Ssa, i32) {
        let present = self.present(Source::Field(field), None);
        let (base, at) = self.place(Source::Field(field));
        let arc_at = at.saturating_add(WORD_AT);
        let loaded_len = self.b.ins().load(types::I64, slot_flags(), base, arc_at.saturating_add(layout.len_at));
        let len_ok = self.b.ins().icmp_imm_u(IntCC::Equal, loaded_len, i64::try_from(len).unwrap_or(i64::MAX));
        (self.b.ins().band(len_ok, present), base, arc_at)
    }

    /// The address of the text of the `Arc<str>` at `base + arc_at`; only
    /// meaningful when the value there is a string.
    fn text_pointer(&mut self, base: Ssa, arc_at: i32, layout: StrLayout) -> Ssa {
        let pointer = self.b.ins().load(self.ptr, slot_flags(), base, arc_at.saturating_add(layout.ptr_at));
        self.b.ins().iadd_imm_u(pointer, layout.text_offset)
    }

    /// 1 when every piece of `value`'s text equals the loaded word beside it.
    fn text_equals(&mut self, value: &str, loaded: &[Ssa]) -> Ssa {
        let mut all = self.flag(true);
        for ((_, at, size), word) in text_pieces(value.len()).into_iter().zip(loaded) {
            let start = usize::try_from(at).unwrap_or(usize::MAX);
            let piece = value.as_bytes().get(start..start.saturating_add(size)).unwrap_or_default();
            let same = self.b.ins().icmp_imm_u(IntCC::Equal, *word, native_word(piece));
            all = self.b.ins().band(all, same);
        }
        all
    }

    /// `field == value` (`!=` when `negate`) on a string field, in place:
    /// the tag and length first, then the text in loads of 8, 4, 2 and 1
    /// bytes compared with the constant's, made only when the field is a
    /// string of the same length (so no load reads past its text). When
    /// the text was preloaded ([`Translator::preload_strings`]), only the
    /// comparisons are made here.
    fn str_eq(&mut self, field: FieldId, value: &str, negate: bool, layout: StrLayout) -> Val {
        let present = self.present(Source::Field(field), None);
        let missing = self.missing_unless(present);
        let (go, base, arc_at) = self.str_with_len(field, value.len(), layout);
        let equal = if value.is_empty() {
            go
        } else if let Some(text) = self.preloaded.get(&(field, value.len())) {
            let (go, loaded) = (text.go, text.pieces.clone());
            let same = self.text_equals(value, &loaded);
            self.b.ins().band(go, same)
        } else {
            let bytes = self.b.create_block();
            let done = self.b.create_block();
            let equal = self.b.append_block_param(done, types::I8);
            let no = self.flag(false);
            self.b.ins().brif(go, bytes, &[], done, &[no.into()]);
            self.b.switch_to_block(bytes);
            let text = self.text_pointer(base, arc_at, layout);
            let loaded: Vec<Ssa> =
                text_pieces(value.len()).into_iter().map(|(ty, at, _)| self.b.ins().load(ty, text_flags(), text, at)).collect();
            let same = self.text_equals(value, &loaded);
            self.b.ins().jump(done, &[same.into()]);
            self.b.switch_to_block(done);
            equal
        };
        let v = if negate { self.b.ins().bxor_imm_u(equal, 1) } else { equal };
        Val { v, missing }
    }

    /// `and` (`decisive = false`) / `or` (`decisive = true`). Operands that
    /// are cheap (native, no call) are combined first without branches:
    /// Kleene `and`/`or` do not depend on order and they have no effects, and
    /// a branch on data costs more than the comparisons it would skip. The
    /// rest short-circuit: the first operand that is not missing and equals
    /// `decisive` ends the chain before any later call is made.
    fn chain(&mut self, xs: &[Node], decisive: bool) -> Val {
        let (cheap, costly): (Vec<&Node>, Vec<&Node>) = xs.iter().partition(|x| self.is_cheap(x));
        let cheap: Vec<Val> = cheap.into_iter().map(|x| self.value(x, Kind::Bool)).collect();
        let combined = self.combine(&cheap, decisive);
        if costly.is_empty() {
            return combined.unwrap_or_else(|| {
                // An empty chain: `and` of nothing is true, `or` false.
                let v = self.flag(!decisive);
                let missing = self.flag(false);
                Val { v, missing }
            });
        }
        let done = self.b.create_block();
        let done_v = self.b.append_block_param(done, types::I8);
        let done_m = self.b.append_block_param(done, types::I8);
        let mut missing_so_far = self.flag(false);
        let steps = combined.map(Ok).into_iter().chain(costly.into_iter().map(Err));
        for step in steps {
            let xv = match step {
                Ok(v) => v,
                Err(x) => self.value(x, Kind::Bool),
            };
            let is_decisive = if decisive { xv.v } else { self.b.ins().bxor_imm_u(xv.v, 1) };
            let present = self.b.ins().bxor_imm_u(xv.missing, 1);
            let stop = self.b.ins().band(is_decisive, present);
            let next = self.b.create_block();
            let decided_v = self.flag(decisive);
            let decided_m = self.flag(false);
            self.b.ins().brif(stop, done, &[decided_v.into(), decided_m.into()], next, &[]);
            self.b.switch_to_block(next);
            missing_so_far = self.b.ins().bor(missing_so_far, xv.missing);
        }
        let undecided_v = self.flag(!decisive);
        self.b.ins().jump(done, &[undecided_v.into(), missing_so_far.into()]);
        self.b.switch_to_block(done);
        Val { v: done_v, missing: done_m }
    }

    /// True when `node` compiles to native instructions only: no helper
    /// call anywhere in it, so evaluating it eagerly costs a few cycles.
    fn is_cheap(&self, node: &Node) -> bool {
        if native_str_eq(self.program, node).is_some() {
            return true;
        }
        if !self.is_native(node) || predicate_of(self.program, node).is_some() {
            return false;
        }
        match node {
            Node::Const(_) | Node::Field(_) | Node::Velocity(_) => true,
            Node::Not(x) | Node::Neg(x) | Node::Is(x, _) => self.is_cheap(x),
            Node::And(xs) | Node::Or(xs) => xs.iter().all(|x| self.is_cheap(x)),
            Node::Arith(_, a, b) | Node::Compare(_, a, b) => self.is_cheap(a) && self.is_cheap(b),
            Node::Between(x, lo, hi) => self.is_cheap(x) && self.is_cheap(lo) && self.is_cheap(hi),
            Node::Call(c) => c.args.iter().all(|a| self.is_cheap(a)),
            Node::InList(..) | Node::InSet(..) => false,
        }
    }

    /// Kleene `and` (`decisive = false`) / `or` (`decisive = true`) of
    /// computed conditions, without branches (`None` for none). Two running
    /// bits over the operands, two or three instructions an operand:
    /// `known` (present and true: `v & !missing`) and `maybe` (true or
    /// missing: `v | missing`). `and` is true when every operand is known
    /// true, false when one is not maybe (known false), else missing; `or`
    /// is true when one is known true, false when none is maybe, else
    /// missing. Relies on every `v` being a clean 0/1 bit (comparisons,
    /// cleaned bool loads and the combinations of those are).
    fn combine(&mut self, xs: &[Val], decisive: bool) -> Option<Val> {
        let (first, rest) = xs.split_first()?;
        if rest.is_empty() {
            return Some(*first);
        }
        let mut known = self.b.ins().band_not(first.v, first.missing);
        let mut maybe = self.b.ins().bor(first.v, first.missing);
        for x in rest {
            let k = self.b.ins().band_not(x.v, x.missing);
            let m = self.b.ins().bor(x.v, x.missing);
            // `and` needs all of them, `or` any.
            (known, maybe) = if decisive {
                (self.b.ins().bor(known, k), self.b.ins().bor(maybe, m))
            } else {
                (self.b.ins().band(known, k), self.b.ins().band(maybe, m))
            };
        }
        // Missing: not decided by `known`, yet possible by `maybe`.
        let missing = self.b.ins().band_not(maybe, known);
        Some(Val { v: known, missing })
    }

    fn compare(&mut self, op: CmpOp, kind: Kind, x: Val, y: Val) -> Val {
        let v = match kind {
            Kind::F64 => {
                let cc = match op {
                    CmpOp::Eq => FloatCC::Equal,
                    CmpOp::Ne => FloatCC::NotEqual,
                    CmpOp::Lt => FloatCC::LessThan,
                    CmpOp::Le => FloatCC::LessThanOrEqual,
                    CmpOp::Gt => FloatCC::GreaterThan,
                    CmpOp::Ge => FloatCC::GreaterThanOrEqual,
                };
                self.b.ins().fcmp(cc, x.v, y.v)
            }
            Kind::I64 | Kind::Bool => {
                let cc = match op {
                    CmpOp::Eq => IntCC::Equal,
                    CmpOp::Ne => IntCC::NotEqual,
                    CmpOp::Lt => IntCC::SignedLessThan,
                    CmpOp::Le => IntCC::SignedLessThanOrEqual,
                    CmpOp::Gt => IntCC::SignedGreaterThan,
                    CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
                };
                self.b.ins().icmp(cc, x.v, y.v)
            }
        };
        let missing = self.b.ins().bor(x.missing, y.missing);
        Val { v, missing }
    }

    fn arith(&mut self, op: ArithOp, a: &Node, c: &Node, want: Kind) -> Val {
        match want {
            Kind::F64 => {
                let (x, y) = (self.value(a, Kind::F64), self.value(c, Kind::F64));
                let v = match op {
                    ArithOp::Add => self.b.ins().fadd(x.v, y.v),
                    ArithOp::Sub => self.b.ins().fsub(x.v, y.v),
                    ArithOp::Mul => self.b.ins().fmul(x.v, y.v),
                    ArithOp::Div => self.b.ins().fdiv(x.v, y.v),
                };
                // A result that is not finite is missing (SPEC section 6).
                let magnitude = self.b.ins().fabs(v);
                let infinity = self.b.ins().f64const(f64::INFINITY);
                let finite = self.b.ins().fcmp(FloatCC::LessThan, magnitude, infinity);
                let not_finite = self.b.ins().bxor_imm_u(finite, 1);
                let operands = self.b.ins().bor(x.missing, y.missing);
                let missing = self.b.ins().bor(operands, not_finite);
                Val { v, missing }
            }
            Kind::I64 => {
                let (x, y) = (self.value(a, Kind::I64), self.value(c, Kind::I64));
                let (v, overflow) = match op {
                    ArithOp::Add => self.b.ins().sadd_overflow(x.v, y.v),
                    ArithOp::Sub => self.b.ins().ssub_overflow(x.v, y.v),
                    // The checker allows no other operator on times.
                    ArithOp::Mul | ArithOp::Div => return self.missing_of(Kind::I64),
                };
                let operands = self.b.ins().bor(x.missing, y.missing);
                let missing = self.b.ins().bor(operands, overflow);
                Val { v, missing }
            }
            Kind::Bool => self.missing_of(Kind::Bool),
        }
    }

    /// Asks the helper for string test `index` on `field`, only when
    /// reached and only when the field has a value: a missing field makes
    /// every string test missing (`Predicate::truth`), which is answered
    /// here without the call. Optional fields (a browser language, a
    /// campaign, basket items) are missing on most events, and each test
    /// of one would otherwise cost a call.
    fn predicate(&mut self, field: FieldId, index: usize) -> Val {
        let answer = match self.shared_answers.get(&index).copied() {
            None => self.ask(field, index),
            Some(slot) => {
                // Asked before (on this path or another): read the answer.
                let kept = self.b.ins().stack_load(self.ptr, types::I8, slot, 0);
                let asked = self.b.ins().icmp_imm_u(IntCC::NotEqual, kept, i64::from(NOT_ASKED));
                let fresh = self.b.create_block();
                let done = self.b.create_block();
                let answer = self.b.append_block_param(done, types::I8);
                self.b.ins().brif(asked, done, &[kept.into()], fresh, &[]);
                self.b.switch_to_block(fresh);
                let new = self.ask(field, index);
                self.b.ins().stack_store(self.ptr, new, slot, 0);
                self.b.ins().jump(done, &[new.into()]);
                self.b.switch_to_block(done);
                answer
            }
        };
        let missing = self.b.ins().icmp_imm_u(IntCC::Equal, answer, 2);
        let v = self.b.ins().icmp_imm_u(IntCC::Equal, answer, 1);
        Val { v, missing }
    }

    /// The helper's answer to string test `index` on `field` (0, 1 or 2),
    /// asked only when the field has a value.
    fn ask(&mut self, field: FieldId, index: usize) -> Ssa {
        let (base, at) = self.place(Source::Field(field));
        let flags = slot_flags();
        let tag = self.b.ins().load(types::I8, flags, base, at);
        let present = self.b.ins().icmp_imm_u(IntCC::NotEqual, tag, TAG_MISSING);
        let ask = self.b.create_block();
        let done = self.b.create_block();
        let answer = self.b.append_block_param(done, types::I8);
        let unknown = self.b.ins().iconst(types::I8, 2);
        self.b.ins().brif(present, ask, &[], done, &[unknown.into()]);
        self.b.switch_to_block(ask);
        // What the test needs, copied out of the program's string tests.
        enum Test {
            Set(i64),
            List(u32),
            Other,
        }
        let test = match self.predicates.get(index) {
            // INVARIANT (SetsOutliveCode): the compiled program keeps this
            // predicate, so the set's address is valid as long as the code.
            Some(Predicate::InSet { set, .. }) => Test::Set((Arc::as_ptr(set) as usize as u64).cast_signed()),
            Some(Predicate::InList { list, .. }) => Test::List(list.0),
            _ => Test::Other,
        };
        let call = match test {
            // The set lookup straight on the field's slot.
            Test::Set(address) => {
                let set = self.b.ins().iconst(self.ptr, address);
                let value = self.b.ins().iadd_imm_s(base, i64::from(at));
                self.b.ins().call(self.helpers.in_set, &[set, value])
            }
            Test::List(list) => {
                let ctx = self.ctx();
                let list = self.b.ins().iconst(types::I32, i64::from(list));
                let value = self.b.ins().iadd_imm_s(base, i64::from(at));
                self.b.ins().call(self.helpers.in_list, &[ctx, list, value])
            }
            Test::Other => {
                let ctx = self.ctx();
                let id = self.b.ins().iconst(types::I32, i64::try_from(index).unwrap_or(i64::MAX));
                self.b.ins().call(self.helpers.predicate, &[ctx, id])
            }
        };
        let asked = self.b.inst_results(call).first().copied().unwrap_or(unknown);
        self.b.ins().jump(done, &[asked.into()]);
        self.b.switch_to_block(done);
        answer
    }

    /// Hands `node` to the interpreter through a helper.
    fn fallback(&mut self, node: &Node, want: Kind) -> Val {
        let ctx = self.ctx();
        let index = self.fallback.len();
        self.fallback.push(node.clone());
        let id = self.b.ins().iconst(types::I32, i64::try_from(index).unwrap_or(i64::MAX));
        match want {
            Kind::Bool => {
                let call = self.b.ins().call(self.helpers.truth, &[ctx, id]);
                let answer = self.b.inst_results(call).first().copied().unwrap_or(id);
                let missing = self.b.ins().icmp_imm_u(IntCC::Equal, answer, 2);
                let v = self.b.ins().icmp_imm_u(IntCC::Equal, answer, 1);
                Val { v, missing }
            }
            Kind::F64 => {
                let call = self.b.ins().call(self.helpers.number, &[ctx, id]);
                let v = self.b.inst_results(call).first().copied().unwrap_or(id);
                // NaN (unordered with itself) means missing.
                let missing = self.b.ins().fcmp(FloatCC::Unordered, v, v);
                Val { v, missing }
            }
            Kind::I64 => {
                let slot = self.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 8, 3));
                let out = self.b.ins().stack_addr(self.ptr, slot, 0);
                let call = self.b.ins().call(self.helpers.int, &[ctx, id, out]);
                let present = self.b.inst_results(call).first().copied().unwrap_or(id);
                let v = self.b.ins().stack_load(self.ptr, types::I64, slot, 0);
                let missing = self.b.ins().bxor_imm_u(present, 1);
                Val { v, missing }
            }
        }
    }
}
