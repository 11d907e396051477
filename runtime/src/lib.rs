//! The Kensa runtime: decoding events into records, loading lists, exact
//! velocity windows, and deciding records with a compiled program.
//!
//! This crate owns everything that happens per event and all state that
//! outlives one event. It never parses rule text: it receives a lowered
//! `Program` from `kensa-compiler`.

pub mod decision;
pub mod engine;
pub mod lists;
pub mod record;
pub mod simulate;
pub mod velocity;

pub use decision::{Decision, ScoreLevel};
pub use engine::{DecideOptions, Engine, Evaluator};
pub use record::{EventError, Record};
