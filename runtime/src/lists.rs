//! List files (SPEC section 10): `<dir>/<name>.txt`, one value a line. A file
//! that breaks a rule is rejected whole, with its name and `line N`.

use kensa_compiler::ir::{ListIr, SetData};
use kensa_compiler::sets::{IpSet, NumberSet, PrefixSet, StringSet};
use kensa_dsl::ast::ListKind;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The longest value a list line may hold, in characters, after trimming.
pub const MAX_VALUE_CHARS: usize = 255;

/// A list that did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    /// What went wrong: the file, the line when there is one, and the problem.
    pub message: String,
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ListError {}

/// Loads every declared list from `dir`, in declaration order. The first
/// list that fails stops the load; nothing is returned half-loaded.
pub fn load_dir(lists: &[ListIr], dir: &Path) -> Result<Vec<Arc<SetData>>, ListError> {
    lists
        .iter()
        .map(|l| {
            let path = dir.join(format!("{}.txt", l.name));
            let bytes = std::fs::read(&path).map_err(|e| ListError {
                message: format!("list `{}`: cannot read {}: {e}", l.name, path.display()),
            })?;
            parse_list(&path.display().to_string(), l.kind, &bytes).map(Arc::new)
        })
        .collect()
}

/// Reads the bytes of a list file of the given kind; `file` names it in errors.
pub fn parse_list(file: &str, kind: ListKind, bytes: &[u8]) -> Result<SetData, ListError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes.iter().take(e.valid_up_to()).filter(|&&b| b == b'\n').count() + 1;
        ListError { message: format!("{file}: line {line}: not valid UTF-8") }
    })?;
    let mut builder = Builder::new(kind);
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let err = |what: String| ListError { message: format!("{file}: line {line_no}: {what}") };
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.contains(',') {
            return Err(err("a value may not contain a comma".to_string()));
        }
        let value = raw.trim_matches([' ', '\t']);
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(err(format!("a value may hold at most {MAX_VALUE_CHARS} characters")));
        }
        builder.add(value).map_err(err)?;
    }
    Ok(builder.finish())
}

enum Builder {
    Strings(StringSet),
    Prefixes(PrefixSet),
    Ips(IpSet),
    Numbers(NumberSet),
}

impl Builder {
    fn new(kind: ListKind) -> Builder {
        match kind {
            ListKind::String => Builder::Strings(StringSet::default()),
            ListKind::Prefix => Builder::Prefixes(PrefixSet::default()),
            ListKind::Ip => Builder::Ips(IpSet::default()),
            ListKind::Number => Builder::Numbers(NumberSet::default()),
        }
    }

    fn add(&mut self, value: &str) -> Result<(), String> {
        match self {
            Builder::Strings(s) => s.insert(value),
            Builder::Prefixes(p) => p.insert(value),
            Builder::Ips(s) => add_ip(s, value)?,
            Builder::Numbers(s) => s.insert(parse_list_number(value)?),
        }
        Ok(())
    }

    fn finish(self) -> SetData {
        match self {
            Builder::Strings(s) => SetData::Strings(s),
            Builder::Prefixes(p) => SetData::Prefixes(p),
            Builder::Ips(mut s) => {
                s.finish();
                SetData::Ips(s)
            }
            Builder::Numbers(s) => SetData::Numbers(s),
        }
    }
}

/// An address, a CIDR range (host bits ignored) or a partial IPv4 address
/// (`255` = `255.0.0.0/8`, `255.1` = `/16`, `255.1.2` = `/24`).
fn add_ip(set: &mut IpSet, value: &str) -> Result<(), String> {
    if let Ok(addr) = IpAddr::from_str(value) {
        set.insert_addr(addr);
        return Ok(());
    }
    if value.contains('/') {
        return ipnet::IpNet::from_str(value)
            .map(|net| set.insert_net(net))
            .map_err(|_| format!("`{value}` is not an IP address or CIDR range"));
    }
    let parts: Vec<&str> = value.split('.').collect();
    let octet = |p: &str| -> Option<u8> {
        let leading_zero = p.len() > 1 && p.starts_with('0');
        if p.is_empty() || leading_zero || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let octets: Option<Vec<u8>> = parts.iter().map(|p| octet(p)).collect();
    match octets {
        Some(os) if (1..=3).contains(&os.len()) => {
            let mut full = [0u8; 4];
            for (slot, o) in full.iter_mut().zip(&os) {
                *slot = *o;
            }
            let prefix = u8::try_from(os.len() * 8).unwrap_or(32);
            let net = ipnet::Ipv4Net::new(Ipv4Addr::from(full), prefix).map_err(|e| e.to_string())?;
            set.insert_net(ipnet::IpNet::V4(net));
            Ok(())
        }
        _ => Err(format!("`{value}` is not an IP address or CIDR range")),
    }
}

/// A number in the literal syntax, optionally negative.
fn parse_list_number(value: &str) -> Result<f64, String> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if !is_number_literal(digits) {
        return Err(format!("`{value}` is not a number"));
    }
    let n = kensa_dsl::literal::parse_number(digits)?;
    Ok(if negative { -n } else { n })
}

/// `digits ("." digits)? (("e"|"E") ("+"|"-")? digits)?` with `_` only between digits.
fn is_number_literal(s: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let mut end = 0;
        let mut prev_digit = false;
        for (i, c) in s.char_indices() {
            if c.is_ascii_digit() {
                prev_digit = true;
                end = i + 1;
            } else if c == '_' && prev_digit && s.get(i + 1..).is_some_and(|r| r.starts_with(|d: char| d.is_ascii_digit())) {
                prev_digit = false;
            } else {
                break;
            }
        }
        (end > 0).then(|| s.get(end..).unwrap_or(""))
    }
    let Some(mut rest) = digits(s) else { return false };
    if let Some(frac) = rest.strip_prefix('.') {
        match digits(frac) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        match digits(exp) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensa_compiler::interp::member;
    use kensa_compiler::value::Value;

    fn load(kind: ListKind, text: &str) -> Result<SetData, ListError> {
        parse_list("l.txt", kind, text.as_bytes())
    }

    fn has(set: &SetData, v: Value) -> bool {
        member(set, &v) == Some(true)
    }

    #[test]
    fn bom_crlf_trimming_and_blank_lines() {
        let set = load(ListKind::String, "\u{feff}  a\t\r\n\r\n b \nc").unwrap();
        assert!(has(&set, Value::str("a")) && has(&set, Value::str("b")) && has(&set, Value::str("c")));
        assert!(!has(&set, Value::str(" b ")));
        assert!(matches!(load(ListKind::String, ""), Ok(SetData::Strings(s)) if s.is_empty()));
    }

    #[test]
    fn a_bad_line_rejects_the_whole_file_with_its_number() {
        assert_eq!(load(ListKind::String, "a\nb,c\n").unwrap_err().message, "l.txt: line 2: a value may not contain a comma");
        let long = format!("ok\n\n{}\n", "x".repeat(256));
        assert_eq!(load(ListKind::String, &long).unwrap_err().message, "l.txt: line 3: a value may hold at most 255 characters");
        assert!(load(ListKind::String, &"é".repeat(255)).is_ok());
        assert_eq!(load(ListKind::Ip, "10.0.0.1\nnope").unwrap_err().message, "l.txt: line 2: `nope` is not an IP address or CIDR range");
        assert_eq!(load(ListKind::Number, "1\n2\n1.").unwrap_err().message, "l.txt: line 3: `1.` is not a number");
        let bad_utf8 = parse_list("l.txt", ListKind::String, b"a\n\xff\n").unwrap_err();
        assert_eq!(bad_utf8.message, "l.txt: line 2: not valid UTF-8");
    }

    #[test]
    fn ip_lists_complete_partial_ipv4_and_ignore_host_bits() {
        let set = load(ListKind::Ip, "255\n10.1\n192.168.7\n133.217.248.29/24\n2001:db8::/32\n8.8.8.8").unwrap();
        let ip = |s: &str| Value::ip(IpAddr::from_str(s).unwrap());
        for yes in ["255.9.9.9", "10.1.200.3", "192.168.7.99", "133.217.248.1", "2001:db8::5", "8.8.8.8", "::ffff:8.8.8.8"] {
            assert!(has(&set, ip(yes)), "{yes}");
        }
        for no in ["254.0.0.1", "10.2.0.0", "192.168.8.1", "133.217.249.1", "2001:db9::", "8.8.4.4"] {
            assert!(!has(&set, ip(no)), "{no}");
        }
        assert!(load(ListKind::Ip, "01.2").is_err());
        assert!(load(ListKind::Ip, "1.2.3.4.5").is_err());
    }

    #[test]
    fn number_and_prefix_lists() {
        let nums = load(ListKind::Number, "1\n-2.5\n1_000\n1e3\n").unwrap();
        assert!(has(&nums, Value::Number(-2.5)) && has(&nums, Value::Number(1000.0)) && !has(&nums, Value::Number(2.0)));
        for bad in ["_1", "1_", "1__0", ".5", "1e", "--1", "+1", "0x10"] {
            assert!(load(ListKind::Number, bad).is_err(), "{bad}");
        }
        let bins = load(ListKind::Prefix, "4111\n55").unwrap();
        assert!(has(&bins, Value::str("41111111")) && has(&bins, Value::str("559")) && !has(&bins, Value::str("5")));
    }
}
