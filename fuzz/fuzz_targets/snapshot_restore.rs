//! Any bytes as a velocity snapshot: restored or rejected with a message,
//! never a panic; a rejected snapshot leaves the store as it was; a restored
//! one saves back to the same state.
#![no_main]

use kensa_runtime::VelocityStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let store = VelocityStore::new();
    match store.restore_bytes(data) {
        Ok(()) => {
            // What was restored saves and restores to the same state.
            let saved = store.snapshot_bytes();
            let again = VelocityStore::new();
            again.restore_bytes(&saved).expect("a saved snapshot restores");
            assert_eq!(again.stats(), store.stats());
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            assert_eq!(store.stats(), Default::default(), "a rejected snapshot changed the store");
        }
    }
});
