//! The decoder's fast path: a scanner for the plain events that make up
//! nearly every stream (objects of known keys, strings without escapes,
//! numbers that convert exactly), reading them straight into the slots
//! without serde's visitor machinery.
//!
//! INVARIANT (SameAsSerde): the scanner either fills the record exactly as
//! the serde path would, or declines (`None`) and the caller decodes the
//! line again on the serde path, which also writes every error message.
//! It declines on anything it does not handle the same way: escapes and
//! control characters in strings, invalid UTF-8, arrays and lists of
//! objects, `[string]` fields, a field given twice, numbers outside the
//! range where one correctly rounded conversion is exact (and `-0`, which
//! serde reads as a float), values of the wrong type, deep nesting, and
//! anything after the object but whitespace. Field values are converted by
//! the serde path's own [`scalar_value`].

use super::{scalar_value, walk_dotted, Group, Node, Record, Scalar};
use kensa_dsl::ast::TypeName;

/// The most schema fields the scanner tracks (a bit each); larger schemas
/// take the serde path.
const MAX_FIELDS: usize = 256;

/// Nesting deeper than this (in values the schema does not know) is left
/// to the serde path, which has its own limit.
const MAX_DEPTH: usize = 64;

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Integers below this convert to `f64` exactly.
const EXACT_INTEGERS: u64 = 1 << 53;

/// Reads `line` into `record` (all slots missing on entry); `None` when the
/// line must take the serde path (the record is then left partly filled).
pub(super) fn scan(root: &Group, line: &[u8], record: &mut Record) -> Option<()> {
    if record.slots.len() > MAX_FIELDS {
        return None;
    }
    // Validated once for the whole line: strings are then cut out of it
    // at their quotes (ASCII, so always at character boundaries).
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scanner { text, bytes: line, at: 0, assigned: [0; MAX_FIELDS / 64] };
    s.whitespace();
    s.eat(b'{')?;
    s.object(root, record)?;
    s.whitespace();
    (s.at == line.len()).then_some(())
}

/// The index of the first byte that ends or interrupts a plain string: a
/// quote, a backslash or a control character (below 0x20); `None` when
/// there is none. Eight bytes are tested at a time (a string ends within
/// one or two words for most keys and ids), the rest one by one.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // Per byte: its high bit is set in the result when the byte is zero;
    // bits above the lowest flagged byte may be set wrongly (borrows), so
    // only the lowest one is read.
    let zero_bytes = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in words.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // Bytes below 0x20 (all of them have the high bit clear, which the
        // `!w` keeps, and borrow when 0x20 is taken away).
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        let found = zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\'))) | control;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| at + i)
}

struct Scanner<'a> {
    /// The line, valid UTF-8.
    text: &'a str,
    /// The same line's bytes.
    bytes: &'a [u8],
    at: usize,
    /// One bit per slot already given a value.
    assigned: [u64; MAX_FIELDS / 64],
}

/// A JSON number as serde hands it to a visitor.
enum Number {
    Int(i64),
    Float(f64),
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// The members of an object or array whose opening bracket was read,
    /// each read by `member`, up to the `close` bracket.
    fn members(&mut self, close: u8, mut member: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.whitespace();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            self.whitespace();
            member(self)?;
            self.whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object member's key and the `:` after it.
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        Some(key)
    }

    /// The node of the key at the cursor and the `:` after it, when the key
    /// is one of `group`'s segments from position `next` on, written
    /// plainly (no escapes); `next` then moves past it. `None` (the cursor
    /// unmoved) otherwise: the caller reads the key and looks it up.
    ///
    /// Producers write an event's keys in one order, mostly the schema's
    /// (the SPEC's): looked for in that order, each key is found by
    /// comparing a few bytes, with no hashing and no string scan. A key
    /// out of that order costs the comparisons and then the lookup.
    fn expected_key<'g>(&mut self, group: &'g Group, next: &mut usize) -> Option<&'g Node> {
        let after_quote = self.at.checked_add(1)?;
        if self.peek()? != b'"' {
            return None;
        }
        let rest = self.bytes.get(after_quote..)?;
        let (i, (segment, node)) = group.children.iter().enumerate().skip(*next).find(|(_, (segment, _))| {
            let segment = segment.as_bytes();
            // Followed by the closing quote: a key the segment only begins
            // (`custom` in `"customer"`) or one with a dot does not match.
            rest.get(segment.len()) == Some(&b'"') && rest.get(..segment.len()) == Some(segment)
        })?;
        self.at = after_quote + segment.len() + 1;
        *next = i + 1;
        self.whitespace();
        if self.eat(b':').is_none() {
            // Not a key after all (the caller fails the same way).
            self.at = after_quote - 1;
            return None;
        }
        self.whitespace();
        Some(node)
    }

    /// The members of an object whose `{` was read, against `group`.
    fn object(&mut self, group: &Group, record: &mut Record) -> Option<()> {
        // Where in the group's segments the next key is looked for first.
        let mut next = 0;
        self.members(b'}', |s| {
            let node = match s.expected_key(group, &mut next) {
                Some(node) => Some(node),
                None => {
                    let key = s.key()?;
                    match group.find(key) {
                        // Looked for after it from now on.
                        Some((i, node)) => {
                            next = i + 1;
                            Some(node)
                        }
                        None => walk_dotted(group, key),
                    }
                }
            };
            match node {
                None => s.skip_value(0),
                Some(Node::Group { group, .. }) => match s.peek()? {
                    b'{' => {
                        s.at += 1;
                        s.object(group, record)
                    }
                    b'n' => s.literal(b"null"),
                    _ => None,
                },
                Some(Node::Field { id, ty, kept, .. }) => s.field(id.0 as usize, *ty, *kept, record),
            }
        })
    }

    /// A field's value, converted as the serde path converts it; a field
    /// not `kept` is checked the same way and left missing.
    fn field(&mut self, slot: usize, ty: TypeName, kept: bool, record: &mut Record) -> Option<()> {
        if ty == TypeName::StringList {
            return None;
        }
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        let seen = self.assigned.get_mut(word)?;
        if *seen & bit != 0 {
            return None;
        }
        *seen |= bit;
        let scalar = match self.peek()? {
            b'"' => Scalar::Str(self.string()?),
            b'n' => {
                self.literal(b"null")?;
                Scalar::Null
            }
            b't' => {
                self.literal(b"true")?;
                Scalar::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Scalar::Bool(false)
            }
            _ => match self.number()? {
                Number::Int(i) => Scalar::Int(i),
                Number::Float(f) => Scalar::Float(f),
            },
        };
        if !kept {
            // A string is always a valid `string`: nothing to convert.
            if !(ty == TypeName::String && matches!(scalar, Scalar::Str(_))) {
                scalar_value(ty, "", scalar).ok()?;
            }
            return Some(());
        }
        let value = scalar_value(ty, "", scalar).ok()?;
        *record.slots.get_mut(slot)? = value;
        Some(())
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = first_special(self.bytes.get(start..)?)?;
        if self.bytes.get(start + len) != Some(&b'"') {
            return None;
        }
        self.at += len + 1;
        self.text.get(start..start + len)
    }

    fn digits(&mut self) -> (u64, usize) {
        let (mut value, mut count) = (0u64, 0usize);
        while let Some(d @ b'0'..=b'9') = self.peek() {
            // Saturates far past the limits the callers check.
            value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            count += 1;
            self.at += 1;
        }
        (value, count)
    }

    /// A number, where serde's reading is reproduced exactly: integers of
    /// at most 18 digits, and decimals whose digits make an integer below
    /// 2^53 scaled by at most 10^22 (one correctly rounded operation).
    fn number(&mut self) -> Option<Number> {
        let negative = self.eat(b'-').is_some();
        let start = self.at;
        let (int, int_digits) = self.digits();
        // JSON numbers have one leading zero at most.
        if int_digits == 0 || int_digits > 18 || (int_digits > 1 && self.bytes.get(start) == Some(&b'0')) {
            return None;
        }
        if !matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            // serde reads `-0` as the float -0.0.
            let int = i64::try_from(int).ok()?;
            return match (negative, int) {
                (true, 0) => None,
                (true, i) => Some(Number::Int(-i)),
                (false, i) => Some(Number::Int(i)),
            };
        }
        let mut mantissa = int;
        let mut scale: i64 = 0;
        if self.eat(b'.').is_some() {
            let (fraction, fraction_digits) = self.digits();
            if fraction_digits == 0 || fraction_digits > 18 {
                return None;
            }
            mantissa = mantissa.checked_mul(10u64.checked_pow(u32::try_from(fraction_digits).ok()?)?)?.checked_add(fraction)?;
            scale -= i64::try_from(fraction_digits).ok()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let exponent_negative = match self.peek()? {
                b'-' => {
                    self.at += 1;
                    true
                }
                b'+' => {
                    self.at += 1;
                    false
                }
                _ => false,
            };
            let (exponent, exponent_digits) = self.digits();
            if exponent_digits == 0 || exponent_digits > 4 {
                return None;
            }
            let exponent = i64::try_from(exponent).ok()?;
            scale += if exponent_negative { -exponent } else { exponent };
        }
        if mantissa >= EXACT_INTEGERS {
            return None;
        }
        let power = *EXACT_POWERS_OF_TEN.get(usize::try_from(scale.unsigned_abs()).ok()?)?;
        #[allow(clippy::cast_precision_loss)] // below 2^53: exact
        let m = mantissa as f64;
        let magnitude = if scale >= 0 { m * power } else { m / power };
        Some(Number::Float(if negative { -magnitude } else { magnitude }))
    }

    /// Steps over a value the schema does not read.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'{' => {
                self.at += 1;
                self.members(b'}', |s| {
                    s.key()?;
                    s.skip_value(depth + 1)
                })
            }
            b'[' => {
                self.at += 1;
                self.members(b']', |s| s.skip_value(depth + 1))
            }
            _ => self.number().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::super::Decoder;
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn decoder() -> Decoder {
        let src = "ruleset f { field custom.wait: duration field custom.flags: [string] field custom.ok: bool \
                   field custom.at: timestamp rule r -> block when true }";
        let checked = kensa_compiler::compile_source(src).expect("schema");
        Decoder::new(Arc::new(checked.schema))
    }

    /// The paths [`keeping_decoder`] keeps.
    const KEPT: [&str; 4] = ["amount", "card.hash", "event.time", "custom.wait"];

    /// The schema of [`decoder`], keeping only [`KEPT`].
    fn keeping_decoder() -> Decoder {
        let full = decoder();
        let kept: Vec<_> = KEPT.iter().map(|p| full.schema.lookup(p).expect("a field").0).collect();
        Decoder::keeping(Arc::clone(&full.schema), &kept)
    }

    /// What [`keeping_decoder`] must give for a line: what the full
    /// decoder gives, with every field but [`KEPT`] left missing.
    fn full_then_dropped(line: &str) -> Result<crate::Record, crate::EventError> {
        let full = decoder();
        full.decode_bytes(line.as_bytes()).map(|mut record| {
            for f in full.schema.fields().iter().filter(|f| !KEPT.contains(&f.path.as_str())) {
                record.set(full.schema.lookup(&f.path).expect("a field").0, kensa_compiler::value::Value::Missing);
            }
            record
        })
    }

    #[test]
    fn a_keeping_decoder_checks_every_field_and_keeps_only_its_own() {
        let d = keeping_decoder();
        let line = r#"{"event":{"id":"e1","time":5},"amount":3,"currency":"JPY","card":{"hash":"h","bin":"4111"},"custom":{"flags":["a"],"wait":"1s"}}"#;
        let record = d.decode_bytes(line.as_bytes()).expect("valid");
        let slot = |p: &str| record.get(d.schema.lookup(p).expect("a field").0).clone();
        assert_eq!(slot("amount"), kensa_compiler::value::Value::Number(3.0));
        assert_eq!(slot("card.hash"), kensa_compiler::value::Value::str("h"));
        assert_eq!(slot("custom.wait"), kensa_compiler::value::Value::Duration(1000));
        for dropped in ["event.id", "currency", "card.bin", "custom.flags"] {
            assert!(slot(dropped).is_missing(), "{dropped}");
        }
        // A field it does not keep is still checked: its type, and that it
        // is given once.
        for (bad, want) in [
            (r#"{"currency": 5}"#, "currency: expected string, got number"),
            (r#"{"ip": {"address": "10.0.0.999"}}"#, "ip.address: "),
            (r#"{"currency": "JPY", "currency": "USD"}"#, "currency: given twice"),
            (r#"{"custom": {"flags": [1]}}"#, "custom.flags: expected string"),
        ] {
            let err = d.decode_bytes(bad.as_bytes()).expect_err(bad);
            assert!(err.message.starts_with(want), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn plain_events_take_the_fast_path() {
        let d = decoder();
        let lines = [
            r#"{"event":{"id":"e1","time":1767225601418,"type":"purchase"},"amount":1556,"currency":"JPY","customer":{"id":"cust44394"},"card":{"hash":"card44394-1","bin":"356600","country":"JPN"},"ip":{"address":"203.194.221.66"},"device":{"id":"dev44394"},"score":18}"#,
            r#" { "event.id" : "e2", "event.time": "2026-01-01T00:00:00Z", "amount": 12.5, "custom": {"wait": "90s", "ok": true, "at": null}, "note": {"x": [1, "y", null, {}]} } "#,
        ];
        for line in lines {
            let mut record = crate::Record::new(Arc::clone(&d.schema));
            assert!(scan(&d.root, line.as_bytes(), &mut record).is_some(), "{line}");
            assert_eq!(Ok(record), d.decode_bytes_on_serde_path(line.as_bytes()));
        }
    }

    #[test]
    fn keys_in_any_order_are_read_alike() {
        let d = decoder();
        let lines = [
            // The schema's order, with fields left out.
            r#"{"event":{"id":"e1","time":5},"currency":"JPY","card":{"hash":"h","country":"JP"},"score":3}"#,
            // Reversed, a key the schema does not know in between, a key a
            // segment only begins, and a dotted key after its group.
            r#"{"cards":1,"score":3,"card":{"country":"JP","hash":"h"},"customer":{"id":"c"},"currency":"JPY","event":{"time":5},"event.id":"e1"}"#,
        ];
        for line in lines {
            let mut record = crate::Record::new(Arc::clone(&d.schema));
            assert!(scan(&d.root, line.as_bytes(), &mut record).is_some(), "{line}");
            assert_eq!(Ok(record), d.decode_bytes_on_serde_path(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn what_serde_reads_differently_is_declined() {
        let d = decoder();
        for line in [
            r#"{"amount": -0}"#,
            r#"{"amount": 12345678901234567890}"#,
            r#"{"amount": 9007199254740993.0}"#,
            r#"{"amount": 1e23}"#,
            r#"{"currency": "J\u0050Y"}"#,
            r#"{"custom": {"flags": ["a"]}}"#,
            r#"{"amount": 1, "amount": 2}"#,
            r#"{"amount": 1} x"#,
            // A known key with no `:` after it, then what would read as a key.
            r#"{"amount" "currency": "JPY"}"#,
        ] {
            let mut record = crate::Record::new(Arc::clone(&d.schema));
            assert!(scan(&d.root, line.as_bytes(), &mut record).is_none(), "{line}");
        }
    }

    /// Keys the schema knows (nested, flat, groups), keys it does not, and
    /// a key with an escape.
    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "event", "id", "time", "amount", "currency", "customer", "card", "hash", "ip", "address", "score", "custom",
            "wait", "flags", "ok", "at", "event.id", "event.time", "card.hash", "custom.wait", "custom.ok", "note", "x",
            "am\\u006fount", "", "cards", "amounts",
        ])
        .prop_map(str::to_string)
    }

    /// Scalars of every type, well and badly formed.
    fn scalar() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "0", "-0", "7", "-12", "123456789012345678", "-123456789012345678", "1234567890123456789", "99999999999999999999",
            "1.5", "-0.0", "0.1", "123.456", "1e5", "1E+2", "2.5e-3", "1e22", "1e23", "1e400", "9007199254740992.0",
            "9007199254740993", "0.000001", "01", "1.", ".5", "-", "1e", "+1", "true", "false", "null", "nul", "\"\"",
            "\"abc\"", "\"é\"", "\"a\\\"b\"", "\"tab\there\"", "\"2026-01-01T00:00:00Z\"", "\"not a time\"",
            "\"90d\"", "\"10.0.0.1\"", "\"::1\"", "\"999.1.1.1\"", "[]", "[\"a\", null]", "[{\"id\": \"x\"}]", "{}",
        ])
        .prop_map(str::to_string)
    }

    /// Numbers built from parts: sign, integer digits, fraction, exponent.
    fn number() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["", "-"]),
            prop::sample::select(vec!["0", "1", "7", "42", "900719925474099", "9007199254740993", "123456789012345678901"]),
            prop::sample::select(vec!["", "", ".0", ".5", ".25", ".125", ".000001", ".3333333333333333", ".12345678901234567890"]),
            prop::sample::select(vec!["", "", "e1", "E+2", "e-1", "e-3", "e22", "e-22", "e23", "e+308", "e0"]),
        )
            .prop_map(|(sign, int, fraction, exponent)| format!("{sign}{int}{fraction}{exponent}"))
    }

    fn space() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", "", " ", "\n", "\t ", "\r\n"])
    }

    /// A member the schema reads, with a value of about the right type
    /// (numbers of every form, so most objects made of these are valid).
    fn typed_member() -> impl Strategy<Value = String> {
        let text = prop::sample::select(vec!["JPY", "é", "c1", "", "2026-01-01T00:00:00.5+09:00", "10.0.0.1", "90d", "x y"]);
        prop_oneof![
            number().prop_map(|n| format!("\"amount\":{n}")),
            number().prop_map(|n| format!("\"score\": {n}")),
            number().prop_map(|n| format!("\"event\":{{\"time\":{n}}}")),
            number().prop_map(|n| format!("\"custom\":{{\"wait\":{n},\"ok\":false}}")),
            text.clone().prop_map(|t| format!("\"currency\":\"{t}\"")),
            text.clone().prop_map(|t| format!("\"customer\":{{\"id\":\"{t}\"}}")),
            text.clone().prop_map(|t| format!("\"ip.address\":\"{t}\"")),
            text.clone().prop_map(|t| format!("\"event.time\":\"{t}\"")),
            text.prop_map(|t| format!("\"custom\":{{\"wait\":\"{t}\",\"at\":\"{t}\"}}")),
        ]
    }

    /// An object of members, mostly typed ones, some random with values
    /// nested up to three deep, sometimes with something after it.
    fn object() -> impl Strategy<Value = String> {
        let value = prop_oneof![scalar(), number()].prop_recursive(3, 24, 6, |inner| {
            prop::collection::vec((key(), inner, space()), 0..6).prop_map(|members| {
                let body: Vec<String> = members.into_iter().map(|(k, v, s)| format!("{s}\"{k}\"{s}:{s}{v}{s}")).collect();
                format!("{{{}}}", body.join(","))
            })
        });
        let random_member = (key(), value, space()).prop_map(|(k, v, sp)| format!("{sp}\"{k}\":{sp}{v}"));
        let member = prop_oneof![6 => typed_member(), 1 => random_member];
        (prop::collection::vec(member, 0..6), space(), prop::sample::select(vec!["", "", "", "", " ", "x", ","]))
            .prop_map(|(members, s, tail)| format!("{s}{{{}}}{s}{tail}", members.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever the line, decoding gives what the serde path alone
        /// gives: the same record, or the same error.
        #[test]
        fn the_fast_path_decodes_like_the_serde_path(line in object()) {
            let d = decoder();
            prop_assert_eq!(d.decode_bytes(line.as_bytes()), d.decode_bytes_on_serde_path(line.as_bytes()), "{}", line);
        }

        /// A decoder keeping a few fields gives, on both paths, what the
        /// full decoder gives with the other fields left missing: the same
        /// errors, the kept values unchanged.
        #[test]
        fn a_keeping_decoder_decodes_like_the_full_one_less_what_it_drops(line in object()) {
            let (d, want) = (keeping_decoder(), full_then_dropped(&line));
            prop_assert_eq!(d.decode_bytes(line.as_bytes()), want.clone(), "{}", line);
            prop_assert_eq!(d.decode_bytes_on_serde_path(line.as_bytes()), want, "{}", line);
        }

        /// The word-at-a-time search finds the first quote, backslash or
        /// control byte exactly where a byte-by-byte search does, at any
        /// offset in a word and past multi-byte characters.
        #[test]
        fn the_word_search_finds_what_the_byte_search_finds(
            bytes in prop::collection::vec(prop_oneof![
                8 => 0x20u8..0x7f,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                1 => 0u8..0x20,
                1 => 0x7fu8..=0xff,
            ], 0..40),
        ) {
            let want = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(first_special(&bytes), want);
        }
    }
}
