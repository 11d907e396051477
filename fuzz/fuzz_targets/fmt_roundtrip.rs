//! Whatever parses formats, re-parses to the same tree, and formats to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = kensa_dsl::decode_source(data) else { return };
    if kensa_dsl::source_kind(text) != kensa_dsl::SourceKind::Text {
        return;
    }
    let Ok(ast) = kensa_dsl::parse_ruleset(text) else { return };
    let once = kensa_dsl::format::format_ruleset(&ast);
    let back = kensa_dsl::parse_ruleset(&once).unwrap_or_else(|e| panic!("formatted text does not parse: {e:?}\n{once}"));
    assert_eq!(back.rules, ast.rules, "\n{once}");
    assert_eq!(back.velocities, ast.velocities, "\n{once}");
    assert_eq!(kensa_dsl::format::format_ruleset(&back), once);
});
