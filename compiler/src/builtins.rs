//! The built-in functions of SPEC section 5, declared once: name and
//! overloads here; the type checker and (later) the evaluators read this one
//! declaration.

use kensa_dsl::ast::TypeName;

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `lower(s)`
    Lower,
    /// `upper(s)`
    Upper,
    /// `len(s)` / `len(xs)`
    Len,
    /// `starts_with(s, p)`
    StartsWith,
    /// `ends_with(s, p)`
    EndsWith,
    /// `contains(s, p)`
    Contains,
    /// `matches(s, "re")`
    Matches,
    /// `hour(t, "+09:00")`
    Hour,
    /// `weekday(t, "+09:00")`
    Weekday,
    /// `abs(n)`
    Abs,
    /// `min(a, b)`
    Min,
    /// `max(a, b)`
    Max,
}

/// A parameter of a built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// Any expression of this type.
    Value(TypeName),
    /// A string literal holding a regular expression, compiled once.
    Regex,
    /// A string literal holding a UTC offset (`Z`, `+09:00`).
    UtcOffset,
}

/// One overload: parameters and result type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The parameters.
    pub params: &'static [Param],
    /// The result type.
    pub ret: TypeName,
}

use Param::Value as V;
use TypeName as T;

impl Builtin {
    /// Every built-in.
    pub const ALL: [Builtin; 12] = [
        Builtin::Lower,
        Builtin::Upper,
        Builtin::Len,
        Builtin::StartsWith,
        Builtin::EndsWith,
        Builtin::Contains,
        Builtin::Matches,
        Builtin::Hour,
        Builtin::Weekday,
        Builtin::Abs,
        Builtin::Min,
        Builtin::Max,
    ];

    /// The name as called.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Lower => "lower",
            Builtin::Upper => "upper",
            Builtin::Len => "len",
            Builtin::StartsWith => "starts_with",
            Builtin::EndsWith => "ends_with",
            Builtin::Contains => "contains",
            Builtin::Matches => "matches",
            Builtin::Hour => "hour",
            Builtin::Weekday => "weekday",
            Builtin::Abs => "abs",
            Builtin::Min => "min",
            Builtin::Max => "max",
        }
    }

    /// Looks a name up.
    pub fn by_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The overloads; all of one function take the same number of arguments.
    pub fn signatures(self) -> &'static [Signature] {
        const STR_TO_STR: &[Signature] = &[Signature { params: &[V(T::String)], ret: T::String }];
        const STR_PAIR: &[Signature] = &[Signature { params: &[V(T::String), V(T::String)], ret: T::Bool }];
        const TIME_PART: &[Signature] = &[Signature { params: &[V(T::Timestamp), Param::UtcOffset], ret: T::Number }];
        const NUM_PAIR: &[Signature] = &[Signature { params: &[V(T::Number), V(T::Number)], ret: T::Number }];
        match self {
            Builtin::Lower | Builtin::Upper => STR_TO_STR,
            Builtin::Len => &[
                Signature { params: &[V(T::String)], ret: T::Number },
                Signature { params: &[V(T::StringList)], ret: T::Number },
            ],
            Builtin::StartsWith | Builtin::EndsWith | Builtin::Contains => STR_PAIR,
            Builtin::Matches => &[Signature { params: &[V(T::String), Param::Regex], ret: T::Bool }],
            Builtin::Hour | Builtin::Weekday => TIME_PART,
            Builtin::Abs => &[Signature { params: &[V(T::Number)], ret: T::Number }],
            Builtin::Min | Builtin::Max => NUM_PAIR,
        }
    }

    /// The number of arguments.
    pub fn arity(self) -> usize {
        self.signatures().first().map_or(0, |s| s.params.len())
    }
}

/// Reads a UTC offset literal: `Z`, or `+HH:MM` / `-HH:MM` with HH 00-23 and
/// MM 00-59. Returns the offset in minutes east of UTC.
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let b = text.as_bytes();
    let [sign, h1, h2, b':', m1, m2] = *b else {
        return None;
    };
    let digit = |c: u8| c.is_ascii_digit().then(|| i32::from(c - b'0'));
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let total = hours * 60 + minutes;
    match sign {
        b'+' => Some(total),
        b'-' => Some(-total),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("Z"), Some(0));
        assert_eq!(parse_utc_offset("+09:00"), Some(540));
        assert_eq!(parse_utc_offset("-03:30"), Some(-210));
        for bad in ["z", "+24:00", "+09:60", "09:00", "+9:00", "+09:00 ", "UTC"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_builtin_is_found_by_name() {
        for b in Builtin::ALL {
            assert_eq!(Builtin::by_name(b.name()), Some(b));
        }
    }
}
