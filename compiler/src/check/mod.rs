//! Name resolution and type checking of a whole rule set.
//!
//! Declarations are gathered first (so rules may use lists and velocities
//! declared below them), then every velocity and rule is checked. Every error
//! is collected; a rule set with none is a [`CheckedRuleset`].

mod expr;

use crate::outcomes::Outcomes;
use crate::schema::{Schema, SCORE_PATH};
use kensa_dsl::ast::{ExprKind, ListKind, Ruleset, TypeName};
use kensa_dsl::{Code, Diagnostic};
use std::collections::HashMap;

/// Which evaluation phase a rule belongs to (SPEC section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Rules that do not read `score`: run first.
    One,
    /// Rules that read `score`: run after scoring.
    Two,
}

/// A rule set that resolved and type-checked.
#[derive(Clone, Debug)]
pub struct CheckedRuleset {
    /// The AST, with every JSON string literal resolved to its field's type
    /// (INVARIANT JsonStringResolved).
    pub ast: Ruleset,
    /// The event schema: the built-in fields and the rule set's own.
    pub schema: Schema,
    /// The outcomes with their codes, highest precedence first.
    pub outcomes: Outcomes,
    /// Each velocity's result type, in declaration order.
    pub velocity_types: Vec<TypeName>,
    /// Each rule's phase, in rule order.
    pub rule_phases: Vec<Phase>,
}

/// Resolves and type-checks a rule set against the built-in `payment` schema
/// plus its own `field` declarations. Returns every error, in source order.
pub fn check(ast: Ruleset) -> Result<CheckedRuleset, Vec<Diagnostic>> {
    check_against(ast, Schema::payment())
}

/// As [`check`], against `base` (the payment schema with the fields an
/// embedding host declared) instead of the payment schema alone.
pub fn check_against(mut ast: Ruleset, base: Schema) -> Result<CheckedRuleset, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut schema = base;
    schema.declare(&ast.fields, &mut diags);
    let outcomes = Outcomes::from_decl(ast.outcomes.as_ref(), &mut diags);

    // Lists and velocities share one namespace.
    let mut names: HashMap<String, ()> = HashMap::new();
    let mut lists: HashMap<String, ListKind> = HashMap::new();
    for l in &ast.lists {
        if names.insert(l.name.name.clone(), ()).is_some() {
            diags.push(Diagnostic::new(Code::DuplicateName, l.name.span, format!("list `{}` is declared twice", l.name.name)));
        } else {
            lists.insert(l.name.name.clone(), l.kind);
        }
    }
    let mut velocity_names: HashMap<String, usize> = HashMap::new();
    for (i, v) in ast.velocities.iter().enumerate() {
        let name = &v.name.name;
        if names.insert(name.clone(), ()).is_some() {
            diags.push(Diagnostic::new(
                Code::DuplicateName,
                v.name.span,
                format!("`{name}` is already the name of a list or velocity"),
            ));
        } else if schema.lookup(name).is_some() {
            diags.push(Diagnostic::new(
                Code::VelocityShadowsField,
                v.name.span,
                format!("velocity `{name}` has the name of a field: a bare name in a condition could not tell them apart"),
            ));
        } else {
            velocity_names.insert(name.clone(), i);
        }
    }

    let mut velocity_types = Vec::with_capacity(ast.velocities.len());
    {
        let mut cx = expr::Checker { schema: &schema, lists: &lists, velocities: &velocity_names, velocity_types: &[], in_velocity: true, diags: &mut diags };
        for v in &mut ast.velocities {
            velocity_types.push(cx.velocity(v));
        }
    }

    let mut rule_phases = Vec::with_capacity(ast.rules.len());
    let mut rule_ids: HashMap<String, ()> = HashMap::new();
    {
        let mut cx = expr::Checker {
            schema: &schema,
            lists: &lists,
            velocities: &velocity_names,
            velocity_types: &velocity_types,
            in_velocity: false,
            diags: &mut diags,
        };
        for r in &mut ast.rules {
            if rule_ids.insert(r.id.name.clone(), ()).is_some() {
                cx.diags.push(Diagnostic::new(Code::DuplicateRule, r.id.span, format!("rule id `{}` is used twice", r.id.name)));
            }
            if outcomes.rank(&r.outcome.name).is_none() {
                cx.diags.push(
                    Diagnostic::new(Code::UnknownOutcome, r.outcome.span, format!("unknown outcome `{}`", r.outcome.name))
                        .with_help(format!("the outcomes of this rule set are {}", outcomes.names())),
                );
            }
            cx.condition(&mut r.when, "a `when` condition");
            let phase = if reads_score(&r.when) { Phase::Two } else { Phase::One };
            if phase == Phase::Two && r.skip_scoring {
                cx.diags.push(Diagnostic::new(
                    Code::SkipScoringPhase2,
                    r.skip_scoring_span.unwrap_or(r.id.span),
                    format!("rule `{}` reads `score`, so it runs after scoring and cannot skip it", r.id.name),
                ));
            }
            rule_phases.push(phase);
        }
    }

    if diags.is_empty() {
        Ok(CheckedRuleset { ast, schema, outcomes, velocity_types, rule_phases })
    } else {
        kensa_dsl::diagnostic::sort_by_position(&mut diags);
        Err(diags)
    }
}

/// True when the condition mentions the path `score`.
fn reads_score(e: &kensa_dsl::ast::Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(&x.kind, ExprKind::Name(n) if n == SCORE_PATH) {
            found = true;
        }
    });
    found
}
