//! One module per subcommand.

pub mod bench;
pub mod check;
pub mod convert;
pub mod eval;
pub mod fmt;
pub mod simulate;
pub mod test;
