//! Any bytes into the JSON loader (and the checker): nothing may panic; a
//! rule set that loads writes JSON that loads again to the same JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = kensa_dsl::json::read::read_json(text);
    if kensa_dsl::source_kind(text) != kensa_dsl::SourceKind::Json {
        return;
    }
    if let Ok(checked) = kensa_compiler::compile_source(text) {
        let written = kensa_dsl::json::write::write_json(&checked.ast);
        let again = kensa_compiler::compile_source(&written).expect("written JSON loads");
        assert_eq!(kensa_dsl::json::write::write_json(&again.ast), written);
    }
});
