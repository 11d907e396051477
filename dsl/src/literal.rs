//! Reading and writing literal values: numbers, strings, durations and
//! timestamps, shared by the text reader, the JSON reader and the printers.

use crate::ast::{DurationLit, DurationUnit};

/// Reads a number literal (`100_000`, `1.5e-3`). Errors when it is not a
/// finite f64.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    match clean.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("number `{text}` is out of range")),
    }
}

/// Writes a number in the shortest form that reads back to the same f64,
/// whole numbers without `.0` (`86`, `57.16`, `1e21`).
pub fn format_number(v: f64) -> String {
    let mut s = String::new();
    write_number(&mut s, v);
    s
}

/// Appends [`format_number`]'s text to `out`.
pub fn write_number(out: &mut String, v: f64) {
    use std::fmt::Write;
    let a = v.abs();
    if v.fract() == 0.0 && (1.0..1e16).contains(&a) {
        // Whole numbers (most amounts and scores) as their digits, which is
        // what `{v}` writes for them, without the float formatter.
        if v < 0.0 {
            out.push('-');
        }
        // Whole and below 1e16: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        push_decimal(out, a as u64, 1);
    } else if a != 0.0 && !(1e-6..1e16).contains(&a) {
        // Debug uses an exponent for very large and very small magnitudes.
        out.push_str(&format!("{v:?}").replace(".0e", "e"));
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "{v}");
    }
}

/// Appends `n` in decimal, zero-padded to at least `width` digits (up to
/// 20): the digits of numbers and times written where the formatting
/// machinery would cost more than the writing.
pub fn push_decimal(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            // A digit: below 10.
            *d = b'0' + u8::try_from(n % 10).unwrap_or(0);
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    let start = at.min(digits.len().saturating_sub(width));
    // ASCII digits: always valid UTF-8, appended in one copy.
    out.push_str(std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default());
}

/// A number as JSON: whole numbers an f64 holds exactly print as integers
/// (`86`, not `86.0`); others in the shortest form that reads back the same.
pub fn json_number(v: f64) -> serde_json::Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() == 0.0 && v.abs() <= EXACT && !(v == 0.0 && v.is_sign_negative()) {
        // In range by the check above, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let i = v as i64;
        serde_json::Value::from(i)
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Reads a duration literal (`250ms`, `90d`): an integer and a unit.
pub fn parse_duration(text: &str) -> Option<DurationLit> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let unit = match unit {
        "ms" => DurationUnit::Millis,
        "s" => DurationUnit::Seconds,
        "m" => DurationUnit::Minutes,
        "h" => DurationUnit::Hours,
        "d" => DurationUnit::Days,
        _ => return None,
    };
    if digits.is_empty() {
        return None;
    }
    let count = digits.parse::<u64>().ok()?;
    Some(DurationLit { count, unit })
}

/// Reads an RFC 3339 timestamp (without the `@`) into whole milliseconds
/// since the Unix epoch; finer digits are truncated.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(t.timestamp_millis()),
        Err(e) => Err(format!("`{text}` is not an RFC 3339 timestamp ({e})")),
    }
}

/// Decodes the inside of a string literal. On a bad escape, returns its byte
/// offset within `body` and a message.
pub fn unescape(body: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                let rest = body.get(at + 2..).unwrap_or("");
                let bad = || (at, "invalid unicode escape: expected `\\u{HEX}` with 1 to 6 hex digits".to_string());
                let inner = rest.strip_prefix('{').ok_or_else(bad)?;
                let close = inner.find('}').ok_or_else(bad)?;
                let hex = inner.get(..close).unwrap_or("");
                if hex.is_empty() || hex.len() > 6 {
                    return Err(bad());
                }
                let code = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
                let ch = char::from_u32(code)
                    .ok_or_else(|| (at, format!("`\\u{{{hex}}}` is not a Unicode scalar value")))?;
                out.push(ch);
                // Skip `{hex}`.
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some((_, other)) => {
                return Err((at, format!("unknown escape `\\{other}`: expected one of `\\\"`, `\\\\`, `\\n`, `\\t`, `\\u{{...}}`")))
            }
            None => return Err((at, "a string may not end with `\\`".to_string())),
        }
    }
    Ok(out)
}

/// Writes a string literal, quotes included, escaping what must be escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_shortest_and_read_back() {
        for v in [86.0, 57.16, 0.2219194877733124, 1e21, 1.5e-7, 0.5, 100000.0, 1e300, 5e-324] {
            let s = format_number(v);
            assert_eq!(parse_number(&s).unwrap(), v, "{s}");
        }
        assert_eq!(format_number(86.0), "86");
        assert_eq!(format_number(1e21), "1e21");
        assert_eq!(parse_number("100_000").unwrap(), 100000.0);
        assert!(parse_number("1e999").is_err());
    }

    #[test]
    fn whole_numbers_print_as_the_float_formatter_prints_them() {
        let mut samples: Vec<f64> = (0..64).flat_map(|p| [2f64.powi(p), 2f64.powi(p) - 1.0, 3f64.powf(f64::from(p) / 2.0).round()]).collect();
        samples.extend([1.0, 9.0, 10.0, 99.0, 1556.0, 9_999_999_999_999_998.0, 1e16, 1e15 + 1.0, 0.0, -0.0, 12.5]);
        for v in samples.iter().flat_map(|&v| [v, -v]) {
            let mut written = String::new();
            write_number(&mut written, v);
            let expected = if v != 0.0 && !(1e-6..1e16).contains(&v.abs()) { format!("{v:?}").replace(".0e", "e") } else { format!("{v}") };
            assert_eq!(written, expected, "{v:?}");
        }
    }

    #[test]
    fn decimals_are_padded_to_their_width() {
        for (n, width, text) in [(0, 1, "0"), (0, 3, "000"), (7, 2, "07"), (2026, 4, "2026"), (12345, 2, "12345"), (u64::MAX, 1, "18446744073709551615")] {
            let mut written = String::new();
            push_decimal(&mut written, n, width);
            assert_eq!(written, text);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap().millis(), Some(250));
        assert_eq!(parse_duration("30d").unwrap().millis(), Some(30 * 86_400_000));
        assert!(parse_duration("5x").is_none());
        assert!(parse_duration("ms").is_none());
    }

    #[test]
    fn timestamps_truncate_to_millis() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01.0019Z").unwrap(), 1001);
        assert_eq!(parse_timestamp("2026-01-01T09:00:00+09:00").unwrap(), parse_timestamp("2026-01-01T00:00:00Z").unwrap());
        assert!(parse_timestamp("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn escapes_round_trip() {
        let s = "a\"b\\c\nd\te\u{1F600}\u{7}";
        let q = quote(s);
        assert_eq!(unescape(&q[1..q.len() - 1]).unwrap(), s);
        assert_eq!(unescape("\\u{1F600}").unwrap(), "\u{1F600}");
        assert!(unescape("\\x").is_err());
        assert!(unescape("\\u{110000}").is_err());
    }
}
