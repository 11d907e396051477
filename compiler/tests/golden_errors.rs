//! Golden tests: one bad input per class of compile error, asserting the
//! exact first line (`PATH:LINE:COL: error: MESSAGE`) of every diagnostic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_dsl::SourceFile;

/// Compiles `src` and returns the first line of each diagnostic.
fn errors(src: &str) -> Vec<String> {
    let text = kensa_dsl::decode_source(src.as_bytes()).expect("utf-8");
    match kensa_compiler::compile_source(text) {
        Ok(_) => Vec::new(),
        Err(ds) => {
            let file = SourceFile::new("t.kensa", text);
            ds.iter().map(|d| file.render(d).lines().next().unwrap_or("").to_string()).collect()
        }
    }
}

/// A rule set with one rule whose condition is `cond`, plus `decls`.
fn with_rule(decls: &str, cond: &str) -> String {
    format!("ruleset t {{\n{decls}\n  rule r -> block\n    when {cond}\n}}\n")
}

macro_rules! golden {
    ($($name:ident: $src:expr => [$($line:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                let got = errors(&$src);
                let want: Vec<String> = vec![$($line.to_string()),*];
                assert_eq!(got, want, "source:\n{}", $src);
            }
        )*
    };
}

golden! {
    syntax_missing_when: "ruleset t {\n  rule r -> block amount > 1\n}\n" =>
        ["t.kensa:2:19: error: unexpected `amount`, expected `description`, `priority`, `when`, `disabled` or `skip_scoring`"];
    syntax_chained_comparison: with_rule("", "amount < 1 < 2") =>
        ["t.kensa:4:21: error: unexpected `<`, expected the next item, `and`, `or`, an operator or `}`"];
    syntax_bare_fraction: with_rule("", "amount > .5") =>
        ["t.kensa:4:19: error: unexpected `.`, expected an expression"];
    syntax_trailing_dot: with_rule("", "amount > 1.") =>
        ["t.kensa:4:20: error: unexpected `.`, expected the next item, `and`, `or`, an operator or `}`"];
    unterminated_string: with_rule("", "card.hash == \"abc") =>
        ["t.kensa:4:23: error: unterminated string: expected a closing `\"` before the end of the line"];
    unterminated_comment: "ruleset t {\n  /* open\n}\n" =>
        ["t.kensa:2:3: error: unterminated block comment: expected `*/` before the end of the file"];
    bad_escape: with_rule("", "card.hash == \"a\\qb\"") =>
        ["t.kensa:4:25: error: unknown escape `\\q`: expected one of `\\\"`, `\\\\`, `\\n`, `\\t`, `\\u{...}`"];
    too_many_parens: with_rule("", &format!("{}true{}", "(".repeat(100), ")".repeat(100))) =>
        ["t.kensa:4:74: error: parentheses nested too deeply: at most 64 levels are allowed"];
    too_deep_chain: with_rule("", &format!("{}true", "not ".repeat(300))) =>
        ["t.kensa:4:10: error: expression nested too deeply: at most 256 levels are allowed"];
    number_out_of_range: with_rule("", "amount > 1e999") =>
        ["t.kensa:4:19: error: number `1e999` is out of range"];
    bad_timestamp: with_rule("", "event.time > @2026-13-01T00:00:00Z") =>
        ["t.kensa:4:23: error: `2026-13-01T00:00:00Z` is not an RFC 3339 timestamp (input is out of range)"];
    zero_window: "ruleset t {\n  velocity v = count() by card.hash over 0s\n}\n" =>
        ["t.kensa:2:42: error: a velocity window must be longer than 0"];
    keyword_rule_id: "ruleset t {\n  rule when -> block when true\n}\n" =>
        ["t.kensa:2:8: error: `when` is a keyword and cannot be a rule id"];
    repeated_priority: "ruleset t {\n  rule r -> block priority 1 priority 2 when true\n}\n" =>
        ["t.kensa:2:30: error: `priority` is given twice in rule `r`"];
    repeated_description: "ruleset t {\n  description \"a\"\n  description \"b\"\n}\n" =>
        ["t.kensa:3:3: error: the ruleset has a second `description`: it may have one"];
    duplicate_rule: "ruleset t {\n  rule r -> block when true\n  rule r -> alert when true\n}\n" =>
        ["t.kensa:3:8: error: rule id `r` is used twice"];
    duplicate_list_velocity: "ruleset t {\n  list x: ip\n  velocity x = count() by card.hash over 1h\n}\n" =>
        ["t.kensa:3:12: error: `x` is already the name of a list or velocity"];
    velocity_named_like_field: "ruleset t {\n  velocity amount = count() by card.hash over 1h\n}\n" =>
        ["t.kensa:2:12: error: velocity `amount` has the name of a field: a bare name in a condition could not tell them apart"];
    field_redeclares_builtin: "ruleset t {\n  field card.hash: string\n}\n" =>
        ["t.kensa:2:9: error: `card.hash` is a built-in field and cannot be declared again"];
    field_prefix_of_field: "ruleset t {\n  field card: string\n}\n" =>
        ["t.kensa:2:9: error: `card` is a prefix of the field `card.hash`: a path cannot be both a value and a group"];
    field_extends_field: "ruleset t {\n  field amount.cents: number\n}\n" =>
        ["t.kensa:2:9: error: `amount.cents` extends the field `amount`, which holds a single value"];
    unknown_type: "ruleset t {\n  field custom.tier: text\n}\n" =>
        ["t.kensa:2:22: error: unknown type `text`, expected one of bool, number, string, ip, timestamp, duration, [string]"];
    unknown_list_kind: "ruleset t {\n  list x: cidr\n}\n" =>
        ["t.kensa:2:11: error: unknown list kind `cidr`, expected one of string, ip, prefix, number"];
    outcomes_reserved_none: "ruleset t {\n  outcomes deny > none\n  rule r -> deny when true\n}\n" =>
        ["t.kensa:2:19: error: `none` is reserved: it is the decision when no rule matches"];
    outcomes_twice: "ruleset t {\n  outcomes deny > review > deny\n}\n" =>
        ["t.kensa:2:28: error: outcome `deny` is listed twice"];
    unknown_outcome_custom: "ruleset t {\n  outcomes deny > review\n  rule r -> block when true\n}\n" =>
        ["t.kensa:3:13: error: unknown outcome `block`"];
    unknown_field: with_rule("", "amout > 1") =>
        ["t.kensa:4:10: error: unknown field or velocity `amout`"];
    unknown_list: with_rule("", "ip.address in nowhere") =>
        ["t.kensa:4:24: error: unknown list `nowhere`"];
    unknown_function: with_rule("", "trim(card.hash) == \"x\"") =>
        ["t.kensa:4:10: error: unknown function `trim`"];
    wrong_arity: with_rule("", "lower(card.hash, card.bin) == \"x\"") =>
        ["t.kensa:4:10: error: `lower` takes 1 argument, found 2"];
    unknown_aggregate: "ruleset t {\n  velocity v = median(amount) by card.hash over 1h\n}\n" =>
        ["t.kensa:2:16: error: unknown aggregate `median`, expected one of count, count_distinct, sum, avg, min, max, last"];
    count_with_argument: "ruleset t {\n  velocity v = count(amount) by card.hash over 1h\n}\n" =>
        ["t.kensa:2:16: error: `count` takes no argument, found 1"];
    sum_of_string: "ruleset t {\n  velocity v = sum(card.hash) by customer.id over 1h\n}\n" =>
        ["t.kensa:2:20: error: `sum` needs `number`, found `string`"];
    min_of_ip: "ruleset t {\n  velocity v = min(ip.address) by customer.id over 1h\n}\n" =>
        ["t.kensa:2:20: error: `min` needs `number`, `string`, `timestamp` or `duration`, found `ip`"];
    list_key: "ruleset t {\n  velocity v = count() by items.id over 1h\n}\n" =>
        ["t.kensa:2:27: error: velocity key `items.id` is a `[string]`; keys must be single values"];
    velocity_reads_velocity: "ruleset t {\n  velocity a = count() by card.hash over 1h\n  velocity b = sum(a) by card.hash over 1h\n}\n" =>
        ["t.kensa:3:20: error: a velocity's argument, keys and `where` read fields only, not the velocity `a`"];
    velocity_reads_score: "ruleset t {\n  velocity v = count() by card.hash over 1h where score > 1\n}\n" =>
        ["t.kensa:2:51: error: a velocity's argument, keys and `where` may not read `score`: scores are not known when velocities are read"];
    compare_mismatch: with_rule("", "amount == card.hash") =>
        ["t.kensa:4:10: error: cannot compare `number` with `string`"];
    order_ip: with_rule("", "ip.address < \"10.0.0.1\"") =>
        ["t.kensa:4:10: error: `<` cannot order `ip` values: they compare only with `==` and `!=`"];
    bad_arithmetic: with_rule("", "event.time + amount > event.time") =>
        ["t.kensa:4:10: error: `+` cannot be applied to `timestamp` and `number`"];
    negate_string: with_rule("", "-card.hash == \"x\"") =>
        ["t.kensa:4:10: error: unary `-` needs a `number` or `duration`, found `string`"];
    when_not_bool: with_rule("", "amount + 1") =>
        ["t.kensa:4:10: error: a `when` condition must be `bool`, found `number`"];
    and_not_bool: with_rule("", "amount and true") =>
        ["t.kensa:4:10: error: `and` needs `bool` operands, found `number`"];
    not_of_number: with_rule("", "not amount") =>
        ["t.kensa:4:14: error: `not` needs a `bool`, found `number`"];
    bad_ip_literal: with_rule("", "ip.address == \"10.0.0.300\"") =>
        ["t.kensa:4:24: error: `10.0.0.300` is not an IP address"];
    cidr_outside_set: with_rule("", "ip.address == \"10.0.0.0/8\"") =>
        ["t.kensa:4:24: error: `10.0.0.0/8` is a CIDR range: ranges are allowed only in an `in` set"];
    inline_set_wrong_type: with_rule("", "amount in (1, \"two\")") =>
        ["t.kensa:4:24: error: an inline set tested against `number` cannot hold a `string` value"];
    list_kind_mismatch: with_rule("  list ips: ip", "card.hash in ips") =>
        ["t.kensa:4:10: error: list `ips` holds `ip` values and cannot be tested against `string`"];
    between_bounds: with_rule("", "amount between 1 and 5m") =>
        ["t.kensa:4:31: error: `between` bounds must have the tested type: expected `number`, found `duration`"];
    between_unordered: with_rule("", "ip.address between \"1.1.1.1\" and \"2.2.2.2\"") =>
        ["t.kensa:4:10: error: `between` needs an ordered type (number, string, timestamp, duration), found `ip`"];
    bad_regex: with_rule("", "matches(card.bin, \"(\")") =>
        ["t.kensa:4:28: error: invalid regular expression: unclosed group"];
    regex_not_literal: with_rule("", "matches(card.bin, card.hash)") =>
        ["t.kensa:4:28: error: the second argument of `matches` must be a string literal holding a regular expression"];
    bad_offset: with_rule("", "hour(event.time, \"+9:00\") == 1") =>
        ["t.kensa:4:27: error: `+9:00` is not a UTC offset: expected \"Z\" or \"+HH:MM\" / \"-HH:MM\" (HH 00-23, MM 00-59)"];
    skip_scoring_phase_two: "ruleset t {\n  rule r -> alert skip_scoring when score > 5\n}\n" =>
        ["t.kensa:2:19: error: rule `r` reads `score`, so it runs after scoring and cannot skip it"];
    compare_string_lists: with_rule("", "items.id == items.category") =>
        ["t.kensa:4:10: error: `==` is not defined for `[string]`: test elements with `in`"];
    every_error_in_order: "ruleset t {\n  rule a -> blok when amout > 1\n  rule b -> block when card.hash > 1\n}\n" => [
        "t.kensa:2:13: error: unknown outcome `blok`",
        "t.kensa:2:23: error: unknown field or velocity `amout`",
        "t.kensa:3:24: error: cannot compare `string` with `number`",
    ];
    empty_file: "  \n" =>
        ["t.kensa:1:1: error: the file is empty: expected `ruleset NAME { ... }` or a JSON rule set"];
}

#[test]
fn non_utf8_is_an_error_not_a_crash() {
    let d = kensa_dsl::decode_source(b"ruleset t {\xff}").unwrap_err();
    assert_eq!(d.code, kensa_dsl::Code::BadSource);
    assert_eq!(d.span.start, 11);
}

#[test]
fn ten_thousand_parentheses_do_not_overflow_the_stack() {
    let src = with_rule("", &format!("{}true{}", "(".repeat(10_000), ")".repeat(10_000)));
    let got = errors(&src);
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("parentheses nested too deeply"), "{got:?}");
}

#[test]
fn long_flat_chains_are_fine() {
    let cond = vec!["amount > 1"; 5_000].join(" or ");
    assert!(errors(&with_rule("", &cond)).is_empty());
    let sum = vec!["amount"; 200].join(" + ");
    assert!(errors(&with_rule("", &format!("{sum} > 1"))).is_empty());
}

#[test]
fn bom_is_not_counted_in_columns() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(b"ruleset t { rule r -> block when amout > 1 }");
    let text = kensa_dsl::decode_source(&bytes).unwrap();
    let ds = kensa_compiler::compile_source(text).unwrap_err();
    let line = SourceFile::new("t", text).render(&ds[0]);
    assert!(line.starts_with("t:1:34: error: unknown field or velocity `amout`"), "{line}");
}
