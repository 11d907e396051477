//! Dropping retired values off the decision path.
//!
//! When a deploy swaps the active version out, decisions in flight may still
//! hold it; whichever thread lets go of it last would drop it, and dropping
//! a version frees its native code, its program and perhaps large lists:
//! work that must not land on a thread deciding a payment. So the engine
//! hands every retired value to a reaper thread, which holds it until no one
//! else does and then drops it (polling every [`POLL`] while it holds any,
//! idle otherwise). Decisions only ever decrement a count. Dropping the
//! reaper (with its engine) ends the thread and waits for it, so what it
//! held is freed before the engine's drop returns and no thread of a
//! dropped engine is left running.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the reaper looks at what it holds.
pub const POLL: Duration = Duration::from_millis(2);

/// The sending side; the thread ends when it is dropped.
pub(crate) struct Reaper<T: Send + Sync + 'static> {
    /// `None` when the thread could not be started: values are then dropped
    /// where they are retired.
    tx: Option<Sender<Arc<T>>>,
    /// The thread, joined on drop.
    thread: Option<JoinHandle<()>>,
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
        match spawned {
            Ok(thread) => Reaper { tx: Some(tx), thread: Some(thread) },
            Err(_) => Reaper { tx: None, thread: None },
        }
    }

    /// Takes a retired value; it is dropped once no one else holds it.
    pub(crate) fn retire(&self, value: Arc<T>) {
        if let Some(tx) = &self.tx {
            // A send fails only when the thread has ended; then drop here.
            let _ = tx.send(value);
        }
    }
}

impl<T: Send + Sync + 'static> Drop for Reaper<T> {
    /// Disconnects the thread, which then drops what it holds and ends,
    /// and waits for it. Not when the last reference to the reaper is let
    /// go on the reaper thread itself (a held value owning its engine):
    /// that thread ends by itself once this drop returns.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                // The thread never panics (it only moves and drops `Arc`s
                // of values whose drops do not panic); nothing to report.
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Reaper;
    use std::sync::Arc;

    #[test]
    fn dropping_the_reaper_frees_what_it_held_before_returning() {
        let value = Arc::new(String::from("retired version"));
        let reaper = Reaper::start();
        reaper.retire(Arc::clone(&value));
        // Still held by the caller: the reaper keeps its reference.
        drop(reaper);
        assert_eq!(Arc::strong_count(&value), 1, "the reaper thread has ended and dropped its reference");
    }
}
