//! The JSON reader: JSON text to the same AST the text reader builds.
//!
//! The JSON is parsed into a tree with byte ranges (jsonc-parser, in strict
//! JSON mode), so every diagnostic points at the offending JSON value: unknown
//! keys, missing keys, values of the wrong shape, and (through condition
//! strings) every error the text reader and the type checker report.

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::literal;
use crate::parse::{is_keyword, parse_condition, MAX_EXPR_DEPTH};
use crate::span::Span;
use jsonc_parser::ast::{Object, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

/// Reads a rule set in the JSON form.
pub fn read_json(text: &str) -> Result<Ruleset, Vec<Diagnostic>> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict).map_err(|e| {
        let r = e.range();
        vec![Diagnostic::new(Code::JsonSyntax, Span::new(r.start, r.end.max(r.start + 1)), json_error_text(&e))]
    })?;
    let Some(root) = parsed.value else {
        return Err(vec![Diagnostic::new(Code::JsonSyntax, Span::new(0, 0), "the JSON text holds no value")]);
    };
    let mut r = Reader { diags: Vec::new() };
    let rs = r.ruleset(&root);
    match rs {
        Some(rs) if r.diags.is_empty() => Ok(rs),
        _ => Err(r.diags),
    }
}

fn json_error_text(e: &jsonc_parser::errors::ParseError) -> String {
    let kind = e.kind().to_string();
    let mut chars = kind.chars();
    let lowered = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => kind,
    };
    format!("invalid JSON: {lowered}")
}

fn span_of(v: &impl Ranged) -> Span {
    let r = v.range();
    Span::new(r.start, r.end)
}

fn describe(v: &Value<'_>) -> &'static str {
    match v {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
fn is_ident_shape(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_ident(s: &str) -> bool {
    is_ident_shape(s) && !is_keyword(s)
}

fn is_path(s: &str) -> bool {
    let mut parts = s.split('.');
    parts.next().is_some_and(is_ident) && parts.all(is_ident_shape)
}

fn is_rule_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts.next().is_some_and(is_ident_shape);
    first_ok && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) && !is_keyword(s)
}

/// An object's properties, checked against the keys the form allows.
struct Props<'v, 'a> {
    path: String,
    span: Span,
    props: Vec<(&'v str, &'v Value<'a>)>,
}

impl<'v, 'a> Props<'v, 'a> {
    fn get(&self, key: &str) -> Option<&'v Value<'a>> {
        self.props.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The value of `key` unless absent or `null`.
    fn get_some(&self, key: &str) -> Option<&'v Value<'a>> {
        self.get(key).filter(|v| !matches!(v, Value::NullKeyword(_)))
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

struct Reader {
    diags: Vec<Diagnostic>,
}

impl Reader {
    fn err(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, span, message));
    }

    fn shape(&mut self, path: &str, v: &Value<'_>, expected: &str) {
        self.err(Code::JsonShape, span_of(v), format!("`{path}`: expected {expected}, found {}", describe(v)));
    }

    /// Reads an object's keys, reporting unknown and repeated ones.
    fn object<'v, 'a>(&mut self, v: &'v Value<'a>, path: &str, allowed: &[&str]) -> Option<Props<'v, 'a>> {
        let Value::Object(obj) = v else {
            self.shape(if path.is_empty() { "(root)" } else { path }, v, "an object");
            return None;
        };
        Some(self.props(obj, path, allowed))
    }

    fn props<'v, 'a>(&mut self, obj: &'v Object<'a>, path: &str, allowed: &[&str]) -> Props<'v, 'a> {
        let mut out = Props { path: path.to_string(), span: span_of(obj), props: Vec::new() };
        for p in &obj.properties {
            let key = p.name.as_str();
            let key_span = span_of(&p.name);
            let full = out.key_path(key);
            if !allowed.contains(&key) {
                self.diags.push(
                    Diagnostic::new(Code::JsonUnknownKey, key_span, format!("unknown key `{full}`"))
                        .with_help(format!("the keys here are {}", allowed.join(", "))),
                );
            } else if out.get(key).is_some() {
                self.err(Code::JsonShape, key_span, format!("key `{full}` is given twice"));
            } else {
                out.props.push((key, &p.value));
            }
        }
        out
    }

    fn required<'v, 'a>(&mut self, o: &Props<'v, 'a>, key: &str) -> Option<&'v Value<'a>> {
        let v = o.get(key);
        if v.is_none() {
            let at = if o.path.is_empty() { "the rule set".to_string() } else { format!("`{}`", o.path) };
            self.err(Code::JsonMissingKey, o.span, format!("{at}: missing key `{key}`"));
        }
        v
    }

    fn string(&mut self, path: &str, v: &Value<'_>) -> Option<(String, Span)> {
        match v {
            Value::StringLit(s) => Some((s.value.to_string(), span_of(s))),
            _ => {
                self.shape(path, v, "a string");
                None
            }
        }
    }

    fn opt_string(&mut self, o: &Props<'_, '_>, key: &str) -> Option<String> {
        let v = o.get_some(key)?;
        self.string(&o.key_path(key), v).map(|(s, _)| s)
    }

    fn bool_or(&mut self, o: &Props<'_, '_>, key: &str, default: bool) -> bool {
        match o.get_some(key) {
            None => default,
            Some(Value::BooleanLit(b)) => b.value,
            Some(v) => {
                self.shape(&o.key_path(key), v, "true or false");
                default
            }
        }
    }

    fn name(&mut self, path: &str, v: &Value<'_>, what: &str, valid: fn(&str) -> bool) -> Option<Ident> {
        let (s, span) = self.string(path, v)?;
        if !valid(&s) {
            self.err(Code::JsonShape, span, format!("`{path}`: `{s}` is not a valid {what}"));
            return None;
        }
        Some(Ident::new(s, span))
    }

    fn array<'v, 'a>(&mut self, path: &str, v: &'v Value<'a>) -> Option<&'v [Value<'a>]> {
        match v {
            Value::Array(a) => Some(&a.elements),
            _ => {
                self.shape(path, v, "an array");
                None
            }
        }
    }

    fn ruleset(&mut self, root: &Value<'_>) -> Option<Ruleset> {
        const KEYS: [&str; 7] = ["ruleset", "description", "outcomes", "fields", "lists", "velocities", "rules"];
        let o = self.object(root, "", &KEYS)?;
        let name_v = self.required(&o, "ruleset");
        let name = name_v.and_then(|v| self.name("ruleset", v, "ruleset name", is_ident));
        let description = o.get_some("description").and_then(|v| {
            let (text, span) = self.string("description", v)?;
            Some(Described { text, comments: Comments::default(), span })
        });
        let outcomes = o.get_some("outcomes").and_then(|v| {
            let items = self.array("outcomes", v)?;
            let names: Vec<Ident> = items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.name(&format!("outcomes[{i}]"), x, "outcome name", is_ident))
                .collect();
            Some(OutcomesDecl { names, comments: Comments::default(), span: span_of(v) })
        });
        let fields = self.each(&o, "fields", Self::field);
        let lists = self.each(&o, "lists", Self::list);
        let velocities = self.each(&o, "velocities", Self::velocity);
        let rules_v = self.required(&o, "rules");
        let rules = match rules_v {
            Some(v) => self.items(v, "rules", Self::rule),
            None => Vec::new(),
        };
        Some(Ruleset {
            name: name?,
            description,
            outcomes,
            fields,
            lists,
            velocities,
            rules,
            header_comments: Vec::new(),
            footer_comments: Vec::new(),
            span: o.span,
        })
    }

    fn each<T>(&mut self, o: &Props<'_, '_>, key: &str, f: fn(&mut Self, &Value<'_>, &str) -> Option<T>) -> Vec<T> {
        match o.get_some(key) {
            Some(v) => self.items(v, key, f),
            None => Vec::new(),
        }
    }

    fn items<T>(&mut self, v: &Value<'_>, key: &str, f: fn(&mut Self, &Value<'_>, &str) -> Option<T>) -> Vec<T> {
        let Some(items) = self.array(key, v) else {
            return Vec::new();
        };
        items.iter().enumerate().filter_map(|(i, x)| f(self, x, &format!("{key}[{i}]"))).collect()
    }

    fn field(&mut self, v: &Value<'_>, path: &str) -> Option<FieldDecl> {
        let o = self.object(v, path, &["path", "type"])?;
        let p = self.required(&o, "path").and_then(|p| self.name(&o.key_path("path"), p, "field path", is_path));
        let ty_v = self.required(&o, "type")?;
        let (ty_text, ty_span) = self.string(&o.key_path("type"), ty_v)?;
        let Some(ty) = TypeName::parse(&ty_text) else {
            let all: Vec<_> = TypeName::ALL.iter().map(|t| t.as_str()).collect();
            self.err(Code::UnknownType, ty_span, format!("unknown type `{ty_text}`, expected one of {}", all.join(", ")));
            return None;
        };
        Some(FieldDecl { path: p?, ty, ty_span, comments: Comments::default(), span: o.span })
    }

    fn list(&mut self, v: &Value<'_>, path: &str) -> Option<ListDecl> {
        let o = self.object(v, path, &["name", "kind"])?;
        let name = self.required(&o, "name").and_then(|n| self.name(&o.key_path("name"), n, "list name", is_ident));
        let kind_v = self.required(&o, "kind")?;
        let (kind_text, kind_span) = self.string(&o.key_path("kind"), kind_v)?;
        let Some(kind) = ListKind::parse(&kind_text) else {
            self.err(
                Code::UnknownType,
                kind_span,
                format!("unknown list kind `{kind_text}`, expected one of string, ip, prefix, number"),
            );
            return None;
        };
        Some(ListDecl { name: name?, kind, comments: Comments::default(), span: o.span })
    }

    fn velocity(&mut self, v: &Value<'_>, path: &str) -> Option<VelocityDecl> {
        const KEYS: [&str; 7] = ["name", "agg", "of", "by", "over", "excluding_current", "where"];
        let o = self.object(v, path, &KEYS)?;
        let name = self.required(&o, "name").and_then(|n| self.name(&o.key_path("name"), n, "velocity name", is_ident));
        let agg_v = self.required(&o, "agg");
        let agg = agg_v.and_then(|a| {
            let (text, span) = self.string(&o.key_path("agg"), a)?;
            let Some(kind) = AggKind::parse(&text) else {
                let all: Vec<_> = AggKind::ALL.iter().map(|a| a.as_str()).collect();
                self.err(Code::BadAggregate, span, format!("unknown aggregate `{text}`, expected one of {}", all.join(", ")));
                return None;
            };
            Some((kind, span))
        });
        let of = match o.get_some("of") {
            Some(ofv) => {
                let (text, span) = self.string(&o.key_path("of"), ofv)?;
                match parse_condition(&text, span) {
                    Ok(e) => Some(e),
                    Err(ds) => {
                        self.diags.extend(ds);
                        return None;
                    }
                }
            }
            None => None,
        };
        let by_v = self.required(&o, "by");
        let by: Vec<Ident> = match by_v {
            Some(bv) => {
                let key = o.key_path("by");
                let items = self.array(&key, bv).unwrap_or(&[]);
                if items.is_empty() {
                    self.err(Code::JsonShape, span_of(bv), format!("`{key}`: a velocity needs at least one key"));
                }
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| self.name(&format!("{key}[{i}]"), x, "field path", is_path))
                    .collect()
            }
            None => Vec::new(),
        };
        let over_v = self.required(&o, "over");
        let over = over_v.and_then(|ov| {
            let (text, span) = self.string(&o.key_path("over"), ov)?;
            match literal::parse_duration(&text).map(|d| (d, d.millis())) {
                Some((d, Some(ms))) if ms > 0 => Some((d, span)),
                Some((_, Some(_))) => {
                    self.err(Code::BadDuration, span, "a velocity window must be longer than 0");
                    None
                }
                _ => {
                    self.err(Code::BadDuration, span, format!("`{text}` is not a duration such as `1h` or `90d`"));
                    None
                }
            }
        });
        let excluding_current = self.bool_or(&o, "excluding_current", false);
        let filter = match o.get_some("where") {
            Some(w) => Some(self.condition(w, &o.key_path("where"), 0)?),
            None => None,
        };
        let (agg, agg_span) = agg?;
        match (agg, &of) {
            (AggKind::Count, Some(_)) => {
                self.err(Code::BadAggregate, agg_span, "`count` takes no argument: `of` must be null");
                return None;
            }
            (AggKind::Count, None) => {}
            (other, None) => {
                self.err(Code::BadAggregate, agg_span, format!("`{}` needs an argument in `of`", other.as_str()));
                return None;
            }
            _ => {}
        }
        let (over, over_span) = over?;
        Some(VelocityDecl {
            name: name?,
            agg,
            agg_span,
            of,
            by,
            over,
            over_span,
            excluding_current,
            filter,
            comments: Comments::default(),
            span: o.span,
        })
    }

    fn rule(&mut self, v: &Value<'_>, path: &str) -> Option<Rule> {
        const KEYS: [&str; 7] = ["id", "outcome", "priority", "enabled", "skip_scoring", "description", "when"];
        let o = self.object(v, path, &KEYS)?;
        let id = self.required(&o, "id").and_then(|x| self.name(&o.key_path("id"), x, "rule id", is_rule_id));
        let outcome =
            self.required(&o, "outcome").and_then(|x| self.name(&o.key_path("outcome"), x, "outcome name", is_ident));
        let priority = match o.get_some("priority") {
            None => None,
            Some(Value::NumberLit(n)) => match n.value.parse::<i64>() {
                Ok(p) => Some(p),
                Err(_) => {
                    self.err(Code::BadNumber, span_of(n), format!("`{}`: expected an integer", o.key_path("priority")));
                    None
                }
            },
            Some(other) => {
                self.shape(&o.key_path("priority"), other, "an integer");
                None
            }
        };
        let enabled = self.bool_or(&o, "enabled", true);
        let skip_scoring = self.bool_or(&o, "skip_scoring", false);
        let skip_scoring_span = o.get_some("skip_scoring").filter(|_| skip_scoring).map(span_of);
        let description = self.opt_string(&o, "description");
        let when_v = self.required(&o, "when");
        let when = when_v.and_then(|w| self.condition(w, &o.key_path("when"), 0));
        Some(Rule {
            id: id?,
            outcome: outcome?,
            description,
            priority,
            enabled,
            skip_scoring,
            skip_scoring_span,
            when: when?,
            comments: Comments::default(),
            span: o.span,
        })
    }

    /// A condition: a string in the text syntax, or a tree.
    fn condition(&mut self, v: &Value<'_>, path: &str, depth: u32) -> Option<Expr> {
        if depth > MAX_EXPR_DEPTH {
            self.err(
                Code::TooDeep,
                span_of(v),
                format!("condition nested too deeply: at most {MAX_EXPR_DEPTH} levels are allowed"),
            );
            return None;
        }
        let span = span_of(v);
        match v {
            Value::StringLit(s) => match parse_condition(&s.value, span) {
                Ok(e) => Some(e),
                Err(ds) => {
                    self.diags.extend(ds);
                    None
                }
            },
            Value::Object(obj) => {
                let keys = |k: &str| obj.properties.iter().any(|p| p.name.as_str() == k);
                if keys("all") || keys("any") {
                    let which = if keys("all") { "all" } else { "any" };
                    let o = self.props(obj, path, &[which]);
                    let list = o.get(which)?;
                    let key = o.key_path(which);
                    let items = self.array(&key, list)?;
                    let mut xs = Vec::with_capacity(items.len());
                    for (i, x) in items.iter().enumerate() {
                        xs.push(self.condition(x, &format!("{key}[{i}]"), depth + 1)?);
                    }
                    // Read as the text form would write them, so both forms
                    // give one tree: `true`/`false` for the empty chains, the
                    // lone condition for a chain of one.
                    match xs.len() {
                        0 => return Some(Expr::new(ExprKind::Literal(Literal::Bool(which == "all")), span)),
                        1 => return xs.pop(),
                        _ => {}
                    }
                    Some(Expr::new(if which == "all" { ExprKind::And(xs) } else { ExprKind::Or(xs) }, span))
                } else if keys("not") {
                    let o = self.props(obj, path, &["not"]);
                    let inner = self.condition(o.get("not")?, &o.key_path("not"), depth + 1)?;
                    Some(Expr::new(ExprKind::Not(Box::new(inner)), span))
                } else if keys("field") {
                    self.leaf(obj, path)
                } else {
                    self.err(
                        Code::JsonShape,
                        span,
                        format!("`{path}`: a condition object needs one of the keys `all`, `any`, `not` or `field`"),
                    );
                    None
                }
            }
            other => {
                self.shape(path, other, "a condition (a string or an object)");
                None
            }
        }
    }

    fn leaf(&mut self, obj: &Object<'_>, path: &str) -> Option<Expr> {
        let span = span_of(obj);
        let o = self.props(obj, path, &["field", "op", "value", "values", "list"]);
        let field_v = self.required(&o, "field")?;
        let field = self.name(&o.key_path("field"), field_v, "field path or velocity name", is_path)?;
        let lhs = Box::new(Expr::new(ExprKind::Name(field.name), field.span));
        let op_v = self.required(&o, "op")?;
        let (op, op_span) = self.string(&o.key_path("op"), op_v)?;
        let want = |k: &str| o.get(k).is_some();
        let expect_keys = |this: &mut Self, keys: &[&str]| -> bool {
            let mut ok = true;
            for k in ["value", "values", "list"] {
                if want(k) && !keys.contains(&k) {
                    this.err(Code::JsonShape, span, format!("`{}`: key `{k}` does not go with op `{op}`", o.path));
                    ok = false;
                }
            }
            ok
        };
        let kind = match op.as_str() {
            "==" | "!=" | "<" | "<=" | ">" | ">=" => {
                if !expect_keys(self, &["value"]) {
                    return None;
                }
                let bin = BinOp::parse(&op)?;
                let value_v = self.required(&o, "value")?;
                let (lit, lit_span) = self.value(&o.key_path("value"), value_v)?;
                ExprKind::Binary { op: bin, lhs, rhs: Box::new(Expr::new(ExprKind::Literal(lit), lit_span)) }
            }
            "in" | "not_in" => {
                if !expect_keys(self, &["values", "list"]) {
                    return None;
                }
                let set = match (o.get("list"), o.get("values")) {
                    (Some(l), None) => {
                        SetExpr::List(self.name(&o.key_path("list"), l, "list name", is_ident)?)
                    }
                    (None, Some(vs)) => {
                        let key = o.key_path("values");
                        let items = self.array(&key, vs)?;
                        if items.is_empty() {
                            self.err(Code::JsonShape, span_of(vs), format!("`{key}`: an inline set needs at least one value"));
                            return None;
                        }
                        let mut lits = Vec::new();
                        for (i, x) in items.iter().enumerate() {
                            lits.push(self.value(&format!("{key}[{i}]"), x)?);
                        }
                        SetExpr::Inline(lits)
                    }
                    _ => {
                        self.err(Code::JsonShape, span, format!("`{}`: op `{op}` needs exactly one of `list` and `values`", o.path));
                        return None;
                    }
                };
                ExprKind::In { expr: lhs, negated: op == "not_in", set }
            }
            "between" => {
                if !expect_keys(self, &["values"]) {
                    return None;
                }
                let key = o.key_path("values");
                let vs = self.required(&o, "values")?;
                let items = self.array(&key, vs)?;
                let [low, high] = items else {
                    self.err(Code::JsonShape, span_of(vs), format!("`{key}`: `between` needs exactly two values, found {}", items.len()));
                    return None;
                };
                let (low, low_span) = self.value(&format!("{key}[0]"), low)?;
                let (high, high_span) = self.value(&format!("{key}[1]"), high)?;
                ExprKind::Between {
                    expr: lhs,
                    low: Box::new(Expr::new(ExprKind::Literal(low), low_span)),
                    high: Box::new(Expr::new(ExprKind::Literal(high), high_span)),
                }
            }
            "is_missing" | "is_present" => {
                if !expect_keys(self, &[]) {
                    return None;
                }
                ExprKind::Is { expr: lhs, present: op == "is_present" }
            }
            _ => {
                self.err(
                    Code::JsonShape,
                    op_span,
                    format!(
                        "`{}`: unknown op `{op}`, expected one of ==, !=, <, <=, >, >=, in, not_in, between, is_missing, is_present",
                        o.key_path("op")
                    ),
                );
                return None;
            }
        };
        Some(Expr::new(kind, span))
    }

    /// A leaf value: a JSON number, string or boolean.
    fn value(&mut self, path: &str, v: &Value<'_>) -> Option<(Literal, Span)> {
        let span = span_of(v);
        match v {
            Value::NumberLit(n) => match literal::parse_number(n.value) {
                Ok(x) => Some((Literal::Number(x), span)),
                Err(msg) => {
                    self.err(Code::BadNumber, span, msg);
                    None
                }
            },
            Value::StringLit(s) => Some((Literal::JsonString(s.value.to_string()), span)),
            Value::BooleanLit(b) => Some((Literal::Bool(b.value), span)),
            other => {
                self.shape(path, other, "a number, a string or a boolean");
                None
            }
        }
    }
}
