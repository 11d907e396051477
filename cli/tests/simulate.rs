//! `kensa simulate` end to end (SPEC section 13): a small labelled history
//! whose summary is computed by hand, the CSV byte for byte, periods,
//! sampling, stop/flag sets, the baseline and the report.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Output};

fn kensa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensa")).args(args).output().expect("run kensa")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kensa-sim-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const RULES: &str = r#"ruleset s {
  velocity n = count() by card.hash over 1h
  rule big -> block when amount >= 1000
  rule burst -> block when n >= 3
  rule watch -> alert when amount >= 500
  rule off -> block disabled when true
}
"#;

fn ev(id: &str, minute: u32, card: &str, amount: serde_json::Value, score: Option<f64>) -> String {
    json!({"event": {"id": id, "time": format!("2026-01-01T00:{minute:02}:00Z")}, "customer": {"id": format!("c-{id}")},
           "card": {"hash": card}, "amount": amount, "score": score})
    .to_string()
}

/// The history, deliberately not in time order (e4 before e3), with two invalid events.
fn history() -> String {
    [
        ev("e1", 0, "A", json!(100), Some(40.0)),
        ev("e2", 10, "A", json!(1200), Some(90.0)),
        ev("e4", 30, "B", json!(600), None),
        ev("e3", 20, "A", json!(50), Some(61.5)),
        ev("e5", 40, "C", json!(2000), Some(10.0)),
        ev("e7", 45, "C", json!("x"), None),
        ev("e6", 50, "D", json!(10), Some(0.0)),
        json!({"event": {"id": "e8"}, "amount": 5}).to_string(),
    ]
    .join("\n")
}

const LABELS: &str = r#"{"event_id": "e2", "event_type": "CHARGEBACK", "reason": "Card Reported Stolen", "value": 20}
{"event_id": "e3", "event_type": "CHARGEBACK"}
{"event_id": "e3", "event_type": "CHARGEBACK_REVERSE"}
{"event_id": "e4", "event_type": "FRAUD_NOTIFICATION"}
{"event_id": "e6", "event_type": "REFUND"}
{"event_id": "e6", "event_type": "CHARGEBACK_ALERT"}
{"event_id": "e99", "event_type": "CHARGEBACK"}
"#;

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let d = dir(name);
        std::fs::write(d.join("rules.kensa"), RULES).unwrap();
        std::fs::write(d.join("history.jsonl"), history()).unwrap();
        std::fs::write(d.join("labels.jsonl"), LABELS).unwrap();
        Files { dir: d }
    }
    fn p(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
    fn run(&self, extra: &[&str]) -> (Output, serde_json::Value, String) {
        let mut args = vec![
            "simulate".to_string(),
            "--rules".into(),
            self.p("rules.kensa"),
            "--history".into(),
            self.p("history.jsonl"),
            "--labels".into(),
            self.p("labels.jsonl"),
            "--out".into(),
            self.p("result.csv"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = kensa(&refs);
        let summary = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        let csv = std::fs::read_to_string(self.p("result.csv")).unwrap_or_default();
        (out, summary, csv)
    }
}

#[test]
fn summary_computed_by_hand() {
    let f = Files::new("hand");
    let (out, summary, _) = f.run(&[]);
    assert_eq!(out.status.code(), Some(3), "invalid events make exit 3: {}", String::from_utf8_lossy(&out.stderr));
    let want = json!({
        "events": 6, "reported": 6, "invalid": 2, "labels_unmatched": 1,
        "fraud": {"count": 3, "amount": 1810},
        "decisions": {"block": {"count": 3, "amount": 3250}, "alert": {"count": 1, "amount": 600},
                      "none": {"count": 2, "amount": 110}},
        "stopped": {"count": 3, "amount": 3250, "fraud_count": 1, "fraud_amount": 1200,
                    "precision": 0.3333333333333333, "recall": 0.3333333333333333,
                    "precision_amount": 0.36923076923076925, "recall_amount": 0.6629834254143646},
        "flagged": {"count": 1, "amount": 600, "fraud_count": 1, "fraud_amount": 600,
                    "precision": 1, "recall": 0.3333333333333333, "precision_amount": 1, "recall_amount": 0.3314917127071823},
        "rules": [
            {"id": "big", "hits": 2, "fraud_hits": 1, "precision": 0.5, "unique_catches": 0},
            {"id": "burst", "hits": 1, "fraud_hits": 0, "precision": 0, "unique_catches": 0},
            {"id": "watch", "hits": 3, "fraud_hits": 2, "precision": 0.6666666666666666, "unique_catches": 1},
            {"id": "off", "hits": 0, "fraud_hits": 0, "precision": null, "unique_catches": 0}
        ]
    });
    assert_eq!(summary, want);
}

#[test]
fn result_csv_byte_for_byte() {
    let f = Files::new("csv");
    let (_, _, csv) = f.run(&[]);
    let want = concat!(
        "\"event_id\",\"event_time\",\"customer_id\",\"amount\",\"score\",\"score_level\",\"chargeback\",\"code\",\"decision\",\"matched\",\"skip_scoring\"\r\n",
        "\"e1\",\"2026-01-01T00:00:00.000Z\",\"c-e1\",\"100\",\"40\",\"low\",\"\",\"1\",\"none\",\"\",\"0\"\r\n",
        "\"e2\",\"2026-01-01T00:10:00.000Z\",\"c-e2\",\"1200\",\"90\",\"high\",\"1\",\"30\",\"block\",\"big|watch\",\"0\"\r\n",
        "\"e3\",\"2026-01-01T00:20:00.000Z\",\"c-e3\",\"50\",\"61.5\",\"medium\",\"\",\"30\",\"block\",\"burst\",\"0\"\r\n",
        "\"e4\",\"2026-01-01T00:30:00.000Z\",\"c-e4\",\"600\",\"\",\"none\",\"1\",\"10\",\"alert\",\"watch\",\"0\"\r\n",
        "\"e5\",\"2026-01-01T00:40:00.000Z\",\"c-e5\",\"2000\",\"10\",\"low\",\"\",\"30\",\"block\",\"big|watch\",\"0\"\r\n",
        "\"e6\",\"2026-01-01T00:50:00.000Z\",\"c-e6\",\"10\",\"0\",\"low\",\"1\",\"1\",\"none\",\"\",\"0\"\r\n",
    );
    assert_eq!(csv, want);
}

#[test]
fn period_includes_its_start_and_excludes_its_end() {
    let f = Files::new("period");
    let (_, s, csv) = f.run(&["--from", "2026-01-01T00:10:00Z", "--to", "2026-01-01T00:40:00Z"]);
    assert_eq!(s["events"], 6);
    assert_eq!(s["reported"], 3);
    let ids: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids, ["\"e2\"", "\"e3\"", "\"e4\""]);
    // Velocities still saw the earlier event: e3 is the third on card A.
    assert!(csv.contains("\"burst\""));
}

#[test]
fn sampling_is_reproducible_per_seed() {
    let f = Files::new("sample");
    let rows = |seed: &str| {
        let (_, s, csv) = f.run(&["--sample", "3", "--seed", seed]);
        assert_eq!(s["reported"], 3);
        csv
    };
    let a = rows("7");
    assert_eq!(a, rows("7"));
    let differs = ["1", "2", "3", "4", "5", "6"].iter().any(|s| rows(s) != a);
    assert!(differs, "every seed gave the same sample");
    // Rows stay in replay order.
    let times: Vec<String> = a.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let (_, s, _) = f.run(&["--sample", "100"]);
    assert_eq!(s["reported"], 6);
}

#[test]
fn stop_and_flag_sets() {
    let f = Files::new("stopflag");
    let (_, s, _) = f.run(&["--stop", "alert", "--flag", "block"]);
    assert_eq!(s["stopped"]["count"], 1);
    assert_eq!(s["flagged"]["count"], 3);
    let (out, _, _) = f.run(&["--stop", "blok"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn baseline_comparison() {
    let f = Files::new("baseline");
    std::fs::write(f.dir.join("base.kensa"), "ruleset b { rule big -> block when amount >= 500 }").unwrap();
    let (out, s, _) = f.run(&["--baseline", &f.p("base.kensa")]);
    assert_eq!(out.status.code(), Some(3));
    let b = &s["baseline"];
    // The baseline stops e2, e4, e5; the candidate e2, e3, e5.
    assert_eq!(b["stopped_only_candidate"]["count"], 1);
    assert_eq!(b["stopped_only_candidate"]["amount"], 50);
    assert_eq!(b["stopped_only_baseline"]["count"], 1);
    assert_eq!(b["stopped_only_baseline"]["fraud_count"], 1);
    assert_eq!(b["flagged_only_candidate"]["count"], 1);
    assert_eq!(b["decision_changed"], 2);
}

/// A baseline that declares a field the candidate does not decodes each
/// line itself, whether the history streams in order or is ordered first.
#[test]
fn a_baseline_with_other_fields_reads_them_from_each_line() {
    for in_order in [true, false] {
        let f = Files::new(if in_order { "otherschema-streamed" } else { "otherschema-ordered" });
        let event = |id: &str, minute: u32, mcc: Option<&str>| {
            let mut e = json!({"event": {"id": id, "time": format!("2026-01-01T00:{minute:02}:00Z")},
                               "card": {"hash": id}, "amount": 100});
            if let Some(mcc) = mcc {
                e["merchant"] = json!({"mcc": mcc});
            }
            e.to_string()
        };
        let mut lines = [event("e1", 0, None), event("e2", 1, Some("7995")), event("e3", 2, Some("7995")), event("e4", 3, Some("5411"))];
        if !in_order {
            lines.swap(1, 2);
        }
        std::fs::write(f.dir.join("history.jsonl"), lines.join("\n")).unwrap();
        std::fs::write(
            f.dir.join("base.kensa"),
            "ruleset b { field merchant.mcc: string rule gambling -> block when merchant.mcc == \"7995\" }",
        )
        .unwrap();
        let (out, s, _) = f.run(&["--baseline", &f.p("base.kensa")]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(s["baseline"]["stopped_only_baseline"]["count"], 2, "in order: {in_order}: {s}");
        assert_eq!(s["baseline"]["stopped_only_candidate"]["count"], 0);
    }
}

/// A baseline of the same schema decides the candidate's records: a field
/// only the baseline reads (here `device.id`) is decoded for it too,
/// whether the history streams in order or is ordered first.
#[test]
fn a_baseline_reads_fields_the_candidate_does_not() {
    for in_order in [true, false] {
        let f = Files::new(if in_order { "baseline-fields-streamed" } else { "baseline-fields-ordered" });
        let event = |id: &str, minute: u32, device: &str| {
            json!({"event": {"id": id, "time": format!("2026-01-01T00:{minute:02}:00Z")},
                   "card": {"hash": id}, "amount": 100, "device": {"id": device}})
            .to_string()
        };
        let mut lines = [event("e1", 0, "d-bad"), event("e2", 1, "d-ok"), event("e3", 2, "d-bad")];
        if !in_order {
            lines.swap(0, 1);
        }
        std::fs::write(f.dir.join("history.jsonl"), lines.join("\n")).unwrap();
        std::fs::write(f.dir.join("base.kensa"), "ruleset b { rule device -> block when device.id == \"d-bad\" }").unwrap();
        let (out, s, _) = f.run(&["--baseline", &f.p("base.kensa")]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(s["baseline"]["stopped_only_baseline"]["count"], 2, "in order: {in_order}: {s}");
        assert_eq!(s["baseline"]["stopped_only_candidate"]["count"], 0);
    }
}

#[test]
fn bad_inputs() {
    let f = Files::new("bad");
    let (out, _, _) = f.run(&["--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(f.dir.join("labels.jsonl"), "{\"event_id\": 5}\n").unwrap();
    let (out, _, _) = f.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    let out = kensa(&["simulate", "--rules", &f.p("rules.kensa"), "--history", "/nonexistent", "--out", &f.p("r.csv")]);
    assert_eq!(out.status.code(), Some(2));
}

/// The result is written on a thread of its own: a write that fails
/// (here a full device), at the end or while events are still being
/// decided, is an error naming the file, never a silent success.
#[test]
fn a_result_that_cannot_be_written_is_an_error() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let f = Files::new("full");
    let many: Vec<String> = (0..5_000)
        .map(|i| {
            json!({"event": {"id": format!("m{i}"), "time": 1_767_225_600_000i64 + i * 1000}, "card": {"hash": format!("k{}", i % 7)}, "amount": i})
                .to_string()
        })
        .collect();
    std::fs::write(f.dir.join("many.jsonl"), many.join("\n")).unwrap();
    for history in ["history.jsonl", "many.jsonl"] {
        let out = kensa(&["simulate", "--rules", &f.p("rules.kensa"), "--history", &f.p(history), "--out", "/dev/full"]);
        assert_eq!(out.status.code(), Some(2), "{history}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("/dev/full: error: cannot write the result"), "{history}: {err}");
        assert!(out.stdout.is_empty(), "{history}: a summary was printed");
    }
}

#[test]
fn report_is_self_contained_html_with_charts_and_rule_table() {
    let f = Files::new("report");
    let (out, _, _) = f.run(&["--report", &f.p("report.html")]);
    assert_eq!(out.status.code(), Some(3));
    let html = std::fs::read_to_string(f.p("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.matches("<svg").count() >= 4, "charts missing");
    assert!(html.contains("<table id=\"rules\" class=\"sortable\">"));
    assert!(html.contains("<td>burst</td>"));
    assert!(!html.contains("http://") || html.matches("http://").all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")));
    assert!(!html.contains("<script src") && !html.contains("<link"));
}
