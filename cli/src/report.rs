//! The backtest's HTML report: one self-contained file (inline SVG charts
//! drawn by charts-rs, inline CSS and a few lines of inline script to sort
//! the rule table; nothing fetched from the network).

// Indexing a `serde_json::Value` by key yields `Null` for a missing key and
// never panics; the lint cannot tell it from slice indexing.
#![allow(clippy::indexing_slicing)]

use charts_rs::{BarChart, Series};
use kensa_runtime::simulate::Tally;
use serde_json::Value as Json;
use std::fmt::Write as _;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0).map_or_else(|| day.to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// A stacked bar chart, one bar per day; `value` reads a day's figure for a series.
fn stacked_by_day(tally: &Tally, title: &str, series: &[String], value: impl Fn(&kensa_runtime::simulate::DayTally, &str) -> f64) -> String {
    let days: Vec<String> = tally.days.keys().map(|d| day_label(*d)).collect();
    let list: Vec<Series> = series
        .iter()
        .map(|name| {
            #[allow(clippy::cast_possible_truncation)] // chart coordinates
            let data: Vec<f32> = tally.days.values().map(|d| value(d, name) as f32).collect();
            let mut s = Series::new(name.clone(), data);
            s.stack = Some("day".to_string());
            s
        })
        .collect();
    chart_svg(BarChart::new(list, days), title)
}

fn chart_svg(mut chart: BarChart, title: &str) -> String {
    chart.title.text = title.to_string();
    chart.width = 900.0;
    chart.height = 360.0;
    chart.svg().unwrap_or_else(|e| format!("<p>chart not drawn: {}</p>", esc(&e.to_string())))
}

fn num(v: &Json) -> String {
    match v {
        Json::Null => "–".to_string(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 && f.abs() < 10.0 => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => esc(&other.to_string()),
    }
}

/// Renders the report.
pub fn render(rules_name: &str, summary: &Json, tally: &Tally, baseline: Option<&Tally>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kensa backtest: {}</title>\n<style>{}</style></head><body>\n",
        esc(rules_name),
        STYLE
    );
    let _ = writeln!(h, "<h1>Backtest of <code>{}</code></h1>", esc(rules_name));
    let _ = writeln!(
        h,
        "<p id=\"counts\">{} events replayed, {} reported, {} invalid, {} labels naming no event; fraud: {} events, amount {}.</p>",
        num(&summary["events"]),
        num(&summary["reported"]),
        num(&summary["invalid"]),
        num(&summary["labels_unmatched"]),
        num(&summary["fraud"]["count"]),
        num(&summary["fraud"]["amount"])
    );

    h.push_str("<h2>Precision and recall</h2>\n<table id=\"quality\"><thead><tr><th></th><th>events</th><th>amount</th><th>fraud</th><th>fraud amount</th><th>precision</th><th>recall</th><th>precision (amount)</th><th>recall (amount)</th></tr></thead><tbody>\n");
    for (label, key) in [("stopped", "stopped"), ("flagged", "flagged")] {
        let g = &summary[key];
        let _ = writeln!(
            h,
            "<tr><th>{label}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            num(&g["count"]),
            num(&g["amount"]),
            num(&g["fraud_count"]),
            num(&g["fraud_amount"]),
            num(&g["precision"]),
            num(&g["recall"]),
            num(&g["precision_amount"]),
            num(&g["recall_amount"])
        );
    }
    h.push_str("</tbody></table>\n");

    let outcomes: Vec<String> = tally.outcome_order.iter().filter(|o| tally.decisions.contains_key(*o)).cloned().collect();
    h.push_str("<h2>Decisions per day</h2>\n<div class=\"chart\" id=\"chart-decisions\">");
    h.push_str(&stacked_by_day(tally, "Events per day by decision", &outcomes, |d, o| {
        d.decisions.get(o).map_or(0.0, |c| c.count as f64)
    }));
    h.push_str("</div>\n<div class=\"chart\" id=\"chart-amounts\">");
    h.push_str(&stacked_by_day(tally, "Amount per day by decision", &outcomes, |d, o| {
        d.decisions.get(o).map_or(0.0, |c| c.amount)
    }));
    h.push_str("</div>\n<h2>Fraud stopped and missed</h2>\n<div class=\"chart\" id=\"chart-fraud\">");
    let fraud_series = ["stopped".to_string(), "missed".to_string()];
    h.push_str(&stacked_by_day(tally, "Fraud events per day", &fraud_series, |d, which| {
        if which == "stopped" {
            d.fraud_stopped.count as f64
        } else {
            d.fraud_missed.count as f64
        }
    }));
    h.push_str("</div>\n<h2>Score levels</h2>\n<div class=\"chart\" id=\"chart-scores\">");
    let levels: Vec<String> = ["high", "medium", "low", "none"].iter().map(|s| (*s).to_string()).collect();
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let counts: Vec<f32> = levels.iter().map(|l| tally.score_levels.get(l).copied().unwrap_or(0) as f32).collect();
    h.push_str(&chart_svg(BarChart::new(vec![Series::new("events".to_string(), counts)], levels), "Events by score level"));
    h.push_str("</div>\n");

    h.push_str("<h2>Rules</h2>\n<p>Click a column heading to sort.</p>\n<table id=\"rules\" class=\"sortable\"><thead><tr><th>rule</th><th>hits</th><th>fraud hits</th><th>precision</th><th>unique catches</th></tr></thead><tbody>\n");
    for r in summary["rules"].as_array().into_iter().flatten() {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r["id"].as_str().unwrap_or("")),
            num(&r["hits"]),
            num(&r["fraud_hits"]),
            num(&r["precision"]),
            num(&r["unique_catches"])
        );
    }
    h.push_str("</tbody></table>\n");

    if let (Some(b), Some(cmp)) = (baseline, summary.get("baseline")) {
        h.push_str("<h2>Against the baseline</h2>\n<table id=\"baseline\"><thead><tr><th></th><th>events</th><th>amount</th><th>fraud</th><th>fraud amount</th></tr></thead><tbody>\n");
        for (label, key) in [
            ("stopped by the candidate only", "stopped_only_candidate"),
            ("stopped by the baseline only", "stopped_only_baseline"),
            ("flagged by the candidate only", "flagged_only_candidate"),
            ("flagged by the baseline only", "flagged_only_baseline"),
        ] {
            let g = &cmp[key];
            let _ = writeln!(
                h,
                "<tr><th>{label}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                num(&g["count"]),
                num(&g["amount"]),
                num(&g["fraud_count"]),
                num(&g["fraud_amount"])
            );
        }
        let _ = writeln!(h, "</tbody></table>\n<p>{} events decided differently; the baseline stopped {} events.</p>", num(&cmp["decision_changed"]), b.stopped.all.count);
    }
    h.push_str("<script>");
    h.push_str(SORT_SCRIPT);
    h.push_str("</script>\n</body></html>\n");
    h
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}\
table.sortable th{cursor:pointer;background:#f3f3f3}.chart{margin:1em 0}";

const SORT_SCRIPT: &str = "document.querySelectorAll('table.sortable').forEach(function(t){\
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){\
var b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\
rows.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,na=parseFloat(a),nc=parseFloat(c);\
var r=(isNaN(na)||isNaN(nc))?a.localeCompare(c):na-nc;return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});});});});";
