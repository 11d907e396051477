//! Run-time values: what a record slot, a velocity or an expression holds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A value, or its absence. INVARIANT (TypedValue): a compiled program only
/// ever pairs a value with an operation of its type (the type checker saw to
/// it); evaluators treat any other pairing as missing rather than panicking.
///
/// INVARIANT ValueLayout: `#[repr(u8)]` fixes the layout (RFC 2195): the
/// tag byte (the discriminants below) at offset 0, then each variant's
/// fields laid out as a `repr(C)` struct after it, so a `bool` at offset 1
/// and an `f64` or `i64` at offset 8, in 24 bytes. Generated code reads
/// record slots and velocity values in place through this layout (see
/// `jit::abi::layout`); changing the enum means changing that module.
#[derive(Clone, Debug, PartialEq, Default)]
#[repr(u8)]
pub enum Value {
    /// Absent, `null`, an empty list, or the result of an operation on a
    /// missing operand (SPEC section 6).
    #[default]
    Missing = 0,
    /// `bool`
    Bool(bool) = 1,
    /// `number`: always finite.
    Number(f64) = 2,
    /// `string`
    Str(Arc<str>) = 3,
    /// `ip`: IPv4-mapped IPv6 addresses are stored as IPv4 (INVARIANT
    /// CanonicalIp), so equal addresses compare equal.
    Ip(IpAddr) = 4,
    /// `timestamp`: milliseconds since the Unix epoch.
    Timestamp(i64) = 5,
    /// `duration`: milliseconds.
    Duration(i64) = 6,
    /// `[string]`: never empty (an empty list is missing).
    StrList(Arc<[Arc<str>]>) = 7,
}

const _: () = assert!(std::mem::size_of::<Value>() == 24 && std::mem::align_of::<Value>() == 8);

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
