//! Any bytes as an event against the default example's schema: decoded, or
//! an error whose message starts with a path (or `json`) and `": "`; and
//! the decoder's fast path gives exactly what the serde path alone gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn decoder() -> &'static kensa_runtime::record::Decoder {
    static DECODER: OnceLock<kensa_runtime::record::Decoder> = OnceLock::new();
    DECODER.get_or_init(|| {
        let src = "ruleset f { field custom.wait: duration field custom.flags: [string] field custom.ok: bool rule r -> block when true }";
        let checked = kensa_compiler::compile_source(src).expect("fuzz schema");
        kensa_runtime::record::Decoder::new(std::sync::Arc::new(checked.schema))
    })
}

fuzz_target!(|data: &[u8]| {
    let decoded = decoder().decode_bytes(data);
    assert_eq!(decoded, decoder().decode_bytes_on_serde_path(data), "fast and serde paths differ");
    if let Err(e) = decoded {
        let (path, rest) = e.message.split_once(": ").expect("message names a path");
        assert!(!path.is_empty() && !rest.is_empty(), "{}", e.message);
    }
});
