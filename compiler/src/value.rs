//! Run-time values: what a record slot, a velocity or an expression holds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A value, or its absence. INVARIANT (TypedValue): a compiled program only
/// ever pairs a value with an operation of its type (the type checker saw to
/// it); evaluators treat any other pairing as missing rather than panicking.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// Absent, `null`, an empty list, or the result of an operation on a
    /// missing operand (SPEC section 6).
    #[default]
    Missing,
    /// `bool`
    Bool(bool),
    /// `number`: always finite.
    Number(f64),
    /// `string`
    Str(Arc<str>),
    /// `ip`: IPv4-mapped IPv6 addresses are stored as IPv4 (INVARIANT
    /// CanonicalIp), so equal addresses compare equal.
    Ip(IpAddr),
    /// `timestamp`: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// `duration`: milliseconds.
    Duration(i64),
    /// `[string]`: never empty (an empty list is missing).
    StrList(Arc<[Arc<str>]>),
}

impl Value {
    /// A number, or missing when it is not finite (SPEC section 6).
    pub fn number(v: f64) -> Value {
        if v.is_finite() {
            Value::Number(v)
        } else {
            Value::Missing
        }
    }

    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// An IP value in canonical form.
    pub fn ip(addr: IpAddr) -> Value {
        Value::Ip(canonical_ip(addr))
    }

    /// True when missing.
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) become their IPv4 address.
pub fn canonical_ip(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The address as a 128-bit number in the IPv6 space (IPv4 mapped), for
/// range lookups that treat both families alike.
pub fn ip_to_u128(addr: IpAddr) -> u128 {
    match canonical_ip(addr) {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The inverse of [`ip_to_u128`] (canonical form).
pub fn u128_to_ip(v: u128) -> IpAddr {
    canonical_ip(IpAddr::V6(Ipv6Addr::from(v)))
}

/// An IPv4 address as [`ip_to_u128`] numbers it.
pub fn v4_to_u128(v4: Ipv4Addr) -> u128 {
    ip_to_u128(IpAddr::V4(v4))
}
