//! Property tests over well-typed rule sets: text -> JSON -> text is the
//! formatter's output, JSON -> text -> JSON is the same JSON, and generated
//! conditions always type-check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_dsl::format::format_ruleset;
use kensa_dsl::json::write::write_json;
use proptest::prelude::*;

fn num() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("amount".to_string()),
        Just("score".to_string()),
        Just("page.dwell_ms".to_string()),
        Just("n_cards".to_string()),
        Just("avg_spend".to_string()),
        (0u32..100_000).prop_map(|n| n.to_string()),
        Just("0.25".to_string()),
        Just("len(card.hash)".to_string()),
        Just("len(items.id)".to_string()),
        Just("hour(event.time, \"+09:00\")".to_string()),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["+", "-", "*", "/"]), inner.clone())
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("max({a}, {b})")),
        ]
    })
    .boxed()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("card.hash".to_string()),
        Just("currency".to_string()),
        Just("lower(customer.email)".to_string()),
        "[a-zA-Z0-9 \\-]{0,8}".prop_map(|s| format!("{s:?}")),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let cmp = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    prop_oneof![
        (num(), cmp.clone(), num()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        ("amount|score|n_cards", cmp.clone(), -1000i32..1000).prop_map(|(a, op, v)| format!("{a} {op} {v}")),
        (text(), cmp.clone(), text()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        Just("ip.address == \"10.1.2.3\"".to_string()),
        Just("ip.address != \"::ffff:1.2.3.4\"".to_string()),
        Just("ip.address in (\"10.0.0.0/8\", \"2001:db8::1\")".to_string()),
        Just("ip.address not in ip_block".to_string()),
        Just("card.bin in bins".to_string()),
        Just("items.id in (\"a\", \"b\")".to_string()),
        Just("items.category not in names".to_string()),
        (Just("event.time"), cmp.clone()).prop_map(|(a, op)| format!("{a} {op} @2026-01-01T09:00:00+09:00")),
        (cmp.clone(), 1u32..1000).prop_map(|(op, n)| format!("event.time - last_seen {op} {n}m")),
        (cmp, 1u32..90).prop_map(|(op, n)| format!("last_seen + {n}d {op} event.time")),
        (num(), num(), num()).prop_map(|(a, b, c)| format!("{a} between {b} and {c}")),
        Just("amount between -5 and 5".to_string()),
        Just("amount in (1, -2, 3.5)".to_string()),
        Just("amount not in amounts".to_string()),
        Just("currency in (\"JPY\", \"USD\")".to_string()),
        Just("card.hash is missing".to_string()),
        Just("n_cards is present".to_string()),
        Just("starts_with(card.bin, \"4\")".to_string()),
        Just("matches(customer.email, \"^[a-z]+@\")".to_string()),
        Just("weekday(event.time, \"Z\") in (6, 7)".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("ip.address == last_ip".to_string()),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| format!("({})", xs.join(" and "))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|xs| format!("({})", xs.join(" or "))),
            inner.prop_map(|x| format!("not ({x})")),
        ]
    })
}

fn ruleset(conditions: &[String]) -> String {
    let mut s = String::from(
        "ruleset p {\n  list ip_block: ip\n  list bins: prefix\n  list names: string\n  list amounts: number\n  \
         velocity n_cards = count_distinct(card.hash) by ip.address over 1h\n  \
         velocity avg_spend = avg(amount) by customer.id over 30d excluding current where amount > 0\n  \
         velocity last_seen = last(event.time) by customer.id over 365d\n  \
         velocity last_ip = last(ip.address) by customer.id over 30d\n",
    );
    for (i, c) in conditions.iter().enumerate() {
        s.push_str(&format!("  rule r{i} -> block\n    when {c}\n"));
    }
    s.push_str("}\n");
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn text_json_text_is_the_formatters_output(conds in prop::collection::vec(condition(), 1..5)) {
        let src = ruleset(&conds);
        let checked = kensa_compiler::compile_source(&src);
        prop_assert!(checked.is_ok(), "does not check:\n{}\n{:?}", src, checked.err());
        let checked = checked.unwrap();
        let formatted = format_ruleset(&checked.ast);
        let json = write_json(&checked.ast);
        let from_json = kensa_compiler::compile_source(&json);
        prop_assert!(from_json.is_ok(), "JSON does not check:\n{}\n{:?}", json, from_json.err());
        let from_json = from_json.unwrap();
        prop_assert_eq!(format_ruleset(&from_json.ast), formatted.clone());
        // JSON -> text -> JSON is the same JSON.
        let again = kensa_compiler::compile_source(&formatted).unwrap();
        prop_assert_eq!(write_json(&again.ast), json);
    }
}
