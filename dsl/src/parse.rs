//! The text reader: pest parse tree to AST, with every construct's own checks
//! (literal syntax, repeated attributes, keyword ids, nesting depth).

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::literal;
use crate::scan::scan;
use crate::span::Span;
use kensa_grammar::{KensaParser, Rule as R};
use pest::iterators::Pair;
use pest::Parser as _;
use std::collections::HashMap;

/// How deep an expression tree may be. Every later pass recurses over the
/// tree, so this bounds their stack use.
pub const MAX_EXPR_DEPTH: u32 = 256;

/// The keywords of SPEC section 2.
pub const KEYWORDS: [&str; 26] = [
    "ruleset", "rule", "list", "velocity", "field", "outcomes", "description", "priority", "disabled",
    "skip_scoring", "when", "and", "or", "not", "in", "is", "missing", "present", "between", "by", "over",
    "excluding", "current", "where", "true", "false",
];

/// True when `name` is a reserved word.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Parses a whole rule set in the text form. `src` must not start with a BOM.
pub fn parse_text(src: &str) -> Result<Ruleset, Vec<Diagnostic>> {
    match parse_text_recovering(src) {
        (Some(rs), diags) if diags.is_empty() => Ok(rs),
        (_, diags) => Err(diags),
    }
}

/// Parses a rule set, going on past errors that leave the tree whole (a bad
/// literal, a repeated attribute, a zero window): returns the tree when there
/// is one, and every error found, so the type checker can report its own
/// errors beside them.
pub fn parse_text_recovering(src: &str) -> (Option<Ruleset>, Vec<Diagnostic>) {
    let scanned = scan(src);
    if !scanned.diagnostics.is_empty() {
        return (None, scanned.diagnostics);
    }
    let mut pairs = match KensaParser::parse(R::file, src) {
        Ok(p) => p,
        Err(e) => return (None, vec![syntax_error(src, &e, None)]),
    };
    let mut b = Builder::new(src, &scanned.comments, None);
    let ruleset_pair = pairs.next().and_then(|file| children(file).find(|p| p.as_rule() == R::ruleset));
    let Some(ruleset_pair) = ruleset_pair else {
        return (None, vec![Diagnostic::new(Code::BadSource, Span::new(0, 0), "expected `ruleset NAME { ... }`")]);
    };
    let mut ruleset = b.ruleset(ruleset_pair);
    crate::comments::attach(&mut ruleset, src, scanned.comments);
    (Some(ruleset), b.diags)
}

/// Parses one condition in the text syntax (a JSON condition string). Every
/// node, and every error, gets `span`: the JSON string it came from.
pub fn parse_condition(text: &str, span: Span) -> Result<Expr, Vec<Diagnostic>> {
    let relocate = |mut d: Diagnostic| {
        d.span = span;
        d
    };
    let scanned = scan(text);
    if !scanned.diagnostics.is_empty() {
        return Err(scanned.diagnostics.into_iter().map(relocate).collect());
    }
    let mut pairs =
        KensaParser::parse(R::condition, text).map_err(|e| vec![syntax_error(text, &e, Some(span))])?;
    let mut b = Builder::new(text, &scanned.comments, Some(span));
    let expr = pairs
        .next()
        .and_then(|cond| children(cond).find(|p| p.as_rule() == R::expr))
        .map(|p| b.expr(p, 0));
    match expr {
        Some(Some(e)) if b.diags.is_empty() => Ok(e),
        _ if !b.diags.is_empty() => Err(b.diags),
        _ => Err(vec![Diagnostic::new(Code::Syntax, span, "expected a condition")]),
    }
}

/// The pairs below `pair`, without keyword tokens (INVARIANT KeywordPairs:
/// the builder never looks at `kw_*` pairs; the grammar makes keywords atomic
/// rules only so that whitespace cannot split a keyword from its boundary).
fn children<'i>(pair: Pair<'i, R>) -> impl Iterator<Item = Pair<'i, R>> {
    pair.into_inner().filter(|p| !is_keyword_token(p.as_rule()))
}

fn is_keyword_token(r: R) -> bool {
    matches!(
        r,
        R::kw_ruleset
            | R::kw_rule
            | R::kw_list
            | R::kw_velocity
            | R::kw_field
            | R::kw_outcomes
            | R::kw_description
            | R::kw_priority
            | R::kw_when
            | R::kw_and
            | R::kw_or
            | R::kw_not
            | R::kw_in
            | R::kw_is
            | R::kw_between
            | R::kw_by
            | R::kw_over
            | R::kw_excluding
            | R::kw_current
            | R::kw_where
            | R::kw_missing
            | R::kw_present
            | R::EOI
    )
}

/// Turns a pest error into one diagnostic: what was found, what was expected.
fn syntax_error(src: &str, e: &pest::error::Error<R>, fixed: Option<Span>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let found = describe_found(src, pos);
    let positives: &[R] = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
        pest::error::ErrorVariant::CustomError { .. } => &[],
    };
    // After a complete item the next token may start any item: say so once.
    let item_may_follow = positives.contains(&R::kw_rule);
    let mut expected: Vec<&'static str> = Vec::new();
    for r in positives {
        let is_item_start = matches!(r, R::kw_rule | R::kw_list | R::kw_velocity | R::kw_field | R::kw_outcomes)
            || (item_may_follow && *r == R::kw_description);
        let text = if item_may_follow && is_item_start { "the next item" } else { describe_rule(*r) };
        if !expected.contains(&text) {
            expected.push(text);
        }
    }
    if item_may_follow {
        expected.push("`}`");
    }
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("unexpected {found}, expected {}", join_or(&expected))
    };
    let span = fixed.unwrap_or_else(|| {
        let len = src.get(pos..).and_then(|s| s.chars().next()).map_or(0, char::len_utf8);
        Span::new(pos, pos + len)
    });
    Diagnostic::new(Code::Syntax, span, message)
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe_found(src: &str, pos: usize) -> String {
    let rest = src.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "end of file".to_string();
    };
    let word: String = if first.is_alphanumeric() || first == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect()
    } else {
        first.to_string()
    };
    format!("`{word}`")
}

fn describe_rule(r: R) -> &'static str {
    match r {
        R::kw_ruleset => "`ruleset`",
        R::kw_rule => "`rule`",
        R::kw_list => "`list`",
        R::kw_velocity => "`velocity`",
        R::kw_field => "`field`",
        R::kw_outcomes => "`outcomes`",
        R::kw_description => "`description`",
        R::kw_priority => "`priority`",
        R::attr_disabled => "`disabled`",
        R::attr_skip_scoring => "`skip_scoring`",
        R::kw_when => "`when`",
        R::kw_by => "`by`",
        R::kw_over => "`over`",
        R::kw_and => "`and`",
        R::kw_or => "`or`",
        R::kw_in => "`in`",
        R::kw_current => "`current`",
        R::kw_missing | R::kw_present => "`missing` or `present`",
        R::ident | R::type_name => "a name",
        R::path => "a field path",
        R::rule_id => "a rule id",
        R::number | R::negative_number => "a number",
        R::integer => "an integer",
        R::duration => "a duration",
        R::string => "a string",
        R::timestamp => "a timestamp",
        R::set | R::inline_set => "a list name or `(`",
        R::set_literal | R::literal => "a literal",
        R::ruleset => "`ruleset`",
        R::description | R::outcomes | R::field_decl | R::list_decl | R::velocity_decl | R::rule => {
            "a ruleset item (`rule`, `list`, `velocity`, `field`, `description`, `outcomes`)"
        }
        R::attr_description | R::attr_priority => "a rule attribute",
        R::EOI => "end of file",
        R::expr | R::and_expr | R::not_expr | R::comparison | R::sum | R::product | R::unary | R::call => {
            "an expression"
        }
        R::sum_op | R::product_op | R::compare_op => "an operator",
        _ => "something else",
    }
}

struct Builder<'s> {
    src: &'s str,
    /// Comment start offsets by end offset, to trim trailing trivia off spans.
    comment_starts: HashMap<usize, usize>,
    diags: Vec<Diagnostic>,
    /// Set when reading a JSON condition string: every node gets this span.
    fixed_span: Option<Span>,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str, comments: &[Comment], fixed_span: Option<Span>) -> Builder<'s> {
        // Keyed by where a comment ends once its trailing spaces are gone,
        // as `span` trims them before looking a comment up: a line comment
        // ending in spaces is then trimmed off like any other.
        let comment_starts = comments
            .iter()
            .map(|c| (c.span.start as usize + c.text.trim_end().len(), c.span.start as usize))
            .collect();
        Builder { src, comment_starts, diags: Vec::new(), fixed_span }
    }

    /// A pair's span without the whitespace and comments pest lets a pair
    /// swallow at its end (an optional or repeated tail that did not match
    /// still consumed the trivia before it).
    fn span(&self, p: &Pair<'_, R>) -> Span {
        if let Some(s) = self.fixed_span {
            return s;
        }
        let start = p.as_span().start();
        let mut end = p.as_span().end();
        loop {
            let trimmed = self.src.get(start..end).map_or(0, |t| t.trim_end().len());
            end = start + trimmed;
            match self.comment_starts.get(&end) {
                Some(&c) if c >= start => end = c,
                _ => break,
            }
        }
        Span::new(start, end)
    }

    fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, span, message));
    }

    fn too_deep(&mut self, span: Span) {
        self.error(Code::TooDeep, span, format!("expression nested too deeply: at most {MAX_EXPR_DEPTH} levels are allowed"));
    }

    fn ident(&self, p: &Pair<'_, R>) -> Ident {
        Ident::new(p.as_str(), self.span(p))
    }

    fn string(&mut self, p: &Pair<'_, R>) -> String {
        let raw = p.as_str();
        let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        match literal::unescape(body) {
            Ok(s) => s,
            Err((at, msg)) => {
                let start = p.as_span().start() + 1 + at;
                let span = self.fixed_span.unwrap_or(Span::new(start, start + 2));
                self.error(Code::BadEscape, span, msg);
                String::new()
            }
        }
    }

    fn ruleset(&mut self, p: Pair<'_, R>) -> Ruleset {
        let span = self.span(&p);
        let mut it = children(p);
        let name = it.next().map(|n| self.ident(&n)).unwrap_or_else(|| Ident::new("", span));
        let mut rs = Ruleset {
            name,
            description: None,
            outcomes: None,
            fields: Vec::new(),
            lists: Vec::new(),
            velocities: Vec::new(),
            rules: Vec::new(),
            header_comments: Vec::new(),
            footer_comments: Vec::new(),
            span,
        };
        for item in it {
            let item_span = self.span(&item);
            match item.as_rule() {
                R::description => {
                    let text = children(item).next().map(|s| self.string(&s)).unwrap_or_default();
                    if rs.description.is_some() {
                        self.error(Code::Repeated, item_span, "the ruleset has a second `description`: it may have one");
                    } else {
                        rs.description = Some(Described { text, comments: Comments::default(), span: item_span });
                    }
                }
                R::outcomes => {
                    let names = children(item).map(|n| self.ident(&n)).collect();
                    if rs.outcomes.is_some() {
                        self.error(Code::Repeated, item_span, "the ruleset has a second `outcomes`: it may have one");
                    } else {
                        rs.outcomes = Some(OutcomesDecl { names, comments: Comments::default(), span: item_span });
                    }
                }
                R::field_decl => {
                    if let Some(f) = self.field_decl(item) {
                        rs.fields.push(f);
                    }
                }
                R::list_decl => {
                    if let Some(l) = self.list_decl(item) {
                        rs.lists.push(l);
                    }
                }
                R::velocity_decl => {
                    if let Some(v) = self.velocity_decl(item) {
                        rs.velocities.push(v);
                    }
                }
                R::rule => {
                    if let Some(r) = self.rule(item) {
                        rs.rules.push(r);
                    }
                }
                _ => {}
            }
        }
        rs
    }

    fn field_decl(&mut self, p: Pair<'_, R>) -> Option<FieldDecl> {
        let span = self.span(&p);
        let mut it = children(p);
        let path = self.ident(&it.next()?);
        let ty_pair = it.next()?;
        let ty_span = self.span(&ty_pair);
        let written: String = ty_pair.as_str().chars().filter(|c| !c.is_whitespace()).collect();
        let Some(ty) = TypeName::parse(&written) else {
            let all: Vec<_> = TypeName::ALL.iter().map(|t| t.as_str()).collect();
            self.error(
                Code::UnknownType,
                ty_span,
                format!("unknown type `{written}`, expected one of {}", all.join(", ")),
            );
            return None;
        };
        Some(FieldDecl { path, ty, ty_span, comments: Comments::default(), span })
    }

    fn list_decl(&mut self, p: Pair<'_, R>) -> Option<ListDecl> {
        let span = self.span(&p);
        let mut it = children(p);
        let name = self.ident(&it.next()?);
        let kind_pair = it.next()?;
        let Some(kind) = ListKind::parse(kind_pair.as_str()) else {
            self.error(
                Code::UnknownType,
                self.span(&kind_pair),
                format!("unknown list kind `{}`, expected one of string, ip, prefix, number", kind_pair.as_str()),
            );
            return None;
        };
        Some(ListDecl { name, kind, comments: Comments::default(), span })
    }

    fn velocity_decl(&mut self, p: Pair<'_, R>) -> Option<VelocityDecl> {
        let span = self.span(&p);
        let mut it = children(p);
        let name = self.ident(&it.next()?);
        let agg_pair = it.next()?;
        let mut agg_it = children(agg_pair);
        let agg_name = agg_it.next()?;
        let agg_span = self.span(&agg_name);
        let args: Vec<Expr> = agg_it.filter_map(|a| self.expr(a, 0)).collect();
        let agg = AggKind::parse(agg_name.as_str());
        let mut by = Vec::new();
        let mut over = None;
        let mut over_span = span;
        let mut excluding_current = false;
        let mut filter = None;
        for q in it {
            match q.as_rule() {
                R::path => by.push(self.ident(&q)),
                R::duration => {
                    over_span = self.span(&q);
                    over = self.window(&q);
                }
                R::excluding_current => excluding_current = true,
                R::where_clause => filter = children(q).next().and_then(|e| self.expr(e, 0)),
                _ => {}
            }
        }
        // Problems with the aggregate are reported and the velocity kept as a
        // `count()`, so rules that use it are still checked.
        let agg = agg.unwrap_or_else(|| {
            let all: Vec<_> = AggKind::ALL.iter().map(|a| a.as_str()).collect();
            self.error(
                Code::BadAggregate,
                agg_span,
                format!("unknown aggregate `{}`, expected one of {}", agg_name.as_str(), all.join(", ")),
            );
            AggKind::Count
        });
        let (agg, of) = match (agg, args.len()) {
            (AggKind::Count, 0) => (agg, None),
            (AggKind::Count, n) => {
                if AggKind::parse(agg_name.as_str()).is_some() {
                    self.error(Code::BadAggregate, agg_span, format!("`count` takes no argument, found {n}"));
                }
                (AggKind::Count, None)
            }
            (_, 1) => (agg, args.into_iter().next()),
            (a, n) => {
                self.error(Code::BadAggregate, agg_span, format!("`{}` takes one argument, found {n}", a.as_str()));
                (AggKind::Count, None)
            }
        };
        Some(VelocityDecl {
            name,
            agg,
            agg_span,
            of,
            by,
            over: over?,
            over_span,
            excluding_current,
            filter,
            comments: Comments::default(),
            span,
        })
    }

    fn window(&mut self, q: &Pair<'_, R>) -> Option<DurationLit> {
        let span = self.span(q);
        let Some(d) = literal::parse_duration(q.as_str()) else {
            self.error(Code::BadDuration, span, format!("`{}` is not a duration", q.as_str()));
            return None;
        };
        match d.millis() {
            Some(0) => {
                // Reported, and kept so the velocity's users are still checked.
                self.error(Code::BadDuration, span, "a velocity window must be longer than 0");
                Some(d)
            }
            Some(_) => Some(d),
            None => {
                self.error(Code::BadDuration, span, format!("duration `{d}` is too large"));
                None
            }
        }
    }

    fn rule(&mut self, p: Pair<'_, R>) -> Option<Rule> {
        let span = self.span(&p);
        let mut it = children(p);
        let id = self.ident(&it.next()?);
        if is_keyword(&id.name) {
            self.error(Code::KeywordAsName, id.span, format!("`{}` is a keyword and cannot be a rule id", id.name));
        }
        let outcome = self.ident(&it.next()?);
        let mut rule = Rule {
            id,
            outcome,
            description: None,
            priority: None,
            enabled: true,
            skip_scoring: false,
            skip_scoring_span: None,
            when: Expr::new(ExprKind::Literal(Literal::Bool(false)), span),
            comments: Comments::default(),
            span,
        };
        let mut seen: Vec<R> = Vec::new();
        for q in it {
            let r = q.as_rule();
            let q_span = self.span(&q);
            if r != R::expr {
                if seen.contains(&r) {
                    let word = q.as_str().split_whitespace().next().unwrap_or("");
                    self.error(Code::Repeated, q_span, format!("`{word}` is given twice in rule `{}`", rule.id.name));
                    continue;
                }
                seen.push(r);
            }
            match r {
                R::attr_description => {
                    rule.description = children(q).next().map(|s| self.string(&s));
                }
                R::attr_priority => {
                    let negative = q.as_str().trim_start_matches("priority").trim_start().starts_with('-');
                    let digits = children(q).find(|x| x.as_rule() == R::integer);
                    let value = digits.and_then(|d| d.as_str().parse::<i64>().ok());
                    match value {
                        Some(v) => rule.priority = Some(if negative { -v } else { v }),
                        None => self.error(Code::BadNumber, q_span, "priority is not an integer in range"),
                    }
                }
                R::attr_disabled => rule.enabled = false,
                R::attr_skip_scoring => {
                    rule.skip_scoring = true;
                    rule.skip_scoring_span = Some(q_span);
                }
                R::expr => rule.when = self.expr(q, 0)?,
                _ => {}
            }
        }
        Some(rule)
    }

    /// Builds an expression. `depth` is the depth of the node being built in
    /// its tree, counted from the condition's root; past [`MAX_EXPR_DEPTH`] an
    /// error is reported and nothing is built.
    fn expr(&mut self, p: Pair<'_, R>, depth: u32) -> Option<Expr> {
        let span = self.span(&p);
        if depth > MAX_EXPR_DEPTH {
            self.too_deep(span);
            return None;
        }
        match p.as_rule() {
            R::expr | R::and_expr => {
                let is_or = p.as_rule() == R::expr;
                let parts: Vec<Pair<'_, R>> = children(p).collect();
                if parts.len() == 1 {
                    return parts.into_iter().next().and_then(|q| self.expr(q, depth));
                }
                let mut items = Vec::with_capacity(parts.len());
                for q in parts {
                    items.push(self.expr(q, depth + 1)?);
                }
                Some(Expr::new(if is_or { ExprKind::Or(items) } else { ExprKind::And(items) }, span))
            }
            R::not_expr => {
                let parts: Vec<Pair<'_, R>> = children(p).collect();
                let nots = u32::try_from(parts.len().saturating_sub(1)).unwrap_or(u32::MAX);
                if depth.saturating_add(nots) > MAX_EXPR_DEPTH {
                    self.too_deep(span);
                    return None;
                }
                let mut inner_depth = depth.saturating_add(nots);
                let mut ops = Vec::new();
                let mut result = None;
                for q in parts {
                    if q.as_rule() == R::not_op {
                        ops.push(self.span(&q));
                    } else {
                        result = self.expr(q, inner_depth);
                    }
                }
                let mut e = result?;
                for op_span in ops.into_iter().rev() {
                    inner_depth = inner_depth.saturating_sub(1);
                    let s = op_span.to(e.span);
                    e = Expr::new(ExprKind::Not(Box::new(e)), self.fixed_span.unwrap_or(s));
                }
                Some(e)
            }
            R::comparison => self.comparison(p, depth),
            R::sum | R::product => self.fold_binary(p, depth),
            R::unary => {
                let parts: Vec<Pair<'_, R>> = children(p).collect();
                let negs = u32::try_from(parts.len().saturating_sub(1)).unwrap_or(u32::MAX);
                if depth.saturating_add(negs) > MAX_EXPR_DEPTH {
                    self.too_deep(span);
                    return None;
                }
                let mut ops = Vec::new();
                let mut result = None;
                for q in parts {
                    if q.as_rule() == R::neg_op {
                        ops.push(self.span(&q));
                    } else {
                        result = self.expr(q, depth.saturating_add(negs));
                    }
                }
                let mut e = result?;
                for op_span in ops.into_iter().rev() {
                    let s = op_span.to(e.span);
                    e = Expr::new(ExprKind::Neg(Box::new(e)), self.fixed_span.unwrap_or(s));
                }
                Some(e)
            }
            R::literal => {
                let lit = self.literal(children(p).next()?)?;
                Some(Expr::new(ExprKind::Literal(lit), span))
            }
            R::path => Some(Expr::new(ExprKind::Name(p.as_str().to_string()), span)),
            R::call => {
                let mut it = children(p);
                let func = self.ident(&it.next()?);
                let mut args = Vec::new();
                for a in it {
                    args.push(self.expr(a, depth + 1)?);
                }
                Some(Expr::new(ExprKind::Call { func, args }, span))
            }
            _ => {
                self.error(Code::Syntax, span, "expected an expression");
                None
            }
        }
    }

    fn fold_binary(&mut self, p: Pair<'_, R>, depth: u32) -> Option<Expr> {
        let parts: Vec<Pair<'_, R>> = children(p).collect();
        let terms = u32::try_from(parts.len() / 2).unwrap_or(u32::MAX);
        let mut it = parts.into_iter();
        // The leftmost operand sits `terms` levels below this node.
        let mut acc = self.expr(it.next()?, depth.saturating_add(terms))?;
        let mut level = terms;
        while let Some(op) = it.next() {
            let rhs = self.expr(it.next()?, depth.saturating_add(level))?;
            level = level.saturating_sub(1);
            let op = BinOp::parse(op.as_str())?;
            let span = self.fixed_span.unwrap_or(acc.span.to(rhs.span));
            acc = Expr::new(ExprKind::Binary { op, lhs: Box::new(acc), rhs: Box::new(rhs) }, span);
        }
        Some(acc)
    }

    fn comparison(&mut self, p: Pair<'_, R>, depth: u32) -> Option<Expr> {
        let span = self.span(&p);
        let mut it = children(p);
        let lhs = it.next()?;
        let Some(tail) = it.next() else {
            return self.expr(lhs, depth);
        };
        let lhs = Box::new(self.expr(lhs, depth + 1)?);
        let kind = match tail.as_rule() {
            R::compare => {
                let mut t = children(tail);
                let op = BinOp::parse(t.next()?.as_str())?;
                let rhs = Box::new(self.expr(t.next()?, depth + 1)?);
                ExprKind::Binary { op, lhs, rhs }
            }
            R::in_set | R::not_in => {
                let negated = tail.as_rule() == R::not_in;
                let set = self.set(children(tail).next()?)?;
                ExprKind::In { expr: lhs, negated, set }
            }
            R::between => {
                let mut t = children(tail);
                let low = Box::new(self.expr(t.next()?, depth + 1)?);
                let high = Box::new(self.expr(t.next()?, depth + 1)?);
                ExprKind::Between { expr: lhs, low, high }
            }
            R::is_missing => ExprKind::Is { expr: lhs, present: false },
            R::is_present => ExprKind::Is { expr: lhs, present: true },
            _ => return None,
        };
        Some(Expr::new(kind, span))
    }

    fn set(&mut self, p: Pair<'_, R>) -> Option<SetExpr> {
        let q = children(p).next()?;
        match q.as_rule() {
            R::ident => Some(SetExpr::List(self.ident(&q))),
            R::inline_set => {
                let mut items = Vec::new();
                for lit in children(q) {
                    let span = self.span(&lit);
                    let inner = children(lit).next()?;
                    let value = match inner.as_rule() {
                        R::negative_number => {
                            let n = children(inner).next()?;
                            match self.literal(n)? {
                                Literal::Number(v) => Literal::Number(-v),
                                other => other,
                            }
                        }
                        R::literal => self.literal(children(inner).next()?)?,
                        _ => return None,
                    };
                    items.push((value, span));
                }
                Some(SetExpr::Inline(items))
            }
            _ => None,
        }
    }

    fn literal(&mut self, p: Pair<'_, R>) -> Option<Literal> {
        let span = self.span(&p);
        let text = p.as_str();
        match p.as_rule() {
            R::number => match literal::parse_number(text) {
                Ok(v) => Some(Literal::Number(v)),
                Err(msg) => {
                    self.error(Code::BadNumber, span, msg);
                    None
                }
            },
            R::string => Some(Literal::String(self.string(&p))),
            R::duration => match literal::parse_duration(text) {
                Some(d) if d.millis().is_some() => Some(Literal::Duration(d)),
                _ => {
                    self.error(Code::BadDuration, span, format!("duration `{text}` is too large"));
                    None
                }
            },
            R::timestamp => {
                let body = text.trim_start_matches('@');
                match literal::parse_timestamp(body) {
                    Ok(millis) => Some(Literal::Timestamp { text: body.to_string(), millis }),
                    Err(msg) => {
                        self.error(Code::BadTimestamp, span, msg);
                        None
                    }
                }
            }
            R::bool_true => Some(Literal::Bool(true)),
            R::bool_false => Some(Literal::Bool(false)),
            _ => None,
        }
    }
}
