//! Property tests of the reader and the formatter: generated well-formed
//! trees print and read back to the same tree; printing is idempotent; no
//! input makes the reader panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_dsl::ast::*;
use kensa_dsl::format::format_ruleset;
use kensa_dsl::parse::is_keyword;
use kensa_dsl::Span;
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("not a keyword", |s| !is_keyword(s))
}

fn path() -> impl Strategy<Value = String> {
    (ident(), prop::collection::vec("[a-z_][a-z0-9_]{0,5}", 0..3)).prop_map(|(first, rest)| {
        let mut p = first;
        for r in rest {
            p.push('.');
            p.push_str(&r);
        }
        p
    })
}

fn rule_id() -> impl Strategy<Value = String> {
    (ident(), prop::collection::vec("[a-z0-9_]{1,4}", 0..3))
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect::<Vec<_>>().join("-"))
        .prop_filter("not a keyword", |s| !is_keyword(s))
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..100_000).prop_map(f64::from),
        (0.0f64..1e6),
        Just(1e21),
        Just(1.5e-7),
        Just(0.1),
    ]
}

fn duration() -> impl Strategy<Value = DurationLit> {
    (
        0u64..100_000,
        prop_oneof![
            Just(DurationUnit::Millis),
            Just(DurationUnit::Seconds),
            Just(DurationUnit::Minutes),
            Just(DurationUnit::Hours),
            Just(DurationUnit::Days),
        ],
    )
        .prop_map(|(count, unit)| DurationLit { count, unit })
}

fn timestamp() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just("2026-01-01T00:00:00Z"),
        Just("2026-01-01T09:00:00+09:00"),
        Just("1999-12-31T23:59:59.999-05:30"),
    ]
    .prop_map(|t| Literal::Timestamp {
        text: t.to_string(),
        millis: kensa_dsl::literal::parse_timestamp(t).unwrap(),
    })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        number().prop_map(Literal::Number),
        any::<String>().prop_map(Literal::String),
        duration().prop_map(Literal::Duration),
        timestamp(),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn set_literal() -> impl Strategy<Value = (Literal, Span)> {
    prop_oneof![literal(), number().prop_map(|n| Literal::Number(-n))].prop_map(|l| (l, Span::default()))
}

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![literal().prop_map(|l| e(ExprKind::Literal(l))), path().prop_map(|p| e(ExprKind::Name(p)))];
    leaf.prop_recursive(5, 40, 4, |inner| {
        let op = prop_oneof![
            Just(BinOp::Add),
            Just(BinOp::Sub),
            Just(BinOp::Mul),
            Just(BinOp::Div),
            Just(BinOp::Eq),
            Just(BinOp::Ne),
            Just(BinOp::Lt),
            Just(BinOp::Le),
            Just(BinOp::Gt),
            Just(BinOp::Ge),
        ];
        let set = prop_oneof![
            ident().prop_map(|n| SetExpr::List(Ident::new(n, Span::default()))),
            prop::collection::vec(set_literal(), 1..4).prop_map(SetExpr::Inline),
        ];
        prop_oneof![
            (ident(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, args)| e(ExprKind::Call { func: Ident::new(f, Span::default()), args })),
            inner.clone().prop_map(|x| e(ExprKind::Neg(Box::new(x)))),
            inner.clone().prop_map(|x| e(ExprKind::Not(Box::new(x)))),
            (op, inner.clone(), inner.clone())
                .prop_map(|(op, l, r)| e(ExprKind::Binary { op, lhs: Box::new(l), rhs: Box::new(r) })),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| e(ExprKind::And(xs))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| e(ExprKind::Or(xs))),
            (inner.clone(), any::<bool>(), set)
                .prop_map(|(x, negated, set)| e(ExprKind::In { expr: Box::new(x), negated, set })),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(x, lo, hi)| e(ExprKind::Between {
                expr: Box::new(x),
                low: Box::new(lo),
                high: Box::new(hi)
            })),
            (inner, any::<bool>()).prop_map(|(x, present)| e(ExprKind::Is { expr: Box::new(x), present })),
        ]
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        rule_id(),
        ident(),
        prop::option::of(any::<String>()),
        prop::option::of(-1000i64..1000),
        any::<bool>(),
        any::<bool>(),
        expr(),
    )
        .prop_map(|(id, outcome, description, priority, enabled, skip, when)| Rule {
            id: Ident::new(id, Span::default()),
            outcome: Ident::new(outcome, Span::default()),
            description,
            priority,
            enabled,
            skip_scoring: skip,
            skip_scoring_span: skip.then(Span::default),
            when,
            comments: Comments::default(),
            span: Span::default(),
        })
}

fn velocity() -> impl Strategy<Value = VelocityDecl> {
    let agg = prop::sample::select(AggKind::ALL.to_vec());
    (ident(), agg, expr(), prop::collection::vec(path(), 1..3), duration(), any::<bool>(), prop::option::of(expr()))
        .prop_map(|(name, agg, of, by, over, excluding_current, filter)| VelocityDecl {
            name: Ident::new(name, Span::default()),
            agg,
            agg_span: Span::default(),
            of: (agg != AggKind::Count).then_some(of),
            by: by.into_iter().map(|p| Ident::new(p, Span::default())).collect(),
            over: DurationLit { count: over.count.max(1), unit: over.unit },
            over_span: Span::default(),
            excluding_current,
            filter,
            comments: Comments::default(),
            span: Span::default(),
        })
}

fn ruleset() -> impl Strategy<Value = Ruleset> {
    (
        ident(),
        prop::option::of(any::<String>()),
        prop::option::of(prop::collection::vec(ident(), 2..4)),
        prop::collection::vec((path(), prop::sample::select(TypeName::ALL.to_vec())), 0..3),
        prop::collection::vec((ident(), prop::sample::select(ListKind::ALL.to_vec())), 0..3),
        prop::collection::vec(velocity(), 0..3),
        prop::collection::vec(rule(), 0..4),
    )
        .prop_map(|(name, description, outcomes, fields, lists, velocities, rules)| Ruleset {
            name: Ident::new(name, Span::default()),
            description: description.map(|text| Described { text, comments: Comments::default(), span: Span::default() }),
            outcomes: outcomes.map(|ns| OutcomesDecl {
                names: ns.into_iter().map(|n| Ident::new(n, Span::default())).collect(),
                comments: Comments::default(),
                span: Span::default(),
            }),
            fields: fields
                .into_iter()
                .map(|(p, ty)| FieldDecl {
                    path: Ident::new(p, Span::default()),
                    ty,
                    ty_span: Span::default(),
                    comments: Comments::default(),
                    span: Span::default(),
                })
                .collect(),
            lists: lists
                .into_iter()
                .map(|(n, kind)| ListDecl { name: Ident::new(n, Span::default()), kind, comments: Comments::default(), span: Span::default() })
                .collect(),
            velocities,
            rules,
            header_comments: Vec::new(),
            footer_comments: Vec::new(),
            span: Span::default(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_read_back_equal(rs in ruleset()) {
        let text = format_ruleset(&rs);
        let back = kensa_dsl::parse_ruleset(&text);
        prop_assert!(back.is_ok(), "did not parse:\n{}\n{:?}", text, back.err());
        let back = back.unwrap();
        prop_assert_eq!(&back, &rs, "text:\n{}", text);
        prop_assert_eq!(format_ruleset(&back), text);
    }

    #[test]
    fn printed_trees_round_trip_through_json_syntax(rs in ruleset()) {
        // Without types the JSON reader keeps tree-leaf strings unresolved, so
        // compare the JSON it writes back rather than the tree.
        let json = kensa_dsl::json::write::write_json(&rs);
        let back = kensa_dsl::parse_ruleset(&json);
        prop_assert!(back.is_ok(), "did not read:\n{}\n{:?}", json, back.err());
        prop_assert_eq!(kensa_dsl::json::write::write_json(&back.unwrap()), json);
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = kensa_dsl::parse_ruleset(&s);
        let _ = kensa_dsl::parse::parse_condition(&s, Span::default());
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "ruleset", "r", "{", "}", "rule", "a-b", "->", "block", "when", "and", "or", "not", "in", "(", ")",
        ",", "amount", "card.hash", "1", "1.5e3", "\"s\"", "\"\\u{41}\"", "@2026-01-01T00:00:00Z", "1h",
        "between", "is", "missing", "present", "velocity", "=", "count", "by", "over", "list", ":", "ip",
        "field", "[string]", "outcomes", ">", "==", "-", "+", "*", "/", "priority", "disabled", "skip_scoring",
        "description", "excluding", "current", "where", "//c\n", "/*c*/", "{\"ruleset\":", "[", "]", "null",
    ]), 0..40)) {
        let src = tokens.join(" ");
        let _ = kensa_dsl::parse_ruleset(&src);
        let _ = kensa_dsl::parse_ruleset(&format!("ruleset r {{ {src} }}"));
    }

    #[test]
    fn arbitrary_json_shapes_never_panic(s in "\\{(\"[a-z_]{1,8}\": ?(\"[^\"]{0,10}\"|[0-9]{1,3}|true|null|\\[\\]|\\{\\}), ?){0,6}\\}") {
        let _ = kensa_dsl::parse_ruleset(&s);
    }
}
