//! Lowering a checked rule set to the IR: names to ids, literals to typed
//! values, inline sets to set structures, constant sub-expressions folded.
//!
//! Relies on INVARIANT (Checked): the input passed the type checker, so every
//! name resolves and every operand has the type its operator needs. Where that
//! could still fail (it cannot), lowering yields a missing constant rather
//! than panicking.

use crate::builtins::{parse_utc_offset, Builtin, Param};
use crate::check::CheckedRuleset;
use crate::interp::{self, Env};
use crate::ir::*;
use crate::schema::{FieldId, Schema, EVENT_TIME_PATH, SCORE_PATH};
use crate::sets::{IpSet, NumberSet, StringSet};
use crate::value::Value;
use kensa_dsl::format::format_expr;
use kensa_dsl::ast::{BinOp, Expr, ExprKind, ListKind, Literal, SetExpr, TypeName};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// Lowers a checked rule set.
pub fn lower(checked: &CheckedRuleset) -> Program {
    let ast = &checked.ast;
    let lists: Vec<ListIr> = ast.lists.iter().map(|l| ListIr { name: l.name.name.clone(), kind: l.kind }).collect();
    let cx = Lowering {
        schema: &checked.schema,
        lists: ast.lists.iter().enumerate().map(|(i, l)| (l.name.name.as_str(), (id32(i), l.kind))).collect(),
        velocities: ast
            .velocities
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.name.as_str(), (id32(i), checked.velocity_types.get(i).copied().unwrap_or(TypeName::Number))))
            .collect(),
    };
    let mut key_groups: Vec<Vec<FieldId>> = Vec::new();
    let velocities = ast
        .velocities
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let keys: Vec<FieldId> = v.by.iter().filter_map(|k| checked.schema.lookup(&k.name).map(|f| f.0)).collect();
            let key_group = match key_groups.iter().position(|g| *g == keys) {
                Some(g) => g,
                None => {
                    key_groups.push(keys.clone());
                    key_groups.len() - 1
                }
            };
            let events = events_of(v);
            VelocityIr {
                name: v.name.name.clone(),
                agg: v.agg,
                of: v.of.as_ref().map(|e| cx.expr(e).0),
                keys,
                key_group,
                window_ms: v.over.millis().unwrap_or(1).max(1),
                excluding_current: v.excluding_current,
                filter: v.filter.as_ref().map(|e| cx.expr(e).0),
                ty: checked.velocity_types.get(i).copied().unwrap_or(TypeName::Number),
                series: format!("of({}) {events}", v.of.as_ref().map(format_expr).unwrap_or_default()),
                events,
                times_only: v.of.as_ref().is_none_or(|e| matches!(&e.kind, ExprKind::Name(n) if n == EVENT_TIME_PATH)),
            }
        })
        .collect();
    let rules = ast
        .rules
        .iter()
        .zip(&checked.rule_phases)
        .map(|(r, phase)| RuleIr {
            id: r.id.name.clone(),
            outcome: checked.outcomes.rank(&r.outcome.name).unwrap_or(usize::MAX),
            priority: r.priority,
            enabled: r.enabled,
            skip_scoring: r.skip_scoring,
            phase: *phase,
            when: cx.expr(&r.when).0,
            reads: cx.reads(&r.when),
        })
        .collect();
    let slot = |path: &str| checked.schema.lookup(path).map_or(FieldId(0), |f| f.0);
    Program {
        name: ast.name.name.clone(),
        schema: checked.schema.clone(),
        score_field: slot(SCORE_PATH),
        event_id_field: slot("event.id"),
        event_time_field: slot(EVENT_TIME_PATH),
        outcomes: checked.outcomes.clone(),
        lists,
        velocities,
        key_groups,
        rules,
    }
}

/// Which events a velocity's series records (see [`VelocityIr::events`]).
/// The window, the aggregate and `excluding current` only change how a
/// series is read, so they are not part of it: `sum(amount)` over 1h and
/// `max(amount)` over 1d by the same key record the same entries.
fn events_of(v: &kensa_dsl::ast::VelocityDecl) -> String {
    let by: Vec<&str> = v.by.iter().map(|k| k.name.as_str()).collect();
    let filter = v.filter.as_ref().map(format_expr).unwrap_or_default();
    format!("by({}) where({filter})", by.join(","))
}

fn id32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

struct Lowering<'a> {
    schema: &'a Schema,
    lists: HashMap<&'a str, (u32, ListKind)>,
    velocities: HashMap<&'a str, (u32, TypeName)>,
}

fn missing() -> (Node, TypeName) {
    (Node::Const(Value::Missing), TypeName::Bool)
}

impl Lowering<'_> {
    /// Fields and velocities a condition reads, in order of first mention.
    fn reads(&self, e: &Expr) -> Vec<Read> {
        let mut out = Vec::new();
        e.walk(&mut |x| {
            if let ExprKind::Name(n) = &x.kind {
                let read = match self.velocities.get(n.as_str()) {
                    Some((i, _)) => Some(Read::Velocity(VelocityId(*i))),
                    None => self.schema.lookup(n).map(|(f, _)| Read::Field(f)),
                };
                if let Some(r) = read {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        });
        out
    }

    /// Lowers an expression and returns its type.
    fn expr(&self, e: &Expr) -> (Node, TypeName) {
        let (node, ty) = self.expr_unfolded(e);
        (fold(node), ty)
    }

    fn expr_unfolded(&self, e: &Expr) -> (Node, TypeName) {
        match &e.kind {
            ExprKind::Literal(l) => {
                let (v, ty) = literal(l);
                (Node::Const(v), ty)
            }
            ExprKind::Name(n) => match self.velocities.get(n.as_str()) {
                Some((i, ty)) => (Node::Velocity(VelocityId(*i)), *ty),
                None => match self.schema.lookup(n) {
                    Some((f, ty)) => (Node::Field(f), ty),
                    None => missing(),
                },
            },
            ExprKind::Neg(x) => {
                let (n, ty) = self.expr(x);
                (Node::Neg(Box::new(n)), ty)
            }
            ExprKind::Not(x) => (Node::Not(Box::new(self.expr(x).0)), TypeName::Bool),
            ExprKind::And(xs) => (Node::And(xs.iter().map(|x| self.expr(x).0).collect()), TypeName::Bool),
            ExprKind::Or(xs) => (Node::Or(xs.iter().map(|x| self.expr(x).0).collect()), TypeName::Bool),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            ExprKind::In { expr, negated, set } => {
                let (x, ty) = self.expr(expr);
                let node = match set {
                    SetExpr::List(name) => match self.lists.get(name.name.as_str()) {
                        Some((i, _)) => Node::InList(Box::new(x), ListId(*i)),
                        None => Node::Const(Value::Missing),
                    },
                    SetExpr::Inline(items) => Node::InSet(Box::new(x), Arc::new(inline_set(ty, items))),
                };
                let node = if *negated { Node::Not(Box::new(node)) } else { node };
                (node, TypeName::Bool)
            }
            ExprKind::Between { expr, low, high } => {
                let (x, ty) = self.expr(expr);
                let lo = self.operand(low, ty).0;
                let hi = self.operand(high, ty).0;
                (Node::Between(Box::new(x), Box::new(lo), Box::new(hi)), TypeName::Bool)
            }
            ExprKind::Is { expr, present } => (Node::Is(Box::new(self.expr(expr).0), *present), TypeName::Bool),
            ExprKind::Call { func, args } => self.call(&func.name, args),
        }
    }

    /// Lowers `e`, reading a string literal as an IP address where `expected` is `ip`.
    fn operand(&self, e: &Expr, expected: TypeName) -> (Node, TypeName) {
        match (&e.kind, expected) {
            (ExprKind::Literal(Literal::String(s) | Literal::JsonString(s)), TypeName::Ip) => {
                (Node::Const(std::net::IpAddr::from_str(s).map_or(Value::Missing, Value::ip)), TypeName::Ip)
            }
            _ => self.expr(e),
        }
    }

    fn binary(&self, op: BinOp, lhs: &Expr, rhs: &Expr) -> (Node, TypeName) {
        let is_str = |e: &Expr| matches!(e.kind, ExprKind::Literal(Literal::String(_) | Literal::JsonString(_)));
        let (l, lt, r, rt) = if is_str(lhs) && !is_str(rhs) {
            let (r, rt) = self.expr(rhs);
            let (l, lt) = self.operand(lhs, rt);
            (l, lt, r, rt)
        } else {
            let (l, lt) = self.expr(lhs);
            let (r, rt) = self.operand(rhs, lt);
            (l, lt, r, rt)
        };
        let (l, r) = (Box::new(l), Box::new(r));
        let cmp = |c| (Node::Compare(c, l.clone(), r.clone()), TypeName::Bool);
        let arith = |a, ty| (Node::Arith(a, l.clone(), r.clone()), ty);
        use TypeName::{Duration as D, Timestamp as T};
        let arith_ty = match (lt, rt) {
            (T, T) => D,
            (T, _) | (_, T) => T,
            (D, _) => D,
            _ => TypeName::Number,
        };
        match op {
            BinOp::Eq => cmp(CmpOp::Eq),
            BinOp::Ne => cmp(CmpOp::Ne),
            BinOp::Lt => cmp(CmpOp::Lt),
            BinOp::Le => cmp(CmpOp::Le),
            BinOp::Gt => cmp(CmpOp::Gt),
            BinOp::Ge => cmp(CmpOp::Ge),
            BinOp::Add => arith(ArithOp::Add, arith_ty),
            BinOp::Sub => arith(ArithOp::Sub, arith_ty),
            BinOp::Mul => arith(ArithOp::Mul, arith_ty),
            BinOp::Div => arith(ArithOp::Div, arith_ty),
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> (Node, TypeName) {
        let Some(func) = Builtin::by_name(name) else {
            return missing();
        };
        let Some(sig) = func.signatures().first() else {
            return missing();
        };
        let mut values = Vec::new();
        let mut regex = None;
        let mut offset_minutes = 0;
        let mut arg_types = Vec::new();
        for (a, p) in args.iter().zip(sig.params) {
            let literal_text = match &a.kind {
                ExprKind::Literal(Literal::String(s) | Literal::JsonString(s)) => s.as_str(),
                _ => "",
            };
            match p {
                Param::Value(_) => {
                    let (n, ty) = self.expr(a);
                    values.push(n);
                    arg_types.push(ty);
                }
                Param::Regex => regex = regex::Regex::new(literal_text).ok().map(Arc::new),
                Param::UtcOffset => offset_minutes = parse_utc_offset(literal_text).unwrap_or(0),
            }
        }
        let ret = func
            .signatures()
            .iter()
            .find(|s| {
                s.params.iter().filter_map(|p| if let Param::Value(t) = p { Some(*t) } else { None }).eq(arg_types.iter().copied())
            })
            .map_or(TypeName::Number, |s| s.ret);
        (Node::Call(Call { func, args: values, regex, offset_minutes }), ret)
    }
}

/// A literal's value and type.
pub fn literal(l: &Literal) -> (Value, TypeName) {
    match l {
        Literal::Number(n) => (Value::number(*n), TypeName::Number),
        Literal::String(s) | Literal::JsonString(s) => (Value::str(s), TypeName::String),
        Literal::Duration(d) => (d.millis().map_or(Value::Missing, Value::Duration), TypeName::Duration),
        Literal::Timestamp { millis, .. } => (Value::Timestamp(*millis), TypeName::Timestamp),
        Literal::Bool(b) => (Value::Bool(*b), TypeName::Bool),
    }
}

/// Builds an inline set for a tested expression of type `ty`.
fn inline_set(ty: TypeName, items: &[(Literal, kensa_dsl::Span)]) -> SetData {
    match ty {
        TypeName::String | TypeName::StringList => {
            let mut s = StringSet::default();
            for (l, _) in items {
                if let Literal::String(x) | Literal::JsonString(x) = l {
                    s.insert(x);
                }
            }
            SetData::Strings(s)
        }
        TypeName::Ip => {
            let mut s = IpSet::default();
            for (l, _) in items {
                if let Literal::String(x) | Literal::JsonString(x) = l {
                    if let Ok(addr) = std::net::IpAddr::from_str(x) {
                        s.insert_addr(addr);
                    } else if let Ok(net) = ipnet::IpNet::from_str(x) {
                        s.insert_net(net);
                    }
                }
            }
            s.finish();
            SetData::Ips(s)
        }
        TypeName::Number => {
            let mut s = NumberSet::default();
            for (l, _) in items {
                if let Literal::Number(n) = l {
                    s.insert(*n);
                }
            }
            SetData::Numbers(s)
        }
        _ => SetData::Values(items.iter().map(|(l, _)| literal(l).0).collect()),
    }
}

/// An environment with nothing in it, for folding constant expressions.
struct NoEnv;

impl Env for NoEnv {
    fn field(&self, _: FieldId) -> &Value {
        &Value::Missing
    }
    fn velocity(&self, _: VelocityId) -> &Value {
        &Value::Missing
    }
    fn list(&self, _: ListId) -> &SetData {
        static EMPTY: SetData = SetData::Values(Vec::new());
        &EMPTY
    }
}

/// Replaces a node whose operands are all constants by its value. `And`,
/// `Or` and `Is` are left alone when they hold non-constants (their value may
/// still depend on them); lists, fields and velocities are never constant.
fn fold(node: Node) -> Node {
    let constant = |n: &Node| matches!(n, Node::Const(_));
    let foldable = match &node {
        Node::Const(_) | Node::Field(_) | Node::Velocity(_) | Node::InList(..) => false,
        Node::Not(x) | Node::Neg(x) | Node::InSet(x, _) | Node::Is(x, _) => constant(x),
        Node::And(xs) | Node::Or(xs) => xs.iter().all(constant),
        Node::Arith(_, a, b) | Node::Compare(_, a, b) => constant(a) && constant(b),
        Node::Between(x, a, b) => constant(x) && constant(a) && constant(b),
        Node::Call(c) => c.args.iter().all(constant),
    };
    if foldable {
        Node::Const(interp::eval(&node, &NoEnv))
    } else {
        node
    }
}
