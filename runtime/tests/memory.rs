//! Compiled code is freed: compiling and dropping many rule sets does not
//! grow the process's resident memory. In a test binary of its own, so no
//! other test allocates beside it while it measures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "support/differential.rs"]
mod support;
use support::DECLS;

#[test]
fn compiling_and_dropping_many_rule_sets_frees_their_code() {
    fn resident_kb() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
    let src = format!("ruleset d {{{DECLS} rule a -> block when amount > 1 and score < 5 or n > 3 rule b -> alert when (event.time - seen) > 1h }}");
    let checked = kensa_compiler::compile_source(&src).unwrap();
    let program = kensa_compiler::lower::lower(&checked);
    let compile_drop = |times: usize| {
        for _ in 0..times {
            let jit = kensa_compiler::jit::JitProgram::compile(&program).unwrap();
            drop(jit);
        }
    };
    compile_drop(200); // warm up allocator pools
    let before = resident_kb();
    compile_drop(1_000);
    let after = resident_kb();
    if let (Some(before), Some(after)) = (before, after) {
        // A leak of even one page of code per rule set would add ~4 MB.
        assert!(after < before + 3_000, "resident memory grew from {before} kB to {after} kB");
    }
}
