//! `kensa eval`, `kensa test` and `check --lists` end to end (SPEC section 12).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa")).args(args).output().expect("run kensa")
}

fn kensa_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ex(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).to_str().unwrap().to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kensa-eval-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn eval_decides_the_example_events_and_fires_every_rule() {
    let out = kensa(&["eval", "--rules", &ex("default.kensa"), "--lists", &ex("lists"), "--input", &ex("events.jsonl")]);
    assert_eq!(out.status.code(), Some(3), "the example has invalid events: {}", String::from_utf8_lossy(&out.stderr));
    let decisions = lines(&out.stdout);
    let events = std::fs::read_to_string(ex("events.jsonl")).unwrap();
    assert_eq!(decisions.len(), events.lines().filter(|l| !l.trim().is_empty()).count());
    let mut fired = std::collections::HashSet::new();
    for d in &decisions {
        for m in d["matched"].as_array().into_iter().flatten() {
            fired.insert(m.as_str().unwrap().to_string());
        }
    }
    let rules = std::fs::read_to_string(ex("default.kensa")).unwrap();
    for line in rules.lines().filter_map(|l| l.trim().strip_prefix("rule ")) {
        let id = line.split_whitespace().next().unwrap();
        assert!(fired.contains(id), "rule {id} never fires on examples/events.jsonl");
    }
    assert_eq!(
        decisions[1],
        serde_json::json!({"event_id": "e002", "decision": "block", "code": 30, "matched": ["ipaddress_BlockList"],
                           "skip_scoring": false, "score": 20, "score_level": "low"})
    );
    let errors: Vec<&serde_json::Value> = decisions.iter().filter(|d| d.get("error").is_some()).collect();
    assert_eq!(errors[0], &serde_json::json!({"event_id": "bad-amount", "error": "amount: expected number, got string"}));
    assert!(errors[1]["error"].as_str().unwrap().starts_with("json: "));
    assert_eq!(errors[1]["event_id"], serde_json::Value::Null);
}

#[test]
fn eval_reads_stdin_writes_output_and_explains() {
    let dir = temp_dir("out");
    let out_path = dir.join("decisions.jsonl");
    let rules = dir.join("r.kensa");
    std::fs::write(&rules, "ruleset r { velocity n = count() by card.hash over 1h rule big -> block when amount > 10 and n >= 1 }").unwrap();
    let input = b"{\"event\": {\"id\": \"a\", \"time\": 0}, \"amount\": 11, \"card\": {\"hash\": \"h\"}}\n\n{\"amount\": 1}\n";
    let out = kensa_stdin(
        &["eval", "--rules", rules.to_str().unwrap(), "--explain", "--output", out_path.to_str().unwrap(), "--input", "-"],
        input,
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let decisions = lines(&std::fs::read(&out_path).unwrap());
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["explain"], serde_json::json!({"big": {"amount": 11, "n": 1}}));
    // An event without event.time is stamped with the current time; no id gives null.
    assert_eq!(decisions[1]["event_id"], serde_json::Value::Null);
    assert_eq!(decisions[1]["decision"], "none");
    assert_eq!(decisions[1]["score"], serde_json::Value::Null);
}

#[test]
fn eval_dry_run_records_nothing() {
    let dir = temp_dir("dry");
    let rules = dir.join("r.kensa");
    std::fs::write(&rules, "ruleset r { velocity n = count() by card.hash over 1h rule again -> alert when n >= 2 }").unwrap();
    let ev = b"{\"event\": {\"time\": 0}, \"card\": {\"hash\": \"h\"}}\n{\"event\": {\"time\": 1}, \"card\": {\"hash\": \"h\"}}\n";
    let wet = lines(&kensa_stdin(&["eval", "--rules", rules.to_str().unwrap()], ev).stdout);
    assert_eq!(wet[1]["decision"], "alert");
    let dry = lines(&kensa_stdin(&["eval", "--rules", rules.to_str().unwrap(), "--dry-run"], ev).stdout);
    assert_eq!(dry[1]["decision"], "none");
}

#[test]
fn eval_exit_codes() {
    let dir = temp_dir("codes");
    // Lists declared but not given: the rule set cannot load.
    let out = kensa(&["eval", "--rules", &ex("default.kensa"), "--input", &ex("events.jsonl")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lists"));
    // A bad list file: exit 1 naming the file and line.
    let lists = dir.join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    for entry in std::fs::read_dir(ex("lists")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, lists.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(lists.join("bin_block.txt"), "400000\n4,1\n").unwrap();
    let out = kensa(&["eval", "--rules", &ex("default.kensa"), "--lists", lists.to_str().unwrap(), "--input", &ex("events.jsonl")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bin_block.txt") && err.contains("line 2"), "{err}");
    // A missing list file.
    std::fs::remove_file(lists.join("bin_block.txt")).unwrap();
    let out = kensa(&["check", &ex("default.kensa"), "--lists", lists.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bin_block"));
    // Unreadable input.
    let out = kensa(&["eval", "--rules", &ex("marketplace.kensa"), "--lists", &ex("lists"), "--input", "/nonexistent.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    // check --lists on the shipped lists.
    assert_eq!(kensa(&["check", &ex("default.kensa"), "--lists", &ex("lists")]).status.code(), Some(0));
}

#[test]
fn test_command_runs_the_example_cases() {
    let out = kensa(&["test", "--rules", &ex("default.kensa"), "--lists", &ex("lists"), &ex("default.test.jsonl")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("50 passed, 0 failed"));
}

#[test]
fn test_command_reports_failures_and_exits_1() {
    let dir = temp_dir("cases");
    let rules = dir.join("r.kensa");
    std::fs::write(&rules, "ruleset r { rule big -> block when amount > 10 }").unwrap();
    let cases = dir.join("cases.jsonl");
    std::fs::write(
        &cases,
        concat!(
            "{\"event\": {\"amount\": 11}, \"expect\": {\"decision\": \"block\", \"code\": 30, \"matched\": [\"big\"]}}\n",
            "{\"event\": {\"amount\": 1}, \"expect\": {\"decision\": \"block\"}}\n",
            "{\"event\": {\"amount\": \"x\"}, \"expect\": {\"error\": \"amount: expected number\"}}\n",
            "{\"event\": {\"amount\": 3}, \"expect\": {\"error\": \"amount\"}}\n",
            "{\"event\": {}, \"expect\": {\"verdict\": \"none\"}}\n",
        ),
    )
    .unwrap();
    let out = kensa(&["test", "--rules", rules.to_str().unwrap(), cases.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout.lines().last(), Some("2 passed, 3 failed"));
    assert!(stdout.contains("case at line 2 failed"), "{stdout}");
    assert!(stdout.contains("decision: expected \"block\", got \"none\""), "{stdout}");
    assert!(stdout.contains("unknown expectation `verdict`"), "{stdout}");
}

#[test]
fn bench_prints_one_json_line_with_its_figures() {
    for extra in [&[][..], &["--no-jit"][..]] {
        let (rules, lists, events) = (ex("default.kensa"), ex("lists"), ex("events.jsonl"));
        let mut args = vec!["bench", "--rules", rules.as_str(), "--lists", lists.as_str()];
        args.extend(["--input", events.as_str(), "--seconds", "0.05"]);
        args.extend(extra);
        let out = kensa(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(line["evaluator"], if extra.is_empty() { "jit" } else { "interpreter" });
        assert_eq!(line["rules"], 29);
        assert_eq!(line["events"], 47);
        for key in ["median_ns", "p99_ns", "decode_median_ns", "compile_ms"] {
            assert!(line[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {line}");
        }
    }
}

#[test]
fn no_jit_and_jit_decide_the_examples_alike() {
    let args = ["eval", "--rules", &ex("default.kensa"), "--lists", &ex("lists"), "--input", &ex("events.jsonl")].map(String::from);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let jit = kensa(&refs);
    let mut no_jit = refs.clone();
    no_jit.push("--no-jit");
    let interp = kensa(&no_jit);
    assert_eq!(jit.stdout, interp.stdout);
    assert_eq!(jit.status.code(), Some(3));
}
