//! Dropping retired values off the decision path.
//!
//! When a deploy swaps the active version out, decisions in flight may still
//! hold it; whichever thread lets go of it last would drop it, and dropping
//! a version frees its native code, its program and perhaps large lists:
//! work that must not land on a thread deciding a payment. So the engine
//! hands every retired value to a reaper thread, which holds it until no one
//! else does and then drops it (polling every [`POLL`] while it holds any,
//! idle otherwise). Decisions only ever decrement a count.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// How often the reaper looks at what it holds.
pub const POLL: Duration = Duration::from_millis(2);

/// The sending side; the thread ends when it is dropped.
pub(crate) struct Reaper<T: Send + Sync + 'static> {
    /// `None` when the thread could not be started: values are then dropped
    /// where they are retired.
    tx: Option<Sender<Arc<T>>>,
}

impl<T: Send + Sync + 'static> Reaper<T> {
    pub(crate) fn start() -> Reaper<T> {
        let (tx, rx) = channel::<Arc<T>>();
        let spawned = std::thread::Builder::new().name("kensa-reaper".into()).spawn(move || {
            let mut held: Vec<Arc<T>> = Vec::new();
            loop {
                let next = if held.is_empty() {
                    rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
                } else {
                    rx.recv_timeout(POLL)
                };
                match next {
                    Ok(value) => held.push(value),
                    Err(RecvTimeoutError::Timeout) => {}
                    // The engine is gone, and with it every decision.
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                held.retain(|v| Arc::strong_count(v) > 1);
            }
        });
        Reaper { tx: spawned.ok().map(|_| tx) }
    }

    /// Takes a retired value; it is dropped once no one else holds it.
    pub(crate) fn retire(&self, value: Arc<T>) {
        if let Some(tx) = &self.tx {
            // A send fails only when the thread has ended; then drop here.
            let _ = tx.send(value);
        }
    }
}
