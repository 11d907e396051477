//! The JSON form of a rule set (SPEC section 11): reader and writer.

pub mod read;
pub mod write;
