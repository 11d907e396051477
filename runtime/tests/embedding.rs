//! The embedding API: deploys, hot swaps under load, list replacement,
//! failed updates, shadow candidates, scorers, counters, velocity snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use kensa_compiler::value::Value;
use kensa_runtime::{DecideOptions, Decision, DeployError, Engine, Evaluator, Record, VelocityStore};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const EXPLAIN: DecideOptions = DecideOptions { dry_run: false, explain: true };
const DRY_EXPLAIN: DecideOptions = DecideOptions { dry_run: true, explain: true };

fn event(time: i64, card: &str, ip: &str, amount: f64) -> String {
    json!({"event": {"id": format!("e{time}"), "time": time}, "card": {"hash": card, "bin": "411111"},
           "ip": {"address": ip}, "amount": amount, "customer": {"id": "c1"}})
    .to_string()
}

fn decide(e: &Engine, line: &str) -> Decision {
    e.decide_json(line.as_bytes(), EXPLAIN).unwrap()
}

fn matched(d: &Decision) -> Vec<String> {
    d.matched.iter().map(|m| m.to_string()).collect()
}

/// The value the explain of matched rule `rule` shows for `name`.
fn read(d: &Decision, rule: &str, name: &str) -> Value {
    let explain = d.explain.as_ref().unwrap();
    let x = explain.iter().find(|x| x.rule == rule).unwrap_or_else(|| panic!("{rule} did not match: {d:?}"));
    x.reads.iter().find(|(n, _)| n == name).unwrap().1.clone()
}

/// A file path in a fresh temporary directory.
fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("kensa-embed-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Version `n` of a rule set whose only always-matching rule names it.
fn versioned(n: usize) -> String {
    format!(
        "ruleset r {{
           list bins: prefix
           velocity cards = count_distinct(card.hash) by ip.address over 1h
           rule v{n} -> alert when true
           rule listed -> block when card.bin in bins
           rule testing -> block when cards > 1000000
         }}"
    )
}

#[test]
fn decisions_never_fail_and_each_comes_from_one_version_while_rules_and_lists_swap() {
    let engine = Arc::new(Engine::builder().list("bins", "4111").build("v0.kensa", &versioned(0)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (engine, stop) = (Arc::clone(&engine), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last_version = 0usize;
                let mut decided = 0usize;
                let mut i = 0i64;
                while !stop.load(Ordering::Relaxed) || decided < 1000 {
                    i += 1;
                    let line = event(i, &format!("card{w}-{}", i % 50), &format!("10.0.{w}.{}", i % 7), 10.0);
                    let d = engine.decide_json(line.as_bytes(), DecideOptions::default()).expect("no decision fails");
                    // Exactly one version rule matched, and versions only go forward.
                    let versions: Vec<usize> =
                        d.matched.iter().filter_map(|m| m.strip_prefix('v')).map(|n| n.parse().unwrap()).collect();
                    assert_eq!(versions.len(), 1, "{d:?}");
                    // Rule `vN` is in version N + 1 (the first rule set is version 1).
                    assert_eq!(d.version.0, versions[0] as u64 + 1, "{d:?}");
                    assert!(versions[0] >= last_version, "went back from v{last_version} to v{}", versions[0]);
                    last_version = versions[0];
                    // The list is either the old or the new content, never empty or half.
                    assert!(d.matched.iter().any(|m| &**m == "listed") || d.outcome.as_ref() == "alert", "{d:?}");
                    decided += 1;
                }
                decided
            })
        })
        .collect();
    let mut swaps = 0;
    for n in 1..=40 {
        let v = engine.deploy(&format!("v{n}.kensa"), &versioned(n)).unwrap();
        assert_eq!(engine.active_version(), v);
        swaps += 1;
        // "4111" and "41" both match every event's BIN 411111.
        engine.lists().replace("bins", if n % 2 == 0 { b"4111\n" } else { b"41\n5555\n" }).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    stop.store(true, Ordering::Relaxed);
    let decided: usize = workers.into_iter().map(|w| w.join().expect("a worker panicked")).sum();
    let counters = engine.counters();
    assert_eq!(counters.swaps, swaps);
    assert_eq!(counters.list_swaps, 40);
    assert_eq!(counters.decisions, decided as u64);
    assert_eq!(counters.outcomes.get("block").copied(), Some(decided as u64));
    assert_eq!(counters.rule_hits.get("listed").copied(), Some(decided as u64));
    let per_version: u64 = counters.rule_hits.iter().filter(|(k, _)| k.starts_with('v')).map(|(_, n)| n).sum();
    assert_eq!(per_version, decided as u64, "every decision counted under exactly one version");
    // Every retired version is released once no decision holds it: only
    // the active one stays alive (the reaper drops them within milliseconds).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while engine.counters().live_versions > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(engine.counters().live_versions, 1);
    // The velocity windows survived all 40 deploys: one series, every key.
    assert_eq!(engine.velocity_stats().keys, 4 * 7);
}

#[test]
fn a_deploy_keeps_the_windows_of_unchanged_velocities_and_starts_new_ones_empty() {
    let v1 = "ruleset r { velocity n = count() by card.hash over 1h rule r -> alert when n > 0 }";
    let v2 = "ruleset r { velocity n = count() by card.hash over 1h
                velocity m = count() by card.hash over 2h
                rule r -> alert when n > 0 and m > 0 }";
    let engine = Engine::builder().build("v1", v1).unwrap();
    for t in 0..3 {
        decide(&engine, &event(t, "a", "10.0.0.1", 5.0));
    }
    engine.deploy("v2", v2).unwrap();
    let d = decide(&engine, &event(10, "a", "10.0.0.1", 5.0));
    assert_eq!(read(&d, "r", "n"), Value::Number(4.0));
    assert_eq!(read(&d, "r", "m"), Value::Number(1.0));
}

/// The lanes of the velocity group keyed by `path`: `(series, window_ms)`.
fn lanes_of(engine: &Engine, path: &str) -> Vec<(String, i64)> {
    let group = engine.velocity_store().find_group(&[path.to_string()]).unwrap();
    group.lanes().into_iter().map(|l| (l.series, l.window_ms)).collect()
}

#[test]
fn velocities_recording_the_same_events_share_one_lane() {
    // Three velocities of the amount, over three windows, and three that
    // read only times: one lane holds them all, kept for the longest window.
    let src = "ruleset r {
        velocity avg_90d = avg(amount) by customer.id over 90d excluding current
        velocity last_amount = last(amount) by customer.id over 365d
        velocity big_1h = max(amount) by customer.id over 1h
        velocity tx_60s = count() by customer.id over 60s
        velocity last_time = last(event.time) by customer.id over 365d
        velocity first_1d = min(event.time) by customer.id over 1d
        velocity tx_2y = count() by customer.id over 730d
        velocity cards = count_distinct(card.hash) by customer.id over 1h where amount > 1
        rule r -> alert when avg_90d is missing or last_amount is missing or big_1h > 0 or tx_60s > 0
          or last_time is missing or first_1d is missing or tx_2y > 0 or cards > 0 }";
    let engine = Engine::builder().build("r", src).unwrap();
    let day = 86_400_000i64;
    assert_eq!(
        lanes_of(&engine, "customer.id"),
        vec![
            ("of(amount) by(customer.id) where()".to_string(), 365 * day),
            ("of(card.hash) by(customer.id) where(amount > 1)".to_string(), 3_600_000),
            // Longer than any lane of the same events: a lane of times.
            ("of() by(customer.id) where()".to_string(), 730 * day),
        ]
    );
    for (t, amount) in [(0, 10.0), (1_000, 30.0), (2 * day, 20.0)] {
        decide(&engine, &event(t, "k1", "10.0.0.1", amount));
    }
    let d = decide(&engine, &event(2 * day + 30_000, "k1", "10.0.0.1", 40.0));
    assert_eq!(read(&d, "r", "avg_90d"), Value::Number(20.0));
    assert_eq!(read(&d, "r", "last_amount"), Value::Number(20.0));
    assert_eq!(read(&d, "r", "big_1h"), Value::Number(40.0));
    assert_eq!(read(&d, "r", "tx_60s"), Value::Number(2.0));
    assert_eq!(read(&d, "r", "last_time"), Value::Timestamp(2 * day));
    assert_eq!(read(&d, "r", "first_1d"), Value::Timestamp(2 * day));
    assert_eq!(read(&d, "r", "tx_2y"), Value::Number(4.0));
    assert_eq!(read(&d, "r", "cards"), Value::Number(1.0));
}

#[test]
fn a_count_keeps_its_windows_when_the_velocity_whose_lane_it_read_is_removed_or_added() {
    let both = "ruleset r { velocity cards = count_distinct(card.hash) by ip.address over 1h
                velocity n = count() by ip.address over 1h
                rule r -> alert when cards > 0 and n > 0 }";
    let count_only = "ruleset r { velocity n = count() by ip.address over 1h rule r -> alert when n > 0 }";
    let engine = Engine::builder().build("v1", both).unwrap();
    assert_eq!(lanes_of(&engine, "ip.address").len(), 1, "the count reads the cards' lane");
    for t in 0..3 {
        decide(&engine, &event(t, &format!("k{t}"), "10.0.0.1", 5.0));
    }
    engine.deploy("v2", count_only).unwrap();
    let d = decide(&engine, &event(10, "k9", "10.0.0.1", 5.0));
    assert_eq!(read(&d, "r", "n"), Value::Number(4.0), "the deploy kept the count's windows");
    engine.deploy("v3", both).unwrap();
    let d = decide(&engine, &event(20, "k0", "10.0.0.1", 5.0));
    assert_eq!(read(&d, "r", "n"), Value::Number(5.0), "and so did the next one");
    // The lane v2 recorded without card hashes: what v1 recorded, then
    // nothing for v2's event, then this one.
    assert_eq!(read(&d, "r", "cards"), Value::Number(3.0));

    // A count deployed first keeps its own lane when a velocity it could
    // share is added; the new velocity starts empty.
    let engine = Engine::builder().build("v1", count_only).unwrap();
    for t in 0..3 {
        decide(&engine, &event(t, &format!("k{t}"), "10.0.0.1", 5.0));
    }
    engine.deploy("v2", both).unwrap();
    let d = decide(&engine, &event(10, "k9", "10.0.0.1", 5.0));
    assert_eq!(read(&d, "r", "n"), Value::Number(4.0));
    assert_eq!(read(&d, "r", "cards"), Value::Number(1.0));
}

#[test]
fn failed_deploys_and_list_loads_change_nothing() {
    let src = "ruleset r { list ips: ip rule bad_ip -> block when ip.address in ips }";
    let engine = Engine::builder().list("ips", "10.0.0.0/8").build("r.kensa", src).unwrap();
    let before = engine.active_version();
    let blocked = || engine.decide_json(event(1, "a", "10.1.2.3", 1.0).as_bytes(), DecideOptions::default()).unwrap();
    assert_eq!(&*blocked().outcome, "block");

    // A rule set that does not check: the diagnostics name the file, line and column.
    let err = engine.deploy("next.kensa", "ruleset r {\n  rule x -> block when amount > \"a\"\n}").unwrap_err();
    let DeployError::Rules { rendered, diagnostics } = &err else { panic!("{err:?}") };
    assert!(!diagnostics.is_empty());
    assert!(rendered.starts_with("next.kensa:2:"), "{rendered}");
    // A rule set that needs a list nobody loaded.
    let err = engine.deploy("next.kensa", "ruleset r { list other: string rule x -> block when campaign in other }").unwrap_err();
    assert!(matches!(&err, DeployError::List(e) if e.message.contains("`other` is not loaded")), "{err}");
    // A list file with a bad line: rejected whole, naming the line.
    let err = engine.lists().replace("ips", b"192.168.0.1\nnot-an-ip\n").unwrap_err();
    assert!(err.message.contains("line 2"), "{}", err.message);

    assert_eq!(engine.active_version(), before);
    assert_eq!(&*blocked().outcome, "block", "the old list content stays");
    let c = engine.counters();
    assert_eq!((c.swaps, c.list_swaps, c.failed_updates), (0, 0, 3));

    // A good replacement applies without recompiling: same version.
    engine.lists().replace("ips", b"192.168.0.1\n").unwrap();
    assert_eq!(engine.active_version(), before);
    assert_eq!(&*blocked().outcome, "none");
}

#[test]
fn lists_load_from_the_lists_directory_and_a_list_given_early_waits_for_its_rule_set() {
    let dir = temp_path("lists");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ips.txt"), "10.0.0.0/8\n").unwrap();
    let engine = Engine::builder()
        .lists_dir(&dir)
        .build("a", "ruleset r { list ips: ip rule bad_ip -> block when ip.address in ips }")
        .unwrap();
    assert_eq!(&*decide(&engine, &event(1, "a", "10.0.0.9", 1.0)).outcome, "block");
    // Given before any rule set declares it; parsed at the deploy that does.
    engine.lists().replace("cards", b"a\nb\n").unwrap();
    engine
        .deploy("b", "ruleset r { list ips: ip list cards: string rule c -> block when card.hash in cards }")
        .unwrap();
    assert_eq!(&*decide(&engine, &event(2, "b", "1.1.1.1", 1.0)).outcome, "block");
    assert_eq!(engine.lists().names(), vec!["cards".to_string(), "ips".to_string()]);
}

#[test]
fn a_record_built_for_an_older_schema_is_read_by_path() {
    let v1 = "ruleset r { field merchant.mcc: string rule m -> block when merchant.mcc == \"7995\" }";
    let v2 = "ruleset r { field shop.tier: number field merchant.mcc: string rule m -> alert when merchant.mcc == \"7995\" }";
    let engine = Engine::builder().build("v1", v1).unwrap();
    let mut record = engine.new_record();
    record.set_path("merchant.mcc", Value::str("7995")).unwrap();
    record.set_path("event.time", Value::Timestamp(5)).unwrap();
    assert!(record.set_path("merchant.mcc", Value::number(1.0)).is_err());
    assert_eq!(&*engine.decide(&record, DecideOptions::default()).outcome, "block");
    engine.deploy("v2", v2).unwrap();
    // merchant.mcc moved to another slot in v2: the old record still reads it.
    assert_eq!(&*engine.decide(&record, DecideOptions::default()).outcome, "alert");
}

#[test]
fn the_scorer_runs_only_when_scoring_is_not_skipped_and_a_panic_reads_as_no_score() {
    let src = "ruleset r {
      rule trusted -> allow skip_scoring when customer.id == \"vip\"
      rule risky -> block when score > 80
    }";
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let engine = Engine::builder()
        .scorer(move |r: &Record| {
            counted.fetch_add(1, Ordering::Relaxed);
            match r.get(kensa_compiler::schema::FieldId(3)) {
                Value::Number(n) if *n < 0.0 => panic!("the model failed"),
                Value::Number(n) => Some(*n),
                _ => None,
            }
        })
        .build("r", src)
        .unwrap();
    let d = decide(&engine, &json!({"event": {"time": 1}, "amount": 90, "score": 1}).to_string());
    assert_eq!((&*d.outcome, d.score), ("block", Some(90.0)), "the host's score replaces the event's");
    let d = decide(&engine, &json!({"event": {"time": 2}, "amount": 90, "customer": {"id": "vip"}}).to_string());
    assert_eq!((&*d.outcome, d.score), ("allow", None));
    assert_eq!(calls.load(Ordering::Relaxed), 1, "not asked when a phase-1 rule skipped scoring");
    let d = decide(&engine, &json!({"event": {"time": 3}, "amount": -5}).to_string());
    assert_eq!((&*d.outcome, d.score), ("none", None));
}

#[test]
fn counters_count_outcomes_rule_hits_and_invalid_events() {
    let engine = Engine::builder().build("r", "ruleset r { rule big -> block when amount > 100 rule any -> alert when amount > 0 }").unwrap();
    decide(&engine, &event(1, "a", "1.1.1.1", 500.0));
    decide(&engine, &event(2, "a", "1.1.1.1", 50.0));
    engine.dry_run(&engine.decode(event(3, "a", "1.1.1.1", 0.0).as_bytes()).unwrap());
    assert!(engine.decide_json(b"{\"amount\": \"x\"}", DecideOptions::default()).is_err());
    let c = engine.counters();
    assert_eq!(c.decisions, 3);
    assert_eq!(c.invalid_events, 1);
    assert_eq!(c.outcomes, BTreeMap::from([("alert".into(), 1), ("block".into(), 1), ("none".into(), 1)]));
    assert_eq!(c.rule_hits, BTreeMap::from([("any".into(), 2), ("big".into(), 1)]));
}

const PRODUCTION: &str = "ruleset r {
  velocity cards = count_distinct(card.hash) by ip.address over 1h
  rule testing -> block when cards > 3
}";

/// Shares `cards` with production (same definition) and adds its own velocity.
const CANDIDATE: &str = "ruleset r {
  velocity cards = count_distinct(card.hash) by ip.address over 1h
  velocity spend = sum(amount) by ip.address over 1h
  rule testing -> block when cards > 2
  rule spending -> alert when spend > 100
}";

#[test]
fn a_shadow_candidate_never_changes_decisions_nor_production_state() {
    let plain = Engine::builder().build("p", PRODUCTION).unwrap();
    let shadowed = Engine::builder().shadow_samples(3).build("p", PRODUCTION).unwrap();
    let v = shadowed.deploy_shadow("c", CANDIDATE).unwrap();
    assert_eq!(shadowed.active_version().0, 1);
    let events: Vec<String> = (0..40).map(|i| event(i * 1000, &format!("card{}", i % 7), &format!("10.0.0.{}", i % 3), 40.0)).collect();
    for e in &events {
        assert_eq!(decide(&plain, e), decide(&shadowed, e), "the shadow changed a decision on {e}");
    }
    // Production state is exactly what it is without the shadow.
    assert_eq!(plain.velocity_stats(), shadowed.velocity_stats());
    assert_eq!(plain.velocity_store().groups()[0].lanes(), shadowed.velocity_store().groups()[0].lanes());

    let report = shadowed.shadow_report().unwrap();
    assert_eq!(report.version, v);
    assert_eq!(report.decisions, 40);
    assert_eq!(report.pairs.values().sum::<u64>(), 40);
    assert!(report.differences > 0);
    assert_eq!(report.samples.len(), 3, "samples are bounded");
    for s in &report.samples {
        assert_ne!((&s.active.outcome, &s.active.matched), (&s.candidate.outcome, &s.candidate.matched));
    }
    // The candidate read production's `cards` and kept its own `spend`: on
    // the 4th event of an IP it sees 3 cards (as production does) and 160 spent.
    let pair = report.pairs.get(&("none".to_string(), "block".to_string())).copied().unwrap_or(0);
    assert!(pair > 0, "{:?}", report.pairs);
    let stopped = shadowed.stop_shadow().unwrap();
    assert_eq!(stopped.decisions, 40);
    assert!(shadowed.shadow_report().is_none());
    assert_eq!(shadowed.counters().decisions, 40, "shadow decisions are not counted as decisions");
}

#[test]
fn a_shadow_reads_production_windows_as_the_active_version_does() {
    let engine = Engine::builder().build("p", PRODUCTION).unwrap();
    engine.deploy_shadow("c", CANDIDATE).unwrap();
    for i in 0..3 {
        decide(&engine, &event(i, &format!("k{i}"), "10.9.9.9", 60.0));
    }
    // Production: 4 cards > 3 blocks. The candidate also blocks (4 > 2) and alerts on 240 > 100.
    let d = decide(&engine, &event(3, "k3", "10.9.9.9", 60.0));
    assert_eq!(read(&d, "testing", "cards"), Value::Number(4.0));
    let report = engine.shadow_report().unwrap();
    let last = report.samples.last().unwrap();
    assert_eq!(last.active.event_id.as_deref(), Some("e3"));
    assert_eq!(matched(&last.candidate), vec!["testing", "spending"]);
}

#[test]
fn snapshots_are_rejected_when_truncated_altered_or_foreign() {
    let engine = Engine::builder().build("p", PRODUCTION).unwrap();
    for i in 0..20 {
        decide(&engine, &event(i, &format!("c{}", i % 5), &format!("10.0.0.{}", i % 4), 1.0));
    }
    let path = temp_path("state.kvs");
    engine.save_velocities(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let fresh = VelocityStore::new();
    fresh.restore_bytes(&bytes).unwrap();
    assert_eq!(fresh.stats(), engine.velocity_stats());

    let target = VelocityStore::new();
    for cut in [0, 4, 8, 12, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = target.restore_bytes(&bytes[..cut]).unwrap_err();
        assert!(e.message.contains("truncated") || e.message.contains("not a Kensa"), "{cut}: {}", e.message);
    }
    for at in (8..bytes.len()).step_by(7) {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x40;
        assert!(target.restore_bytes(&flipped).is_err(), "a flipped byte at {at} was accepted");
    }
    let e = target.restore_bytes(b"{\"not\": \"a snapshot\"}").unwrap_err();
    assert!(e.message.contains("not a Kensa velocity snapshot"), "{}", e.message);
    let mut future = bytes.clone();
    future[8] = 9;
    assert!(target.restore_bytes(&future).unwrap_err().message.contains("version 9"));
    assert_eq!(target.stats(), Default::default(), "a rejected snapshot left the store untouched");
    // An unreadable file names itself.
    let e = engine.restore_velocities(&temp_path("missing.kvs")).unwrap_err();
    assert!(e.message.contains("missing.kvs"), "{}", e.message);
    // A failed restore keeps what the engine had.
    assert_eq!(engine.velocity_stats(), fresh.stats());
}

/// Velocities of every aggregate over several key groups, for the round trip.
const ALL_AGGREGATES: &str = r#"ruleset r {
  velocity n = count() by card.hash over 10s
  velocity cards = count_distinct(card.hash) by ip.address over 20s
  velocity spend = sum(amount) by ip.address over 20s where amount > 5
  velocity mean = avg(amount) by card.hash, ip.address over 30s excluding current
  velocity low = min(amount) by card.hash over 10s
  velocity high = max(customer.id) by card.hash over 10s
  velocity prev = last(event.time) by card.hash over 1m
  rule show -> alert when true or n > 0 or cards > 0 or spend > 0 or mean > 0 or low > 0 or high == "x" or prev > @2026-01-01T00:00:00Z
}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_restored_snapshot_reads_every_velocity_as_the_original(
        history in proptest::collection::vec((0i64..3_000, 0u8..4, 0u8..3, 0u32..20), 1..80),
        probes in proptest::collection::vec((0i64..3_000, 0u8..4, 0u8..3, 0u32..20), 1..20),
    ) {
        let line = |(dt, card, ip, amount): (i64, u8, u8, u32), t: i64| {
            json!({"event": {"time": t + dt}, "card": {"hash": format!("c{card}")}, "customer": {"id": format!("u{amount}")},
                   "ip": {"address": format!("10.0.0.{ip}")}, "amount": amount}).to_string()
        };
        let original = Engine::builder().evaluator(Evaluator::Interpreter).build("r", ALL_AGGREGATES).unwrap();
        let mut t = 1_700_000_000_000i64;
        for h in &history {
            t += h.0 / 3;
            original.decide_json(line(*h, t).as_bytes(), DecideOptions::default()).unwrap();
        }
        let path = temp_path("round.kvs");
        original.save_velocities(&path).unwrap();
        // A restarted process: restore first, then deploy the rule set.
        let store = Arc::new(VelocityStore::new());
        store.restore_snapshot(&path).unwrap();
        let restarted = Engine::builder().velocity_store(store).build("r", ALL_AGGREGATES).unwrap();
        prop_assert_eq!(restarted.velocity_stats(), original.velocity_stats());
        for p in &probes {
            let l = line(*p, t);
            let a = original.decide_json(l.as_bytes(), DRY_EXPLAIN).unwrap();
            let b = restarted.decide_json(l.as_bytes(), DRY_EXPLAIN).unwrap();
            prop_assert_eq!(a.to_json(), b.to_json());
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn rule_sets_read_the_hosts_fields_without_declaring_them() {
    use kensa_compiler::Schema;
    use kensa_dsl::ast::TypeName;
    let schema = Schema::payment().with_host_field("merchant.mcc", TypeName::String).unwrap();
    let src = r#"ruleset r { rule gambling -> challenge when merchant.mcc == "7995" }"#;
    let engine = Engine::builder().schema(schema).build("r", src).unwrap();
    let mut record = engine.new_record();
    record.set_path("merchant.mcc", Value::str("7995")).unwrap();
    assert_eq!(&*engine.decide(&record, DecideOptions::default()).outcome, "challenge");
    assert_eq!(&*decide(&engine, r#"{"merchant": {"mcc": "7995"}}"#).outcome, "challenge");
    // Declared again with the host's type: accepted.
    engine.deploy("r2", r#"ruleset r { field merchant.mcc: string rule g -> block when merchant.mcc == "7995" }"#).unwrap();
    assert_eq!(&*decide(&engine, r#"{"merchant": {"mcc": "7995"}}"#).outcome, "block");
    // With another type: rejected, naming the host's type.
    let err = engine.deploy("r3", "ruleset r { field merchant.mcc: number rule g -> block when merchant.mcc > 1 }").unwrap_err();
    assert!(err.to_string().contains("declared by the host as string"), "{err}");
    // Without the host's schema the field is unknown.
    assert!(matches!(Engine::builder().build("r", src), Err(DeployError::Rules { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Deciding records in batches of any size gives, decision for
    /// decision and window for window, what deciding them one by one
    /// gives: on velocities of several keys, in dry runs and not, with a
    /// shadow candidate and with a host scorer.
    #[test]
    fn batches_decide_as_records_one_by_one_do(
        events in prop::collection::vec((0i64..5_000, 0usize..3, 0usize..3, 1.0f64..2_000.0), 1..60),
        cuts in prop::collection::vec(1usize..9, 1..20),
        dry_run in any::<bool>(),
        shadow in any::<bool>(),
        scorer in any::<bool>(),
    ) {
        let rules = "ruleset b {
            velocity cards = count_distinct(card.hash) by ip.address over 1h
            velocity spend = sum(amount) by card.hash over 30m
            rule many -> block when cards > 1
            rule big -> alert when spend > 2000
            rule scored -> challenge when score > 50
        }";
        let build = || {
            let mut b = Engine::builder();
            if scorer {
                b = b.scorer(|r: &Record| {
                    let amount = r.schema().lookup("amount").map(|(id, _)| r.get(id));
                    match amount {
                        Some(Value::Number(n)) => Some(n / 20.0),
                        _ => None,
                    }
                });
            }
            let e = b.build("b", rules).unwrap();
            if shadow {
                e.deploy_shadow("s", rules).unwrap();
            }
            e
        };
        let (one_by_one, batched) = (build(), build());
        let mut time = 0;
        let lines: Vec<String> = events
            .iter()
            .map(|&(step, card, ip, amount)| {
                time += step;
                event(time, &format!("c{card}"), &format!("10.0.0.{ip}"), amount)
            })
            .collect();
        let records: Vec<Record> = lines.iter().map(|l| one_by_one.decode(l.as_bytes()).unwrap()).collect();
        let options = DecideOptions { dry_run, explain: true };
        let want: Vec<Decision> = records.iter().map(|r| one_by_one.decide(r, options)).collect();
        let mut got = Vec::new();
        let mut rest = records.as_slice();
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, after) = rest.split_at((*cut).min(rest.len()));
            batched.decide_batch(batch, options, &mut got);
            rest = after;
        }
        let strip = |ds: &[Decision]| ds.iter().map(|d| (d.outcome.to_string(), matched(d), d.score, d.explain.clone())).collect::<Vec<_>>();
        prop_assert_eq!(strip(&got), strip(&want));
        prop_assert_eq!(batched.velocity_stats(), one_by_one.velocity_stats());
    }
}
