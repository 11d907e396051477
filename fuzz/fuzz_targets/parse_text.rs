//! Any bytes into the reader and the checker, diagnostics rendered: nothing
//! may panic, and every diagnostic must render with its span in the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match kensa_dsl::decode_source(data) {
        Ok(t) => t,
        Err(_) => return,
    };
    if let Err(diagnostics) = kensa_compiler::compile_source(text) {
        let file = kensa_dsl::SourceFile::new("fuzz.kensa", text);
        for d in &diagnostics {
            let out = file.render(d);
            assert!(out.starts_with("fuzz.kensa:"), "{out}");
        }
    }
});
