//! The Kensa runtime: decoding events into records, loading lists, exact
//! velocity windows, and the engine a host embeds to decide records, hot-swap
//! rule sets and lists, run a shadow candidate and snapshot its velocities.
//!
//! This crate owns everything that happens per event and all state that
//! outlives one event. It never parses rule text itself: a deploy hands the
//! source to `kensa-compiler` and receives a lowered `Program`.
//!
//! ```
//! use kensa_runtime::{DecideOptions, Engine};
//! let engine = Engine::builder()
//!     .build("rules.kensa", r#"ruleset shop {
//!         velocity cards_per_ip = count_distinct(card.hash) by ip.address over 1h
//!         rule many_cards -> block when cards_per_ip > 2
//!     }"#)
//!     .unwrap();
//! for (i, card) in ["a", "b", "c"].iter().enumerate() {
//!     let event = format!(r#"{{"event": {{"time": {i}}}, "ip": {{"address": "10.0.0.1"}}, "card": {{"hash": "{card}"}}}}"#);
//!     let d = engine.decide_json(event.as_bytes(), DecideOptions::default()).unwrap();
//!     assert_eq!(&*d.outcome, if i == 2 { "block" } else { "none" });
//! }
//! ```

pub mod counters;
mod decide;
pub mod decision;
pub mod deployment;
pub mod engine;
mod inline_str;
pub mod lists;
mod reaper;
pub mod record;
pub mod shadow;
pub mod simulate;
pub mod store;
pub mod velocity;

pub use counters::Counters;
pub use decide::Scorer;
pub use decision::{Decision, ScoreLevel};
pub use deployment::{Deployment, Evaluator, VersionId};
pub use engine::{DecideOptions, DeployError, Engine, EngineBuilder, Lists};
pub use lists::ListError;
pub use record::{EventError, Record};
pub use shadow::{ShadowDifference, ShadowReport};
pub use store::snapshot::SnapshotError;
pub use store::{StoreStats, VelocityStore};
