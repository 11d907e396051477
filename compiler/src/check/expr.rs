//! Typing expressions (SPEC sections 4 and 5).
//!
//! `Ty` is `Option<TypeName>`: `None` means an error was already reported
//! below, and suppresses follow-on errors about the same expression.

use crate::builtins::{parse_utc_offset, Builtin, Param};
use crate::schema::{Schema, SCORE_PATH};
use kensa_dsl::ast::*;
use kensa_dsl::{Code, Diagnostic, Span};
use std::collections::HashMap;
use std::str::FromStr;

type Ty = Option<TypeName>;

pub(super) struct Checker<'a> {
    pub schema: &'a Schema,
    pub lists: &'a HashMap<String, ListKind>,
    pub velocities: &'a HashMap<String, usize>,
    /// Velocity result types, by declaration index (empty while checking velocities).
    pub velocity_types: &'a [TypeName],
    /// True while checking a velocity's argument, keys and `where`.
    pub in_velocity: bool,
    pub diags: &'a mut Vec<Diagnostic>,
}

fn t(ty: TypeName) -> String {
    format!("`{}`", ty.as_str())
}

fn is_ordered(ty: TypeName) -> bool {
    matches!(ty, TypeName::Number | TypeName::String | TypeName::Timestamp | TypeName::Duration)
}

fn is_scalar(ty: TypeName) -> bool {
    ty != TypeName::StringList
}

impl Checker<'_> {
    fn err(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, span, message));
    }

    /// Checks a velocity declaration and returns its result type (number on error).
    pub fn velocity(&mut self, v: &mut VelocityDecl) -> TypeName {
        for key in &v.by {
            match self.schema.lookup(&key.name) {
                None => self.unknown_name(&key.name, key.span),
                Some(_) if key.name == SCORE_PATH => self.err(
                    Code::BadVelocityInput,
                    key.span,
                    "a velocity key may not be `score`: scores are not known when velocities are read",
                ),
                Some((_, ty)) if !is_scalar(ty) => self.err(
                    Code::TypeMismatch,
                    key.span,
                    format!("velocity key `{}` is a {}; keys must be single values", key.name, t(ty)),
                ),
                Some(_) => {}
            }
        }
        if let Some(filter) = &mut v.filter {
            self.condition(filter, "a `where` condition");
        }
        let arg = v.of.as_mut().map(|e| (self.expr(e), e.span));
        let agg = v.agg;
        match (agg, arg) {
            (AggKind::Count, _) => TypeName::Number,
            (_, None) => TypeName::Number,
            (_, Some((None, _))) => TypeName::Number,
            (AggKind::CountDistinct, Some((Some(ty), span))) => {
                if !is_scalar(ty) {
                    self.agg_error(agg, ty, span, "a single value");
                }
                TypeName::Number
            }
            (AggKind::Sum | AggKind::Avg, Some((Some(ty), span))) => {
                if ty != TypeName::Number {
                    self.agg_error(agg, ty, span, "`number`");
                }
                TypeName::Number
            }
            (AggKind::Min | AggKind::Max, Some((Some(ty), span))) => {
                if !is_ordered(ty) {
                    self.agg_error(agg, ty, span, "`number`, `string`, `timestamp` or `duration`");
                }
                ty
            }
            (AggKind::Last, Some((Some(ty), span))) => {
                if !is_scalar(ty) {
                    self.agg_error(agg, ty, span, "a single value");
                }
                ty
            }
        }
    }

    fn agg_error(&mut self, agg: AggKind, found: TypeName, span: Span, expected: &str) {
        self.err(
            Code::TypeMismatch,
            span,
            format!("`{}` needs {expected}, found {}", agg.as_str(), t(found)),
        );
    }

    /// Checks that `e` is a `bool` condition; `what` names it in messages.
    pub fn condition(&mut self, e: &mut Expr, what: &str) {
        if let Some(ty) = self.expr(e) {
            if ty != TypeName::Bool {
                self.err(Code::NotBool, e.span, format!("{what} must be `bool`, found {}", t(ty)));
            }
        }
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        let d = Diagnostic::new(Code::UnknownField, span, format!("unknown field or velocity `{name}`"));
        let d = match self.suggest(name) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d,
        };
        self.diags.push(d);
    }

    /// A known name that differs from `name` by at most two edits.
    fn suggest(&self, name: &str) -> Option<String> {
        let candidates = self.schema.fields().iter().map(|f| f.path.as_str()).chain(self.velocities.keys().map(String::as_str));
        candidates
            .map(|c| (edit_distance(name, c), c))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c.to_string())
    }

    pub fn expr(&mut self, e: &mut Expr) -> Ty {
        let span = e.span;
        let chain_word = if matches!(e.kind, ExprKind::And(_)) { "and" } else { "or" };
        match &mut e.kind {
            ExprKind::Literal(l) => Some(literal_type(l)),
            ExprKind::Name(name) => self.name(name, span),
            ExprKind::Call { func, args } => self.call(func, args, span),
            ExprKind::Neg(x) => {
                let ty = self.expr(x)?;
                match ty {
                    TypeName::Number | TypeName::Duration => Some(ty),
                    _ => {
                        self.err(Code::TypeMismatch, span, format!("unary `-` needs a `number` or `duration`, found {}", t(ty)));
                        None
                    }
                }
            }
            ExprKind::Not(x) => {
                let ty = self.expr(x)?;
                if ty != TypeName::Bool {
                    self.err(Code::NotBool, x.span, format!("`not` needs a `bool`, found {}", t(ty)));
                    return None;
                }
                Some(TypeName::Bool)
            }
            ExprKind::And(xs) | ExprKind::Or(xs) => {
                let word = chain_word;
                let mut ok = true;
                for x in xs.iter_mut() {
                    match self.expr(x) {
                        Some(TypeName::Bool) => {}
                        Some(ty) => {
                            self.err(Code::NotBool, x.span, format!("`{word}` needs `bool` operands, found {}", t(ty)));
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(TypeName::Bool)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let op = *op;
                let (l, r) = self.operands(lhs, rhs);
                let (l, r) = (l?, r?);
                if op.is_comparison() {
                    self.comparison(op, l, r, span)
                } else {
                    self.arithmetic(op, l, r, span)
                }
            }
            ExprKind::In { expr, negated: _, set } => {
                let ty = self.expr(expr)?;
                self.set(ty, set, span)?;
                Some(TypeName::Bool)
            }
            ExprKind::Between { expr, low, high } => {
                let ty = self.expr(expr);
                let lo = self.expr_expecting(low, ty);
                let hi = self.expr_expecting(high, ty);
                let (ty, lo, hi) = (ty?, lo?, hi?);
                if !is_ordered(ty) {
                    self.err(Code::TypeMismatch, span, format!("`between` needs an ordered type (number, string, timestamp, duration), found {}", t(ty)));
                    return None;
                }
                for (bound, bty) in [(&**low, lo), (&**high, hi)] {
                    if bty != ty {
                        self.err(Code::TypeMismatch, bound.span, format!("`between` bounds must have the tested type: expected {}, found {}", t(ty), t(bty)));
                        return None;
                    }
                }
                Some(TypeName::Bool)
            }
            ExprKind::Is { expr, .. } => {
                self.expr(expr)?;
                Some(TypeName::Bool)
            }
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Ty {
        if let Some(&i) = self.velocities.get(name) {
            if self.in_velocity {
                self.err(
                    Code::BadVelocityInput,
                    span,
                    format!("a velocity's argument, keys and `where` read fields only, not the velocity `{name}`"),
                );
                return None;
            }
            return self.velocity_types.get(i).copied();
        }
        match self.schema.lookup(name) {
            Some(_) if self.in_velocity && name == SCORE_PATH => {
                self.err(
                    Code::BadVelocityInput,
                    span,
                    "a velocity's argument, keys and `where` may not read `score`: scores are not known when velocities are read",
                );
                None
            }
            Some((_, ty)) => Some(ty),
            None => {
                self.unknown_name(name, span);
                None
            }
        }
    }

    /// Types both sides of a binary operator, letting a string literal take
    /// the type of the other side where the SPEC says so (IP addresses, and
    /// JSON values read as the field's type).
    fn operands(&mut self, lhs: &mut Expr, rhs: &mut Expr) -> (Ty, Ty) {
        let l_flex = is_flexible_literal(lhs);
        let r_flex = is_flexible_literal(rhs);
        if l_flex && !r_flex {
            let r = self.expr(rhs);
            let l = self.expr_expecting(lhs, r);
            (l, r)
        } else {
            let l = self.expr(lhs);
            let r = self.expr_expecting(rhs, l);
            (l, r)
        }
    }

    /// Types `e`, reading a string literal as `expected` when it is `ip`, or
    /// a JSON string as any expected type.
    fn expr_expecting(&mut self, e: &mut Expr, expected: Ty) -> Ty {
        let span = e.span;
        let ExprKind::Literal(lit) = &mut e.kind else {
            return self.expr(e);
        };
        match (lit, expected) {
            (Literal::String(s), Some(TypeName::Ip)) => {
                self.ip_literal(s, span, false)?;
                Some(TypeName::Ip)
            }
            (lit @ Literal::JsonString(_), Some(ty)) => {
                let resolved = self.resolve_json_string(lit, ty, span)?;
                *lit = resolved;
                Some(ty)
            }
            (lit @ Literal::JsonString(_), None) => {
                let Literal::JsonString(s) = lit else { return None };
                *lit = Literal::String(std::mem::take(s));
                Some(TypeName::String)
            }
            (lit, _) => Some(literal_type(lit)),
        }
    }

    /// Reads a JSON string value as `ty` (SPEC section 11).
    fn resolve_json_string(&mut self, lit: &Literal, ty: TypeName, span: Span) -> Option<Literal> {
        let Literal::JsonString(s) = lit else { return Some(lit.clone()) };
        match ty {
            TypeName::String | TypeName::StringList => Some(Literal::String(s.clone())),
            TypeName::Ip => {
                self.ip_literal(s, span, false)?;
                Some(Literal::String(s.clone()))
            }
            TypeName::Timestamp => {
                let text = s.strip_prefix('@').unwrap_or(s);
                match kensa_dsl::literal::parse_timestamp(text) {
                    Ok(millis) => Some(Literal::Timestamp { text: text.to_string(), millis }),
                    Err(msg) => {
                        self.err(Code::BadTimestamp, span, msg);
                        None
                    }
                }
            }
            TypeName::Duration => match kensa_dsl::literal::parse_duration(s) {
                Some(d) if d.millis().is_some() => Some(Literal::Duration(d)),
                _ => {
                    self.err(Code::BadDuration, span, format!("`{s}` is not a duration such as `1h` or `90d`"));
                    None
                }
            },
            TypeName::Number | TypeName::Bool => {
                self.err(Code::TypeMismatch, span, format!("expected a {} value, found a string", t(ty)));
                None
            }
        }
    }

    /// Checks an IP address literal (or, when `range_ok`, a CIDR range).
    fn ip_literal(&mut self, s: &str, span: Span, range_ok: bool) -> Option<()> {
        if std::net::IpAddr::from_str(s).is_ok() {
            return Some(());
        }
        if ipnet::IpNet::from_str(s).is_ok() {
            if range_ok {
                return Some(());
            }
            self.err(Code::BadLiteral, span, format!("`{s}` is a CIDR range: ranges are allowed only in an `in` set"));
            return None;
        }
        let what = if range_ok { "an IP address or CIDR range" } else { "an IP address" };
        self.err(Code::BadLiteral, span, format!("`{s}` is not {what}"));
        None
    }

    fn comparison(&mut self, op: BinOp, l: TypeName, r: TypeName, span: Span) -> Ty {
        if l != r {
            self.err(Code::TypeMismatch, span, format!("cannot compare {} with {}", t(l), t(r)));
            return None;
        }
        let ordering = !matches!(op, BinOp::Eq | BinOp::Ne);
        match l {
            TypeName::StringList => {
                self.err(Code::TypeMismatch, span, format!("`{}` is not defined for `[string]`: test elements with `in`", op.as_str()));
                None
            }
            TypeName::Ip | TypeName::Bool if ordering => {
                self.err(Code::TypeMismatch, span, format!("`{}` cannot order {} values: they compare only with `==` and `!=`", op.as_str(), t(l)));
                None
            }
            _ => Some(TypeName::Bool),
        }
    }

    fn arithmetic(&mut self, op: BinOp, l: TypeName, r: TypeName, span: Span) -> Ty {
        use TypeName::{Duration as D, Number as N, Timestamp as Ts};
        let result = match (op, l, r) {
            (_, N, N) => Some(N),
            (BinOp::Sub, Ts, Ts) => Some(D),
            (BinOp::Add | BinOp::Sub, Ts, D) => Some(Ts),
            (BinOp::Add, D, Ts) => Some(Ts),
            (BinOp::Add | BinOp::Sub, D, D) => Some(D),
            _ => None,
        };
        if result.is_none() {
            self.err(Code::TypeMismatch, span, format!("`{}` cannot be applied to {} and {}", op.as_str(), t(l), t(r)));
        }
        result
    }

    fn set(&mut self, ty: TypeName, set: &mut SetExpr, span: Span) -> Option<()> {
        match set {
            SetExpr::List(name) => {
                let Some(&kind) = self.lists.get(&name.name) else {
                    self.err(Code::UnknownList, name.span, format!("unknown list `{}`", name.name));
                    return None;
                };
                let fits = match kind {
                    ListKind::String | ListKind::Prefix => matches!(ty, TypeName::String | TypeName::StringList),
                    ListKind::Ip => ty == TypeName::Ip,
                    ListKind::Number => ty == TypeName::Number,
                };
                if !fits {
                    self.err(
                        Code::ListKindMismatch,
                        span,
                        format!("list `{}` holds `{}` values and cannot be tested against {}", name.name, kind.as_str(), t(ty)),
                    );
                    return None;
                }
                Some(())
            }
            SetExpr::Inline(items) => {
                let element = if ty == TypeName::StringList { TypeName::String } else { ty };
                let mut ok = true;
                for (lit, lspan) in items.iter_mut() {
                    ok &= self.set_literal(element, lit, *lspan).is_some();
                }
                ok.then_some(())
            }
        }
    }

    fn set_literal(&mut self, element: TypeName, lit: &mut Literal, span: Span) -> Option<()> {
        if let Literal::JsonString(_) = lit {
            if element == TypeName::Ip {
                let Literal::JsonString(s) = lit else { return None };
                self.ip_literal(s, span, true)?;
                *lit = Literal::String(std::mem::take(s));
                return Some(());
            }
            *lit = self.resolve_json_string(lit, element, span)?;
            return Some(());
        }
        let found = literal_type(lit);
        match (element, &*lit) {
            (TypeName::Ip, Literal::String(s)) => self.ip_literal(s, span, true),
            _ if found == element => Some(()),
            _ => {
                self.err(Code::TypeMismatch, span, format!("an inline set tested against {} cannot hold a {} value", t(element), t(found)));
                None
            }
        }
    }

    fn call(&mut self, func: &Ident, args: &mut [Expr], span: Span) -> Ty {
        let Some(b) = Builtin::by_name(&func.name) else {
            let all: Vec<_> = Builtin::ALL.iter().map(|b| b.name()).collect();
            self.diags.push(
                Diagnostic::new(Code::UnknownFunction, func.span, format!("unknown function `{}`", func.name))
                    .with_help(format!("the functions are {}", all.join(", "))),
            );
            for a in args.iter_mut() {
                self.expr(a);
            }
            return None;
        };
        if args.len() != b.arity() {
            let n = b.arity();
            self.err(
                Code::UnknownFunction,
                span,
                format!("`{}` takes {n} argument{}, found {}", b.name(), if n == 1 { "" } else { "s" }, args.len()),
            );
            return None;
        }
        // Type the value arguments; literal parameters are checked by shape.
        let first = b.signatures().first()?;
        let mut types: Vec<Ty> = Vec::with_capacity(args.len());
        for (a, p) in args.iter_mut().zip(first.params) {
            match p {
                Param::Value(_) => types.push(self.expr(a)),
                Param::Regex | Param::UtcOffset => {
                    types.push(self.literal_param(b, *p, a).map(|_| TypeName::String));
                }
            }
        }
        if types.iter().any(Option::is_none) {
            return None;
        }
        let found: Vec<TypeName> = types.into_iter().flatten().collect();
        let sig = b.signatures().iter().find(|s| {
            s.params.iter().zip(&found).all(|(p, ty)| match p {
                Param::Value(want) => want == ty,
                Param::Regex | Param::UtcOffset => true,
            })
        });
        match sig {
            Some(s) => Some(s.ret),
            None => {
                let expected: Vec<String> = b
                    .signatures()
                    .iter()
                    .map(|s| {
                        let ps: Vec<&str> = s
                            .params
                            .iter()
                            .map(|p| match p {
                                Param::Value(ty) => ty.as_str(),
                                Param::Regex | Param::UtcOffset => "string literal",
                            })
                            .collect();
                        format!("({})", ps.join(", "))
                    })
                    .collect();
                let got: Vec<&str> = found.iter().map(|ty| ty.as_str()).collect();
                self.err(
                    Code::TypeMismatch,
                    span,
                    format!("`{}` expects {}, found ({})", b.name(), expected.join(" or "), got.join(", ")),
                );
                None
            }
        }
    }

    /// Checks a literal-only parameter: a regex that compiles, or a UTC offset.
    fn literal_param(&mut self, b: Builtin, p: Param, a: &mut Expr) -> Option<()> {
        let text = match &a.kind {
            ExprKind::Literal(Literal::String(s) | Literal::JsonString(s)) => s.clone(),
            _ => {
                let what = if p == Param::Regex { "a regular expression" } else { "a UTC offset such as \"+09:00\"" };
                self.err(Code::BadLiteral, a.span, format!("the second argument of `{}` must be a string literal holding {what}", b.name()));
                return None;
            }
        };
        match p {
            Param::Regex => match regex::Regex::new(&text) {
                Ok(_) => Some(()),
                Err(e) => {
                    let detail = e.to_string();
                    let last = detail.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim();
                    let last = last.strip_prefix("error: ").unwrap_or(last).to_string();
                    self.err(Code::BadLiteral, a.span, format!("invalid regular expression: {last}"));
                    None
                }
            },
            _ => match parse_utc_offset(&text) {
                Some(_) => Some(()),
                None => {
                    self.err(
                        Code::BadLiteral,
                        a.span,
                        format!("`{text}` is not a UTC offset: expected \"Z\" or \"+HH:MM\" / \"-HH:MM\" (HH 00-23, MM 00-59)"),
                    );
                    None
                }
            },
        }
    }
}

fn literal_type(l: &Literal) -> TypeName {
    match l {
        Literal::Number(_) => TypeName::Number,
        Literal::String(_) | Literal::JsonString(_) => TypeName::String,
        Literal::Duration(_) => TypeName::Duration,
        Literal::Timestamp { .. } => TypeName::Timestamp,
        Literal::Bool(_) => TypeName::Bool,
    }
}

/// A literal whose type may follow the other operand: a string (read as an
/// IP where one is expected) or a JSON string value.
fn is_flexible_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(Literal::String(_) | Literal::JsonString(_)))
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(c) = cur.get_mut(j + 1) {
                *c = sub.min(del).min(ins);
            }
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}
