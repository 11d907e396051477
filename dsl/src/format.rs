//! The canonical text form: one layout for every rule set, comments kept.
//!
//! Layout: the ruleset's description and outcomes, then field, list and
//! velocity declarations (each group in source order, groups separated by a
//! blank line), then rules separated by blank lines. Two-space indentation;
//! a rule's attributes and `when` on their own lines, four spaces in. A `when`
//! longer than [`MAX_WIDTH`] breaks before each top-level `and`/`or`.
//! Parentheses are the fewest that keep the tree, plus parentheses around an
//! `and` inside an `or` for the reader. Printing is a pure function of the
//! AST, so `fmt(fmt(x)) == fmt(x)`.

use crate::ast::*;
use crate::literal::{format_number, quote};

/// The line width past which a `when` is broken at its top-level `and`/`or`.
pub const MAX_WIDTH: usize = 100;

/// The canonical text of a rule set.
pub fn format_ruleset(rs: &Ruleset) -> String {
    let mut out = String::new();
    for c in &rs.header_comments {
        out.push_str(&c.text);
        out.push('\n');
    }
    out.push_str(&format!("ruleset {} {{\n", rs.name.name));
    let mut groups: Vec<String> = Vec::new();
    let mut head = String::new();
    if let Some(d) = &rs.description {
        item(&mut head, &d.comments, &format!("description {}", quote(&d.text)));
    }
    if let Some(o) = &rs.outcomes {
        let names: Vec<&str> = o.names.iter().map(|n| n.name.as_str()).collect();
        item(&mut head, &o.comments, &format!("outcomes {}", names.join(" > ")));
    }
    groups.push(head);
    let mut fields = String::new();
    for f in &rs.fields {
        item(&mut fields, &f.comments, &format!("field {}: {}", f.path.name, f.ty.as_str()));
    }
    groups.push(fields);
    let mut lists = String::new();
    for l in &rs.lists {
        item(&mut lists, &l.comments, &format!("list {}: {}", l.name.name, l.kind.as_str()));
    }
    groups.push(lists);
    let mut velocities = String::new();
    for v in &rs.velocities {
        item(&mut velocities, &v.comments, &velocity_text(v));
    }
    groups.push(velocities);
    for r in &rs.rules {
        let mut s = String::new();
        rule(&mut s, r);
        groups.push(s);
    }
    let body: Vec<String> = groups.into_iter().filter(|g| !g.is_empty()).collect();
    out.push_str(&body.join("\n"));
    if !rs.footer_comments.is_empty() {
        if !body.is_empty() {
            out.push('\n');
        }
        for c in &rs.footer_comments {
            out.push_str("  ");
            out.push_str(&c.text);
            out.push('\n');
        }
    }
    out.push_str("}\n");
    out
}

/// One single-line item at two spaces, with its comments.
fn item(out: &mut String, comments: &Comments, line: &str) {
    for c in comments.leading.iter().chain(&comments.inner) {
        comment_line(out, "  ", c);
    }
    out.push_str("  ");
    out.push_str(line);
    trailing(out, comments);
}

fn comment_line(out: &mut String, indent: &str, c: &Comment) {
    out.push_str(indent);
    out.push_str(&c.text);
    out.push('\n');
}

fn trailing(out: &mut String, comments: &Comments) {
    if let Some(t) = &comments.trailing {
        out.push(' ');
        out.push_str(&t.text);
    }
    out.push('\n');
}

/// The text of a velocity declaration (without indentation).
pub fn velocity_text(v: &VelocityDecl) -> String {
    let of = v.of.as_ref().map(format_expr).unwrap_or_default();
    let by: Vec<&str> = v.by.iter().map(|k| k.name.as_str()).collect();
    let mut s = format!("velocity {} = {}({}) by {} over {}", v.name.name, v.agg.as_str(), of, by.join(", "), v.over);
    if v.excluding_current {
        s.push_str(" excluding current");
    }
    if let Some(w) = &v.filter {
        s.push_str(" where ");
        s.push_str(&format_expr(w));
    }
    s
}

fn rule(out: &mut String, r: &Rule) {
    for c in &r.comments.leading {
        comment_line(out, "  ", c);
    }
    out.push_str(&format!("  rule {} -> {}\n", r.id.name, r.outcome.name));
    if let Some(d) = &r.description {
        out.push_str(&format!("    description {}\n", quote(d)));
    }
    if let Some(p) = r.priority {
        out.push_str(&format!("    priority {p}\n"));
    }
    if !r.enabled {
        out.push_str("    disabled\n");
    }
    if r.skip_scoring {
        out.push_str("    skip_scoring\n");
    }
    for c in &r.comments.inner {
        comment_line(out, "    ", c);
    }
    out.push_str(&when_text(&r.when));
    trailing(out, &r.comments);
}

/// `    when ...`, broken at top-level `and`/`or` when too long (no newline at the end).
fn when_text(e: &Expr) -> String {
    let one_line = format!("    when {}", format_expr(e));
    if one_line.chars().count() <= MAX_WIDTH {
        return one_line;
    }
    let (items, word) = match &e.kind {
        ExprKind::And(xs) if xs.len() > 1 => (xs, "and"),
        ExprKind::Or(xs) if xs.len() > 1 => (xs, "or"),
        _ => return one_line,
    };
    let parts: Vec<String> = items.iter().map(child_text).collect();
    let mut s = String::from("    when ");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(&format!("\n      {word} "));
        }
        s.push_str(p);
    }
    s
}

/// Binding strength, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
    Compare,
    Sum,
    Product,
    Unary,
    Atom,
}

fn prec(e: &Expr) -> Prec {
    match &e.kind {
        ExprKind::Or(xs) | ExprKind::And(xs) if xs.is_empty() => Prec::Atom,
        ExprKind::Or(xs) if xs.len() != 1 => Prec::Or,
        ExprKind::And(xs) if xs.len() != 1 => Prec::And,
        ExprKind::Or(xs) | ExprKind::And(xs) => xs.first().map_or(Prec::Atom, prec),
        ExprKind::Not(_) => Prec::Not,
        ExprKind::Binary { op, .. } if op.is_comparison() => Prec::Compare,
        ExprKind::In { .. } | ExprKind::Between { .. } | ExprKind::Is { .. } => Prec::Compare,
        ExprKind::Binary { op: BinOp::Add | BinOp::Sub, .. } => Prec::Sum,
        ExprKind::Binary { .. } => Prec::Product,
        ExprKind::Neg(_) => Prec::Unary,
        ExprKind::Literal(Literal::Number(v)) if v.is_sign_negative() => Prec::Unary,
        ExprKind::Literal(_) | ExprKind::Name(_) | ExprKind::Call { .. } => Prec::Atom,
    }
}

/// The text of an expression on one line.
pub fn format_expr(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e, Prec::Or);
    s
}

/// A child of a top-level `and`/`or` chain, parenthesised as inside the chain.
fn child_text(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e, Prec::Not);
    s
}

fn write_expr(out: &mut String, e: &Expr, min: Prec) {
    let p = prec(e);
    let wrap = p < min;
    if wrap {
        out.push('(');
    }
    match &e.kind {
        ExprKind::Literal(l) => write_literal(out, l),
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Call { func, args } => {
            out.push_str(&func.name);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, a, Prec::Or);
            }
            out.push(')');
        }
        ExprKind::Neg(x) => {
            out.push('-');
            write_expr(out, x, Prec::Unary);
        }
        ExprKind::Not(x) => {
            out.push_str("not ");
            write_expr(out, x, Prec::Not);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (l, r) = match p {
                Prec::Compare => (Prec::Sum, Prec::Sum),
                Prec::Sum => (Prec::Sum, Prec::Product),
                _ => (Prec::Product, Prec::Unary),
            };
            write_expr(out, lhs, l);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_expr(out, rhs, r);
        }
        ExprKind::And(xs) | ExprKind::Or(xs) if xs.len() == 1 => {
            if let Some(x) = xs.first() {
                write_expr(out, x, min);
            }
        }
        ExprKind::And(xs) if xs.is_empty() => out.push_str("true"),
        ExprKind::Or(xs) if xs.is_empty() => out.push_str("false"),
        ExprKind::And(xs) | ExprKind::Or(xs) => {
            let word = if matches!(e.kind, ExprKind::And(_)) { " and " } else { " or " };
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                // Nested chains are always parenthesised: an `and` inside an
                // `or` for the reader, a same-kind chain to keep the tree.
                write_expr(out, x, Prec::Not);
            }
        }
        ExprKind::In { expr, negated, set } => {
            write_expr(out, expr, Prec::Sum);
            out.push_str(if *negated { " not in " } else { " in " });
            write_set(out, set);
        }
        ExprKind::Between { expr, low, high } => {
            write_expr(out, expr, Prec::Sum);
            out.push_str(" between ");
            write_expr(out, low, Prec::Sum);
            out.push_str(" and ");
            write_expr(out, high, Prec::Sum);
        }
        ExprKind::Is { expr, present } => {
            write_expr(out, expr, Prec::Sum);
            out.push_str(if *present { " is present" } else { " is missing" });
        }
    }
    if wrap {
        out.push(')');
    }
}

fn write_set(out: &mut String, set: &SetExpr) {
    match set {
        SetExpr::List(name) => out.push_str(&name.name),
        SetExpr::Inline(items) => {
            out.push('(');
            for (i, (l, _)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_literal(out, l);
            }
            out.push(')');
        }
    }
}

/// Writes a literal as the text form spells it.
pub fn write_literal(out: &mut String, l: &Literal) {
    match l {
        Literal::Number(v) => out.push_str(&format_number(*v)),
        Literal::String(s) | Literal::JsonString(s) => out.push_str(&quote(s)),
        Literal::Duration(d) => out.push_str(&d.to_string()),
        Literal::Timestamp { text, .. } => {
            out.push('@');
            out.push_str(text);
        }
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}
