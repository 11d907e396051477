//! The Kensa compiler: name resolution and type checking of a rule set's AST
//! against the event schema, lowering to a typed IR, and the interpreter that
//! evaluates it (the JIT will run the same IR).
//!
//! This crate owns meaning: which names exist, what type every expression
//! has, the outcomes and their codes, the phase of every rule. It reads the
//! AST of `kensa-dsl` and never parses text itself; it knows nothing of how
//! events arrive, how lists are loaded or where velocity state lives.

pub mod builtins;
pub mod check;
pub mod interp;
pub mod jit;
pub mod ir;
pub mod lower;
pub mod outcomes;
pub mod schema;
pub mod sets;
pub mod value;

pub use check::{check, CheckedRuleset, Phase};
pub use ir::Program;
pub use outcomes::{Outcome, Outcomes};
pub use schema::Schema;

use kensa_dsl::Diagnostic;

/// Reads a rule set in either form and checks it: the one call a front end
/// needs. `text` must be decoded (see `kensa_dsl::decode_source`).
/// Every error is returned, in source order: those of the reader and, when
/// the reader could still build the tree, those of the checker.
pub fn compile_source(text: &str) -> Result<CheckedRuleset, Vec<Diagnostic>> {
    compile_source_against(text, Schema::payment())
}

/// As [`compile_source`], checking against `base`: the payment schema with
/// the fields an embedding host declared (`Schema::with_host_field`).
pub fn compile_source_against(text: &str, base: Schema) -> Result<CheckedRuleset, Vec<Diagnostic>> {
    let (ast, mut diags) = kensa_dsl::parse_ruleset_recovering(text);
    let Some(ast) = ast else {
        return Err(diags);
    };
    match check::check_against(ast, base) {
        Ok(checked) if diags.is_empty() => Ok(checked),
        Ok(_) => Err(diags),
        Err(more) => {
            diags.extend(more);
            kensa_dsl::diagnostic::sort_by_position(&mut diags);
            Err(diags)
        }
    }
}
