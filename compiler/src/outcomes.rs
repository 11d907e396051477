//! Outcomes, their precedence and their codes (SPEC section 7).

use kensa_dsl::ast::OutcomesDecl;
use kensa_dsl::{Code, Diagnostic};

/// The default outcomes, highest precedence first, with their codes.
pub const DEFAULT_OUTCOMES: [(&str, u32); 5] =
    [("challenge", 70), ("force_allow", 50), ("block", 30), ("alert", 10), ("allow", 2)];

/// The decision when no rule matches, and its code.
pub const NONE_OUTCOME: (&str, u32) = ("none", 1);

/// An outcome of a rule set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Its name.
    pub name: String,
    /// Its code in decisions.
    pub code: u32,
}

/// A rule set's outcomes, highest precedence first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcomes {
    /// Highest precedence first.
    pub list: Vec<Outcome>,
    /// True when the rule set uses the default outcomes (declared or not).
    pub is_default: bool,
}

impl Outcomes {
    /// The default outcome set.
    pub fn default_set() -> Outcomes {
        Outcomes {
            list: DEFAULT_OUTCOMES.iter().map(|(n, c)| Outcome { name: (*n).to_string(), code: *c }).collect(),
            is_default: true,
        }
    }

    /// The outcome set of a declaration (or the default when there is none).
    /// Problems are reported, and the valid names are kept so that checking
    /// the rules can go on without follow-on errors.
    pub fn from_decl(decl: Option<&OutcomesDecl>, diags: &mut Vec<Diagnostic>) -> Outcomes {
        let Some(decl) = decl else {
            return Outcomes::default_set();
        };
        let names: Vec<&str> = decl.names.iter().map(|n| n.name.as_str()).collect();
        if names.len() == DEFAULT_OUTCOMES.len() && names.iter().zip(DEFAULT_OUTCOMES).all(|(a, (b, _))| *a == b) {
            return Outcomes::default_set();
        }
        if names.len() < 2 {
            diags.push(Diagnostic::new(Code::BadOutcomes, decl.span, "`outcomes` must list at least two outcomes"));
        }
        for (i, n) in decl.names.iter().enumerate() {
            if n.name == NONE_OUTCOME.0 {
                diags.push(Diagnostic::new(
                    Code::BadOutcomes,
                    n.span,
                    "`none` is reserved: it is the decision when no rule matches",
                ));
            } else if decl.names.iter().take(i).any(|m| m.name == n.name) {
                diags.push(Diagnostic::new(Code::BadOutcomes, n.span, format!("outcome `{}` is listed twice", n.name)));
            }
        }
        let mut kept: Vec<&str> = Vec::new();
        for name in names {
            if name != NONE_OUTCOME.0 && !kept.contains(&name) {
                kept.push(name);
            }
        }
        let names = kept;
        let n = u32::try_from(names.len()).unwrap_or(u32::MAX);
        let list = names
            .iter()
            .zip(0u32..)
            .map(|(name, i)| Outcome { name: (*name).to_string(), code: n - i + 1 })
            .collect();
        Outcomes { list, is_default: false }
    }

    /// The precedence rank of an outcome (0 = highest), if it is one.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|o| o.name == name)
    }

    /// The names, highest first, joined for messages.
    pub fn names(&self) -> String {
        self.list.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}
