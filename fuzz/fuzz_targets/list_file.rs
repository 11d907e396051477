//! Any bytes as a list file of each kind: accepted or rejected with a
//! message naming the file and a line, never a panic.
#![no_main]

use kensa_dsl::ast::ListKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in ListKind::ALL {
        if let Err(e) = kensa_runtime::lists::parse_list("l.txt", kind, data) {
            assert!(e.message.starts_with("l.txt: line "), "{}", e.message);
        }
    }
});
