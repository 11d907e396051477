//! The simulation report opens in a real headless browser (Debian's
//! chromium, installed by `scripts/test.sh` when missing): the rendered DOM
//! holds the charts and the rule table, and a screenshot is drawn.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

fn headless(browser: &Path, profile: &Path, extra: &[&str], url: &str) -> std::process::Output {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    cmd.args(extra).arg(url);
    cmd.output().expect("run chromium")
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        // The test command installs chromium; only a bare `cargo test` on a
        // machine without it gets here, and CI must not.
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "chromium is missing in CI: scripts/test.sh installs it");
        eprintln!("chromium not installed: browser check not run (scripts/test.sh installs it)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("kensa-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let report = dir.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(["simulate", "--rules"])
        .arg(ex.join("default.kensa"))
        .arg("--lists")
        .arg(ex.join("lists"))
        .arg("--history")
        .arg(ex.join("events.jsonl"))
        .arg("--labels")
        .arg(ex.join("labels.jsonl"))
        .arg("--out")
        .arg(dir.join("result.csv"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let url = format!("file://{}", report.display());

    let dom = headless(&browser, &dir.join("profile-dom"), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg"), "no chart in the rendered page:\n{dom:.2000}");
    for id in ["chart-decisions", "chart-amounts", "chart-fraud", "chart-scores"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(dom.contains("<table id=\"rules\" class=\"sortable\">"));
    assert!(dom.contains("<td>ipaddress_BlockList</td>"));

    let shot = dir.join("report.png");
    headless(&browser, &dir.join("profile-shot"), &[&format!("--screenshot={}", shot.display()), "--window-size=1000,2000"], &url);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot too small: {} bytes", png.len());
}
