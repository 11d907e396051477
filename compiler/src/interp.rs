//! The interpreter: evaluates IR nodes with three-valued logic (SPEC section
//! 6). It is the reference the JIT is checked against, so it favours plain
//! code over cleverness; it is still typed (values are tagged, never looked up
//! by name).

use crate::builtins::Builtin;
use crate::ir::{ArithOp, Call, CmpOp, ListId, Node, SetData, VelocityId};
use crate::schema::FieldId;
use crate::value::Value;
use std::cmp::Ordering;

/// What an evaluation reads from outside the expression.
pub trait Env {
    /// The value in a field's slot.
    fn field(&self, id: FieldId) -> &Value;
    /// A velocity's value for the event being decided.
    fn velocity(&self, id: VelocityId) -> &Value;
    /// A declared list's members.
    fn list(&self, id: ListId) -> &SetData;
    /// Every field's value by [`FieldId`] and every velocity's by
    /// [`VelocityId`], when [`Env::field`] and [`Env::velocity`] read them
    /// straight from two slices (for every field but `score`, which callers
    /// still read through `field`: a phase may replace it). Lets the JIT
    /// read values in place instead of calling for each.
    fn values(&self) -> Option<(&[Value], &[Value])> {
        None
    }
    /// Every list by [`ListId`], when [`Env::list`] reads them from one
    /// slice: lets the JIT's list test find a list without a dynamic call.
    fn lists(&self) -> Option<&[std::sync::Arc<SetData>]> {
        None
    }
}

/// Three-valued truth: `Some(b)` or `None` for missing.
pub type Truth = Option<bool>;

/// Evaluates a condition to three-valued truth (non-bool values count as missing).
pub fn truth(node: &Node, env: &dyn Env) -> Truth {
    match eval(node, env) {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn from_truth(t: Truth) -> Value {
    t.map_or(Value::Missing, Value::Bool)
}

/// Evaluates a node.
pub fn eval(node: &Node, env: &dyn Env) -> Value {
    match node {
        Node::Const(v) => v.clone(),
        Node::Field(id) => env.field(*id).clone(),
        Node::Velocity(id) => env.velocity(*id).clone(),
        Node::Not(x) => from_truth(truth(x, env).map(|b| !b)),
        Node::And(xs) => chain(xs, false, env),
        Node::Or(xs) => chain(xs, true, env),
        Node::Neg(x) => match eval(x, env) {
            Value::Number(n) => Value::number(-n),
            Value::Duration(d) => d.checked_neg().map_or(Value::Missing, Value::Duration),
            _ => Value::Missing,
        },
        Node::Arith(op, a, b) => arith(*op, &eval(a, env), &eval(b, env)),
        Node::Compare(op, a, b) => from_truth(compare(*op, &eval(a, env), &eval(b, env))),
        Node::InList(x, id) => from_truth(member(env.list(*id), &eval(x, env))),
        Node::InSet(x, set) => from_truth(member(set, &eval(x, env))),
        Node::Between(x, lo, hi) => {
            let v = eval(x, env);
            let low = compare(CmpOp::Le, &eval(lo, env), &v);
            let high = compare(CmpOp::Le, &v, &eval(hi, env));
            from_truth(and3(low, high))
        }
        Node::Is(x, present) => Value::Bool(eval(x, env).is_missing() != *present),
        Node::Call(call) => call_builtin(call, env),
    }
}

/// `and` (`decisive = false`) or `or` (`decisive = true`): the decisive
/// value wins at once; otherwise missing if any operand is, else the other.
fn chain(xs: &[Node], decisive: bool, env: &dyn Env) -> Value {
    let mut missing = false;
    for x in xs {
        match truth(x, env) {
            Some(b) if b == decisive => return Value::Bool(decisive),
            None => missing = true,
            Some(_) => {}
        }
    }
    if missing {
        Value::Missing
    } else {
        Value::Bool(!decisive)
    }
}

fn and3(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// Arithmetic on typed values; a non-finite or overflowing result is missing.
pub fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    use Value::{Duration as D, Number as N, Timestamp as T};
    match (op, a, b) {
        (ArithOp::Add, N(x), N(y)) => Value::number(x + y),
        (ArithOp::Sub, N(x), N(y)) => Value::number(x - y),
        (ArithOp::Mul, N(x), N(y)) => Value::number(x * y),
        (ArithOp::Div, N(x), N(y)) => Value::number(x / y),
        (ArithOp::Sub, T(x), T(y)) => x.checked_sub(*y).map_or(Value::Missing, D),
        (ArithOp::Add, T(x), D(y)) | (ArithOp::Add, D(y), T(x)) => x.checked_add(*y).map_or(Value::Missing, T),
        (ArithOp::Sub, T(x), D(y)) => x.checked_sub(*y).map_or(Value::Missing, T),
        (ArithOp::Add, D(x), D(y)) => x.checked_add(*y).map_or(Value::Missing, D),
        (ArithOp::Sub, D(x), D(y)) => x.checked_sub(*y).map_or(Value::Missing, D),
        _ => Value::Missing,
    }
}

/// Compares two values of one type; missing when either is missing.
pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Truth {
    let ord = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y)?,
        (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Timestamp(x), Value::Timestamp(y)) | (Value::Duration(x), Value::Duration(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Ip(x), Value::Ip(y)) => {
            // Only == and != reach here (the checker allows nothing else).
            let eq = x == y;
            return match op {
                CmpOp::Eq => Some(eq),
                CmpOp::Ne => Some(!eq),
                _ => None,
            };
        }
        _ => return None,
    };
    Some(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    })
}

/// Set membership; for a `[string]`, true when any element is in the set.
pub fn member(set: &SetData, v: &Value) -> Truth {
    match (set, v) {
        (_, Value::Missing) => None,
        (SetData::Strings(s), Value::Str(x)) => Some(s.contains(x)),
        (SetData::Prefixes(p), Value::Str(x)) => Some(p.matches(x)),
        (SetData::Strings(s), Value::StrList(xs)) => Some(xs.iter().any(|x| s.contains(x))),
        (SetData::Prefixes(p), Value::StrList(xs)) => Some(xs.iter().any(|x| p.matches(x))),
        (SetData::Ips(s), Value::Ip(a)) => Some(s.contains(*a)),
        (SetData::Numbers(s), Value::Number(n)) => Some(s.contains(*n)),
        (SetData::Values(vs), v) => Some(vs.contains(v)),
        _ => None,
    }
}

fn call_builtin(call: &Call, env: &dyn Env) -> Value {
    let args: Vec<Value> = call.args.iter().map(|a| eval(a, env)).collect();
    if args.iter().any(Value::is_missing) {
        return Value::Missing;
    }
    match (call.func, args.as_slice()) {
        (Builtin::Lower, [Value::Str(s)]) => Value::str(&s.to_lowercase()),
        (Builtin::Upper, [Value::Str(s)]) => Value::str(&s.to_uppercase()),
        (Builtin::Len, [Value::Str(s)]) => count(s.chars().count()),
        (Builtin::Len, [Value::StrList(xs)]) => count(xs.len()),
        (Builtin::StartsWith, [Value::Str(s), Value::Str(p)]) => Value::Bool(s.starts_with(&**p)),
        (Builtin::EndsWith, [Value::Str(s), Value::Str(p)]) => Value::Bool(s.ends_with(&**p)),
        (Builtin::Contains, [Value::Str(s), Value::Str(p)]) => Value::Bool(s.contains(&**p)),
        (Builtin::Matches, [Value::Str(s)]) => match &call.regex {
            Some(re) => Value::Bool(re.is_match(s)),
            None => Value::Missing,
        },
        (Builtin::Hour, [Value::Timestamp(t)]) => {
            local_ms(*t, call.offset_minutes).map_or(Value::Missing, |ms| count(usize_of(ms.rem_euclid(86_400_000) / 3_600_000)))
        }
        (Builtin::Weekday, [Value::Timestamp(t)]) => local_ms(*t, call.offset_minutes).map_or(Value::Missing, |ms| {
            // 1970-01-01 was a Thursday (4); Monday is 1.
            let days = ms.div_euclid(86_400_000);
            count(usize_of((days + 3).rem_euclid(7) + 1))
        }),
        (Builtin::Abs, [Value::Number(n)]) => Value::number(n.abs()),
        (Builtin::Min, [Value::Number(a), Value::Number(b)]) => Value::number(a.min(*b)),
        (Builtin::Max, [Value::Number(a), Value::Number(b)]) => Value::number(a.max(*b)),
        _ => Value::Missing,
    }
}

fn local_ms(t: i64, offset_minutes: i32) -> Option<i64> {
    t.checked_add(i64::from(offset_minutes) * 60_000)
}

fn usize_of(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn count(n: usize) -> Value {
    Value::Number(n as f64)
}
