//! The abstract syntax tree of a rule set, shared by the text and JSON forms.
//!
//! Every node carries a [`Span`]; spans never change equality (INVARIANT
//! SpanEquality), so trees from different sources compare by meaning.

use crate::span::Span;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name (a rule id may hold `-`; a path holds `.`).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl Ident {
    /// A name with a span.
    pub fn new(name: impl Into<String>, span: Span) -> Ident {
        Ident { name: name.into(), span }
    }
}

/// A comment kept for the formatter, text included (`// ...` or `/* ... */`).
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The comment exactly as written, delimiters included.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// Comments that belong to one item, by where they stood.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comments {
    /// Whole-line comments before the item.
    pub leading: Vec<Comment>,
    /// Comments inside the item (hoisted before the item's last line when printed).
    pub inner: Vec<Comment>,
    /// A comment after the item's last token on the same line.
    pub trailing: Option<Comment>,
}

impl Comments {
    /// True when there is no comment at all.
    pub fn is_empty(&self) -> bool {
        self.leading.is_empty() && self.inner.is_empty() && self.trailing.is_none()
    }
}

/// A whole rule set.
#[derive(Clone, Debug, PartialEq)]
pub struct Ruleset {
    /// The name after `ruleset`.
    pub name: Ident,
    /// `description "..."`.
    pub description: Option<Described>,
    /// `outcomes a > b > c`, highest precedence first.
    pub outcomes: Option<OutcomesDecl>,
    /// `field path: type` declarations, in source order.
    pub fields: Vec<FieldDecl>,
    /// `list name: kind` declarations, in source order.
    pub lists: Vec<ListDecl>,
    /// `velocity` declarations, in source order.
    pub velocities: Vec<VelocityDecl>,
    /// Rules, in source order.
    pub rules: Vec<Rule>,
    /// Comments before `ruleset`.
    pub header_comments: Vec<Comment>,
    /// Comments after the last item, before the closing `}`, and after it.
    pub footer_comments: Vec<Comment>,
    /// The whole rule set.
    pub span: Span,
}

/// A ruleset-level `description`.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    /// The text.
    pub text: String,
    /// Comments around the item.
    pub comments: Comments,
    /// The whole item.
    pub span: Span,
}

/// `outcomes a > b > c`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomesDecl {
    /// Names, highest precedence first.
    pub names: Vec<Ident>,
    /// Comments around the item.
    pub comments: Comments,
    /// The whole item.
    pub span: Span,
}

/// The type named in a `field` declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeName {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// `ip`
    Ip,
    /// `timestamp`
    Timestamp,
    /// `duration`
    Duration,
    /// `[string]`
    StringList,
}

impl TypeName {
    /// Every type, in the order the SPEC lists them.
    pub const ALL: [TypeName; 7] = [
        TypeName::Bool,
        TypeName::Number,
        TypeName::String,
        TypeName::Ip,
        TypeName::Timestamp,
        TypeName::Duration,
        TypeName::StringList,
    ];

    /// The name as written in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeName::Bool => "bool",
            TypeName::Number => "number",
            TypeName::String => "string",
            TypeName::Ip => "ip",
            TypeName::Timestamp => "timestamp",
            TypeName::Duration => "duration",
            TypeName::StringList => "[string]",
        }
    }

    /// Reads a type name as written (`[string]` included).
    pub fn parse(text: &str) -> Option<TypeName> {
        TypeName::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// `field path: type`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    /// The dotted path.
    pub path: Ident,
    /// Its type.
    pub ty: TypeName,
    /// Where the type was written.
    pub ty_span: Span,
    /// Comments around the item.
    pub comments: Comments,
    /// The whole item.
    pub span: Span,
}

/// The kind of a list: what its values are and how `in` matches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// Exact strings.
    String,
    /// IP addresses and CIDR ranges.
    Ip,
    /// String prefixes (BINs).
    Prefix,
    /// Numbers.
    Number,
}

impl ListKind {
    /// Every kind, in the order the SPEC lists them.
    pub const ALL: [ListKind; 4] = [ListKind::String, ListKind::Ip, ListKind::Prefix, ListKind::Number];

    /// The kind as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::String => "string",
            ListKind::Ip => "ip",
            ListKind::Prefix => "prefix",
            ListKind::Number => "number",
        }
    }

    /// Reads a kind as written.
    pub fn parse(text: &str) -> Option<ListKind> {
        ListKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// `list name: kind`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListDecl {
    /// The list's name.
    pub name: Ident,
    /// Its kind.
    pub kind: ListKind,
    /// Comments around the item.
    pub comments: Comments,
    /// The whole item.
    pub span: Span,
}

/// The aggregate function of a velocity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggKind {
    /// `count()`
    Count,
    /// `count_distinct(e)`
    CountDistinct,
    /// `sum(e)`
    Sum,
    /// `avg(e)`
    Avg,
    /// `min(e)`
    Min,
    /// `max(e)`
    Max,
    /// `last(e)`
    Last,
}

impl AggKind {
    /// Every aggregate.
    pub const ALL: [AggKind; 7] = [
        AggKind::Count,
        AggKind::CountDistinct,
        AggKind::Sum,
        AggKind::Avg,
        AggKind::Min,
        AggKind::Max,
        AggKind::Last,
    ];

    /// The name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AggKind::Count => "count",
            AggKind::CountDistinct => "count_distinct",
            AggKind::Sum => "sum",
            AggKind::Avg => "avg",
            AggKind::Min => "min",
            AggKind::Max => "max",
            AggKind::Last => "last",
        }
    }

    /// Reads an aggregate name.
    pub fn parse(text: &str) -> Option<AggKind> {
        AggKind::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A duration as written: a count of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationLit {
    /// How many units.
    pub count: u64,
    /// The unit.
    pub unit: DurationUnit,
}

impl DurationLit {
    /// The length in milliseconds, or `None` when it does not fit in an i64.
    pub fn millis(self) -> Option<i64> {
        let ms = self.count.checked_mul(self.unit.millis())?;
        i64::try_from(ms).ok()
    }
}

impl std::fmt::Display for DurationLit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.count, self.unit.as_str())
    }
}

/// A duration unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationUnit {
    /// `ms`
    Millis,
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h`
    Hours,
    /// `d` (86 400 s)
    Days,
}

impl DurationUnit {
    /// The suffix as written.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Millis => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    /// Milliseconds in one unit.
    pub fn millis(self) -> u64 {
        match self {
            DurationUnit::Millis => 1,
            DurationUnit::Seconds => 1_000,
            DurationUnit::Minutes => 60_000,
            DurationUnit::Hours => 3_600_000,
            DurationUnit::Days => 86_400_000,
        }
    }
}

/// `velocity name = agg(of) by keys over window [excluding current] [where filter]`.
#[derive(Clone, Debug, PartialEq)]
pub struct VelocityDecl {
    /// The velocity's name.
    pub name: Ident,
    /// The aggregate.
    pub agg: AggKind,
    /// Where the aggregate's name was written.
    pub agg_span: Span,
    /// The aggregated expression (`None` for `count()`).
    pub of: Option<Expr>,
    /// The key paths.
    pub by: Vec<Ident>,
    /// The window length.
    pub over: DurationLit,
    /// Where the window was written.
    pub over_span: Span,
    /// `excluding current`.
    pub excluding_current: bool,
    /// The `where` filter.
    pub filter: Option<Expr>,
    /// Comments around the item.
    pub comments: Comments,
    /// The whole item.
    pub span: Span,
}

/// A rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The rule id (may hold `-`).
    pub id: Ident,
    /// The outcome name after `->`.
    pub outcome: Ident,
    /// `description "..."`.
    pub description: Option<String>,
    /// `priority N`.
    pub priority: Option<i64>,
    /// `disabled` (stored as its opposite, as the JSON form does).
    pub enabled: bool,
    /// `skip_scoring`.
    pub skip_scoring: bool,
    /// Where `skip_scoring` was written, when it was.
    pub skip_scoring_span: Option<Span>,
    /// The condition.
    pub when: Expr,
    /// Comments around the rule.
    pub comments: Comments,
    /// The whole rule.
    pub span: Span,
}

/// An expression with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written (for nodes read from a JSON condition string, the
    /// whole string).
    pub span: Span,
}

impl Expr {
    /// An expression node.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

/// Binary operators other than `and` / `or`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }

    /// Reads an operator.
    pub fn parse(text: &str) -> Option<BinOp> {
        [
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
        ]
        .into_iter()
        .find(|op| op.as_str() == text)
    }

    /// True for the six comparisons.
    pub fn is_comparison(self) -> bool {
        !matches!(self, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
    }
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A finite f64 (negative only when read from an inline set, a JSON value
    /// or built by folding a unary minus).
    Number(f64),
    /// A string.
    String(String),
    /// A duration, kept with its unit.
    Duration(DurationLit),
    /// A timestamp: its RFC 3339 text (without `@`) and its value in ms.
    Timestamp {
        /// The text as written, without `@`.
        text: String,
        /// Milliseconds since the Unix epoch.
        millis: i64,
    },
    /// `true` / `false`.
    Bool(bool),
    /// A JSON string value in a condition tree: read as the type of the field
    /// it is compared with. The type checker turns it into one of the other
    /// variants (INVARIANT JsonStringResolved: no `JsonString` survives a
    /// successful check).
    JsonString(String),
}

/// The set on the right of `in`.
#[derive(Clone, Debug, PartialEq)]
pub enum SetExpr {
    /// A declared list, by name.
    List(Ident),
    /// An inline set of literals.
    Inline(Vec<(Literal, Span)>),
}

/// Expression kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// A field path or a velocity name (resolved by the compiler).
    Name(String),
    /// A built-in function call.
    Call {
        /// The function's name.
        func: Ident,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// Unary minus.
    Neg(Box<Expr>),
    /// `not`.
    Not(Box<Expr>),
    /// Arithmetic or comparison.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `a and b and ...` (empty: true).
    And(Vec<Expr>),
    /// `a or b or ...` (empty: false).
    Or(Vec<Expr>),
    /// `x in S` / `x not in S`.
    In {
        /// The tested expression.
        expr: Box<Expr>,
        /// True for `not in`.
        negated: bool,
        /// The set.
        set: SetExpr,
    },
    /// `x between low and high`.
    Between {
        /// The tested expression.
        expr: Box<Expr>,
        /// Lower bound (included).
        low: Box<Expr>,
        /// Upper bound (included).
        high: Box<Expr>,
    },
    /// `x is missing` (`present: false`) / `x is present` (`present: true`).
    Is {
        /// The tested expression.
        expr: Box<Expr>,
        /// True for `is present`.
        present: bool,
    },
}

impl Expr {
    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Name(_) => {}
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            ExprKind::Neg(e) | ExprKind::Not(e) => e.walk(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            ExprKind::And(xs) | ExprKind::Or(xs) => xs.iter().for_each(|x| x.walk(f)),
            ExprKind::In { expr, .. } | ExprKind::Is { expr, .. } => expr.walk(f),
            ExprKind::Between { expr, low, high } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
        }
    }
}
