//! The `kensa` binary end to end: exit codes, output streams and formats of
//! `check`, `fmt` and `convert` (SPEC section 12).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa")).args(args).output().expect("run kensa")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example(name: &str) -> String {
    examples().join(name).to_str().unwrap().to_string()
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kensa-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_examples() {
    for name in ["default.kensa", "marketplace.kensa", "card_testing.kensa"] {
        let out = kensa(&["check", &example(name)]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
    }
}

#[test]
fn check_reports_every_error_with_path_line_col_and_caret() {
    let path = temp_file("bad.kensa", b"ruleset t {\n  rule a -> blok when amout > 1\n  rule b -> block when card.hash > 1\n}\n");
    let shown = path.to_str().unwrap();
    let out = kensa(&["check", shown]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let headers: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(
        headers,
        [
            format!("{shown}:2:13: error: unknown outcome `blok`"),
            format!("{shown}:2:23: error: unknown field or velocity `amout`"),
            format!("{shown}:3:24: error: cannot compare `string` with `number`"),
        ]
    );
    // Each header is followed by the source line and a caret line.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[1], "2 |   rule a -> blok when amout > 1");
    assert_eq!(lines[2], "  |             ^^^^");
}

#[test]
fn unreadable_file_is_exit_2() {
    let out = kensa(&["check", "/nonexistent/rules.kensa"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the file"));
}

#[test]
fn bad_usage_is_exit_2() {
    assert_eq!(kensa(&["check"]).status.code(), Some(2));
    assert_eq!(kensa(&["convert", &example("default.kensa"), "--to", "yaml"]).status.code(), Some(2));
    assert_eq!(kensa(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn non_utf8_empty_and_deep_files_are_errors_not_crashes() {
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("latin1.kensa", b"ruleset t { description \"caf\xe9\" }".to_vec(), "not valid UTF-8"),
        ("empty.kensa", Vec::new(), "the file is empty"),
        (
            "deep.kensa",
            format!("ruleset t {{ rule r -> block when {}true{} }}", "(".repeat(10_000), ")".repeat(10_000)).into_bytes(),
            "nested too deeply",
        ),
    ];
    for (name, bytes, needle) in cases {
        let out = kensa(&["check", temp_file(name, &bytes).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(text(&out.stderr).contains(needle), "{name}: {}", text(&out.stderr));
    }
}

#[test]
fn fmt_prints_the_canonical_form_and_check_tells_canonical_apart() {
    let messy = temp_file("messy.kensa", b"ruleset   t{rule r->block when amount>1 and(card.hash is missing)}");
    let out = kensa(&["fmt", messy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let formatted = text(&out.stdout);
    assert_eq!(formatted, "ruleset t {\n  rule r -> block\n    when amount > 1 and card.hash is missing\n}\n");
    assert_eq!(kensa(&["fmt", "--check", messy.to_str().unwrap()]).status.code(), Some(1));
    let clean = temp_file("clean.kensa", formatted.as_bytes());
    assert_eq!(kensa(&["fmt", "--check", clean.to_str().unwrap()]).status.code(), Some(0));
    for name in ["default.kensa", "marketplace.kensa", "card_testing.kensa"] {
        assert_eq!(kensa(&["fmt", "--check", &example(name)]).status.code(), Some(0), "{name}");
    }
    let broken = temp_file("broken.kensa", b"ruleset t { rule }");
    assert_eq!(kensa(&["fmt", "--check", broken.to_str().unwrap()]).status.code(), Some(1));
}

#[test]
fn fmt_keeps_comments() {
    let src = b"// header\nruleset t {\n  // about r\n  rule r -> block // trailing\n    when amount > 1 /* inner */ and true\n  // footer\n}\n";
    let path = temp_file("comments.kensa", src);
    let once = text(&kensa(&["fmt", path.to_str().unwrap()]).stdout);
    for c in ["// header", "// about r", "// trailing", "/* inner */", "// footer"] {
        assert!(once.contains(c), "{c} lost:\n{once}");
    }
    let again = temp_file("comments2.kensa", once.as_bytes());
    assert_eq!(text(&kensa(&["fmt", again.to_str().unwrap()]).stdout), once);
}

#[test]
fn convert_round_trips_through_json() {
    let json = kensa(&["convert", &example("default.kensa"), "--to", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["ruleset", "description", "outcomes", "fields", "lists", "velocities", "rules"]);
    let rule_keys: Vec<&str> = value["rules"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(rule_keys, ["id", "outcome", "priority", "enabled", "skip_scoring", "description", "when"]);
    assert_eq!(value["rules"][1]["when"], serde_json::json!({"field": "ip_cards_1h", "op": ">", "value": 5}));
    assert!(text(&json.stdout).starts_with("{\n  \"ruleset\": \"default_rules\",\n"));

    let json_path = temp_file("default.json", &json.stdout);
    let back = kensa(&["convert", json_path.to_str().unwrap(), "--to", "text"]);
    assert_eq!(back.status.code(), Some(0));
    let formatted = text(&kensa(&["fmt", &example("default.kensa")]).stdout);
    let without_comments: String = formatted
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(text(&back.stdout), without_comments);
    let again = kensa(&["convert", json_path.to_str().unwrap(), "--to", "json"]);
    assert_eq!(again.stdout, json.stdout);
    assert_eq!(kensa(&["fmt", "--check", json_path.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn convert_refuses_a_broken_rule_set() {
    let path = temp_file("broken2.kensa", b"ruleset t { rule r -> block when nope > 1 }");
    let out = kensa(&["convert", path.to_str().unwrap(), "--to", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn json_schema_of_the_json_form_is_valid_json() {
    let schema = std::fs::read(examples().join("kensa-ruleset.schema.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&schema).unwrap();
    assert_eq!(value["required"], serde_json::json!(["ruleset", "rules"]));
}

#[test]
fn json_schema_names_every_key_the_writer_writes() {
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(examples().join("kensa-ruleset.schema.json")).unwrap()).unwrap();
    let json = kensa(&["convert", &example("marketplace.kensa"), "--to", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let top = schema["properties"].as_object().unwrap();
    for (key, v) in value.as_object().unwrap() {
        assert!(top.contains_key(key), "top-level key {key} missing from the schema");
        let Some(items) = v.as_array() else { continue };
        let allowed = &top[key]["items"]["properties"];
        for item in items.iter().filter_map(|i| i.as_object()) {
            for k in item.keys() {
                assert!(allowed.get(k).is_some(), "{key}[].{k} missing from the schema");
            }
        }
    }
}
