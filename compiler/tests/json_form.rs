//! The JSON form (SPEC section 11): reading with defaults, both condition
//! shapes, errors at the offending JSON value, and the round trips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_dsl::format::format_ruleset;
use kensa_dsl::json::write::write_json;
use kensa_dsl::SourceFile;

fn first_lines(src: &str) -> Vec<String> {
    match kensa_compiler::compile_source(src) {
        Ok(_) => Vec::new(),
        Err(ds) => {
            let f = SourceFile::new("r.json", src);
            ds.iter().map(|d| f.render(d).lines().next().unwrap_or("").to_string()).collect()
        }
    }
}

#[test]
fn minimal_json_takes_defaults() {
    let src = r#"{"ruleset": "m", "rules": [{"id": "big", "outcome": "block", "when": "amount > 100"}]}"#;
    let c = kensa_compiler::compile_source(src).unwrap();
    let r = &c.ast.rules[0];
    assert!(r.enabled && !r.skip_scoring && r.priority.is_none() && r.description.is_none());
    assert_eq!(format_ruleset(&c.ast), "ruleset m {\n  rule big -> block\n    when amount > 100\n}\n");
}

#[test]
fn tree_conditions_read_values_as_the_fields_type() {
    let src = r#"{"ruleset": "m", "rules": [{"id": "r", "outcome": "alert", "when": {"all": [
        {"field": "event.time", "op": ">=", "value": "2026-01-01T00:00:00Z"},
        {"field": "ip.address", "op": "in", "values": ["10.0.0.0/8", "192.168.1.7"]},
        {"field": "amount", "op": "between", "values": [1, 2.5]},
        {"not": {"field": "card.hash", "op": "is_missing"}},
        {"any": [{"field": "currency", "op": "not_in", "values": ["JPY"]}, "amount > 3"]}
    ]}}]}"#;
    let c = kensa_compiler::compile_source(src).unwrap();
    assert_eq!(
        format_ruleset(&c.ast),
        "ruleset m {\n  rule r -> alert\n    when event.time >= @2026-01-01T00:00:00Z\n      and ip.address in (\"10.0.0.0/8\", \"192.168.1.7\")\n      \
and amount between 1 and 2.5\n      and not card.hash is missing\n      and (currency not in (\"JPY\") or amount > 3)\n}\n"
    );
}

#[test]
fn velocity_windows_and_durations_in_leaves() {
    let src = r#"{"ruleset": "m",
      "velocities": [{"name": "n", "agg": "count", "by": ["card.hash"], "over": "1h"},
                     {"name": "gap", "agg": "last", "of": "event.time", "by": ["customer.id"], "over": "30d",
                      "excluding_current": false, "where": {"field": "amount", "op": ">", "value": 0}}],
      "rules": [{"id": "r", "outcome": "alert", "when": {"field": "n", "op": ">", "value": 5}}]}"#;
    let c = kensa_compiler::compile_source(src).unwrap();
    let text = format_ruleset(&c.ast);
    assert!(text.contains("velocity n = count() by card.hash over 1h\n"), "{text}");
    assert!(text.contains("velocity gap = last(event.time) by customer.id over 30d where amount > 0\n"), "{text}");
}

#[test]
fn unknown_key_is_named_by_its_json_path() {
    let src = "{\"ruleset\": \"m\", \"rules\": [\n  {\"id\": \"r\", \"outcome\": \"block\", \"when\": \"true\", \"prio\": 1}]}";
    assert_eq!(first_lines(src), ["r.json:2:51: error: unknown key `rules[0].prio`"]);
}

#[test]
fn missing_and_mistyped_keys() {
    let src = r#"{"ruleset": "m", "rules": [{"id": "r", "when": "true", "enabled": "yes"}]}"#;
    assert_eq!(
        first_lines(src),
        [
            "r.json:1:28: error: `rules[0]`: missing key `outcome`",
            "r.json:1:67: error: `rules[0].enabled`: expected true or false, found a string",
        ]
    );
}

#[test]
fn errors_inside_a_condition_string_point_at_the_string() {
    let src = "{\"ruleset\": \"m\", \"rules\": [{\"id\": \"r\", \"outcome\": \"block\",\n   \"when\": \"amount > card.hash\"}]}";
    assert_eq!(first_lines(src), ["r.json:2:12: error: cannot compare `number` with `string`"]);
    let syntax = r#"{"ruleset": "m", "rules": [{"id": "r", "outcome": "block", "when": "amount >"}]}"#;
    let got = first_lines(syntax);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("r.json:1:68: error: unexpected end of file"), "{got:?}");
}

#[test]
fn leaf_errors_point_at_the_value() {
    let src = r#"{"ruleset": "m", "rules": [{"id": "r", "outcome": "block", "when": {"field": "event.time", "op": "<", "value": "yesterday"}}]}"#;
    let got = first_lines(src);
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("r.json:1:112: error: `yesterday` is not an RFC 3339 timestamp"), "{got:?}");
    let bad_op = r#"{"ruleset": "m", "rules": [{"id": "r", "outcome": "block", "when": {"field": "amount", "op": "~", "value": 1}}]}"#;
    assert!(first_lines(bad_op)[0].contains("unknown op `~`"));
}

#[test]
fn bad_json_syntax_is_reported_with_its_place() {
    let got = first_lines("{\"ruleset\": \"m\",\n \"rules\": [}");
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("r.json:2:12: error: invalid JSON"), "{got:?}");
}

#[test]
fn rule_ids_follow_the_text_syntax() {
    let ok = r#"{"ruleset": "m", "rules": [{"id": "ip-over-times", "outcome": "block", "when": "true"}]}"#;
    assert!(first_lines(ok).is_empty());
    for bad in ["when", "a-", "-a", "a b", "1a"] {
        let src = format!(r#"{{"ruleset": "m", "rules": [{{"id": "{bad}", "outcome": "block", "when": "true"}}]}}"#);
        assert_eq!(first_lines(&src).len(), 1, "{bad}");
    }
}

fn round_trip(path: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let checked = kensa_compiler::compile_source(&text).unwrap();
    let formatted = format_ruleset(&checked.ast);
    // text -> JSON -> text is the formatter's output without comments.
    let json = write_json(&checked.ast);
    let back = kensa_compiler::compile_source(&json).unwrap();
    let without_comments = kensa_compiler::compile_source(&formatted).map(|c| {
        let mut ast = c.ast;
        strip_comments(&mut ast);
        format_ruleset(&ast)
    });
    assert_eq!(format_ruleset(&back.ast), without_comments.unwrap());
    // JSON -> text -> JSON gives the same JSON.
    let text_again = format_ruleset(&back.ast);
    let json_again = write_json(&kensa_compiler::compile_source(&text_again).unwrap().ast);
    assert_eq!(json_again, json);
    // The trees agree (spans ignored).
    assert_eq!(back.ast.rules, {
        let mut a = checked.ast.clone();
        strip_comments(&mut a);
        a.rules
    });
}

fn strip_comments(rs: &mut kensa_dsl::Ruleset) {
    rs.header_comments.clear();
    rs.footer_comments.clear();
    let none = kensa_dsl::ast::Comments::default;
    if let Some(d) = rs.description.as_mut() {
        d.comments = none();
    }
    if let Some(o) = rs.outcomes.as_mut() {
        o.comments = none();
    }
    rs.fields.iter_mut().for_each(|x| x.comments = none());
    rs.lists.iter_mut().for_each(|x| x.comments = none());
    rs.velocities.iter_mut().for_each(|x| x.comments = none());
    rs.rules.iter_mut().for_each(|x| x.comments = none());
}

#[test]
fn every_example_round_trips_through_json() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "kensa") {
            round_trip(path.to_str().unwrap());
        }
    }
}

#[test]
fn every_example_checks_clean_and_formats_to_itself() {
    let mut seen = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "kensa") {
            let text = std::fs::read_to_string(&path).unwrap();
            let ast = kensa_dsl::parse_ruleset(&text).unwrap();
            assert_eq!(format_ruleset(&ast), text, "{} is not canonical", path.display());
            kensa_compiler::compile_source(&text).unwrap();
            seen += 1;
        }
    }
    assert!(seen >= 2, "expected the example rule sets, found {seen}");
}
