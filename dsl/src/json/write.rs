//! The JSON writer: every key present, in the SPEC's order, two-space indent.
//!
//! Conditions: an `and` (`or`) chain becomes one `all` (`any`); a leaf of the
//! shape `PATH OP LITERAL` (and `in`, `between`, `is missing/present`) becomes
//! a tree leaf; a `not` of a tree becomes `{"not": ...}`; `true` / `false`
//! become the empty `all` / `any`. Everything else is a string in the text
//! syntax.

use crate::ast::*;
use crate::format::format_expr;
use crate::literal::json_number;
use serde_json::{json, Map, Value};

/// The JSON form of a rule set, as text ending in a newline.
pub fn write_json(rs: &Ruleset) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(rs)).unwrap_or_default();
    s.push('\n');
    s
}

/// The JSON form of a rule set as a value.
pub fn to_value(rs: &Ruleset) -> Value {
    json!({
        "ruleset": rs.name.name,
        "description": rs.description.as_ref().map(|d| d.text.clone()),
        "outcomes": rs.outcomes.as_ref().map(|o| o.names.iter().map(|n| n.name.clone()).collect::<Vec<_>>()),
        "fields": rs.fields.iter().map(|f| json!({"path": f.path.name, "type": f.ty.as_str()})).collect::<Vec<_>>(),
        "lists": rs.lists.iter().map(|l| json!({"name": l.name.name, "kind": l.kind.as_str()})).collect::<Vec<_>>(),
        "velocities": rs.velocities.iter().map(velocity).collect::<Vec<_>>(),
        "rules": rs.rules.iter().map(rule).collect::<Vec<_>>(),
    })
}

fn velocity(v: &VelocityDecl) -> Value {
    json!({
        "name": v.name.name,
        "agg": v.agg.as_str(),
        "of": v.of.as_ref().map(format_expr),
        "by": v.by.iter().map(|k| k.name.clone()).collect::<Vec<_>>(),
        "over": v.over.to_string(),
        "excluding_current": v.excluding_current,
        "where": v.filter.as_ref().map(condition),
    })
}

fn rule(r: &Rule) -> Value {
    json!({
        "id": r.id.name,
        "outcome": r.outcome.name,
        "priority": r.priority,
        "enabled": r.enabled,
        "skip_scoring": r.skip_scoring,
        "description": r.description,
        "when": condition(&r.when),
    })
}

/// The JSON form of a condition.
pub fn condition(e: &Expr) -> Value {
    tree(e).unwrap_or_else(|| Value::String(format_expr(e)))
}

/// The tree form of `e`, when it has one.
fn tree(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::And(xs) if xs.len() != 1 => Some(json!({"all": xs.iter().map(condition).collect::<Vec<_>>()})),
        ExprKind::Or(xs) if xs.len() != 1 => Some(json!({"any": xs.iter().map(condition).collect::<Vec<_>>()})),
        ExprKind::And(xs) | ExprKind::Or(xs) => xs.first().and_then(tree),
        ExprKind::Literal(Literal::Bool(true)) => Some(json!({"all": []})),
        ExprKind::Literal(Literal::Bool(false)) => Some(json!({"any": []})),
        ExprKind::Not(x) => tree(x).map(|t| json!({"not": t})),
        ExprKind::Binary { op, lhs, rhs } if op.is_comparison() => {
            let mut m = leaf_head(lhs, op.as_str())?;
            m.insert("value".into(), value(rhs)?);
            Some(Value::Object(m))
        }
        ExprKind::In { expr, negated, set } => {
            let mut m = leaf_head(expr, if *negated { "not_in" } else { "in" })?;
            match set {
                SetExpr::List(name) => m.insert("list".into(), Value::String(name.name.clone())),
                SetExpr::Inline(items) => {
                    let vs: Option<Vec<Value>> = items.iter().map(|(l, _)| literal_value(l)).collect();
                    m.insert("values".into(), Value::Array(vs?))
                }
            };
            Some(Value::Object(m))
        }
        ExprKind::Between { expr, low, high } => {
            let mut m = leaf_head(expr, "between")?;
            m.insert("values".into(), Value::Array(vec![value(low)?, value(high)?]));
            Some(Value::Object(m))
        }
        ExprKind::Is { expr, present } => {
            let m = leaf_head(expr, if *present { "is_present" } else { "is_missing" })?;
            Some(Value::Object(m))
        }
        _ => None,
    }
}

/// `{"field": F, "op": OP}` when the left side is a bare path or velocity name.
fn leaf_head(lhs: &Expr, op: &str) -> Option<Map<String, Value>> {
    let ExprKind::Name(name) = &lhs.kind else {
        return None;
    };
    let mut m = Map::new();
    m.insert("field".into(), Value::String(name.clone()));
    m.insert("op".into(), Value::String(op.to_string()));
    Some(m)
}

/// The JSON value of a literal operand (`-5` included), if it has one.
fn value(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Literal(l) => literal_value(l),
        ExprKind::Neg(x) => match &x.kind {
            ExprKind::Literal(Literal::Number(v)) => Some(json_number(-v)),
            _ => None,
        },
        _ => None,
    }
}

fn literal_value(l: &Literal) -> Option<Value> {
    Some(match l {
        Literal::Number(v) => json_number(*v),
        Literal::String(s) | Literal::JsonString(s) => Value::String(s.clone()),
        Literal::Duration(d) => Value::String(d.to_string()),
        Literal::Timestamp { text, .. } => Value::String(text.clone()),
        Literal::Bool(b) => Value::Bool(*b),
    })
}
