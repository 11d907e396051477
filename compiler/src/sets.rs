//! Set structures for `in`: exact strings, IP addresses and ranges, string
//! prefixes and numbers. Inline sets and loaded lists use the same ones, so a
//! lookup costs the same wherever the set came from.

use crate::value::{canonical_ip, ip_to_u128};
use hashbrown::HashSet;
use ipnet::IpNet;
use std::net::IpAddr;

/// Exact strings; one hash per lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringSet {
    items: HashSet<Box<str>>,
}

impl StringSet {
    /// Adds a string.
    pub fn insert(&mut self, s: &str) {
        self.items.insert(s.into());
    }

    /// True when `s` is in the set.
    pub fn contains(&self, s: &str) -> bool {
        self.items.contains(s)
    }

    /// The strings, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| &**s)
    }

    /// How many strings.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// String prefixes (BINs): a string is in the set when it starts with any of
/// them. Lookups try each distinct prefix length once: cost grows with the
/// number of lengths, not of prefixes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixSet {
    prefixes: HashSet<Box<str>>,
    /// Distinct prefix lengths in bytes, ascending.
    lengths: Vec<usize>,
}

impl PrefixSet {
    /// Adds a prefix.
    pub fn insert(&mut self, p: &str) {
        self.prefixes.insert(p.into());
        if let Err(at) = self.lengths.binary_search(&p.len()) {
            self.lengths.insert(at, p.len());
        }
    }

    /// True when `s` starts with a prefix of the set.
    pub fn matches(&self, s: &str) -> bool {
        self.lengths
            .iter()
            .take_while(|&&n| n <= s.len())
            .any(|&n| s.get(..n).is_some_and(|head| self.prefixes.contains(head)))
    }

    /// How many prefixes.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

/// IP addresses and CIDR ranges of both families, as disjoint sorted ranges
/// of the 128-bit space (IPv4 mapped into it), found by binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpSet {
    /// Inclusive ranges, sorted and merged once [`IpSet::finish`] ran.
    ranges: Vec<(u128, u128)>,
}

impl IpSet {
    /// Adds one address.
    pub fn insert_addr(&mut self, addr: IpAddr) {
        let v = ip_to_u128(canonical_ip(addr));
        self.ranges.push((v, v));
    }

    /// Adds a range; host bits are ignored (`10.1.2.3/8` = `10.0.0.0/8`).
    pub fn insert_net(&mut self, net: IpNet) {
        let net = net.trunc();
        let (first, last) = (ip_to_u128(net.network()), ip_to_u128(net.broadcast()));
        self.ranges.push((first, last));
    }

    /// Sorts and merges the ranges. INVARIANT (SortedRanges): `contains`
    /// is only called after `finish`.
    pub fn finish(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(self.ranges.len());
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }

    /// True when `addr` is one of the addresses or in one of the ranges.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let v = ip_to_u128(addr);
        // By SortedRanges: the last range starting at or before v.
        let i = self.ranges.partition_point(|&(a, _)| a <= v);
        i > 0 && self.ranges.get(i - 1).is_some_and(|&(_, b)| v <= b)
    }

    /// How many disjoint ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// Numbers, compared exactly (`-0` and `0` are one number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumberSet {
    bits: HashSet<u64>,
}

impl NumberSet {
    fn key(v: f64) -> u64 {
        if v == 0.0 {
            0
        } else {
            v.to_bits()
        }
    }

    /// Adds a number.
    pub fn insert(&mut self, v: f64) {
        self.bits.insert(Self::key(v));
    }

    /// True when `v` is in the set.
    pub fn contains(&self, v: f64) -> bool {
        self.bits.contains(&Self::key(v))
    }

    /// How many numbers.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn ip(s: &str) -> IpAddr {
        IpAddr::from_str(s).unwrap()
    }

    #[test]
    fn ip_ranges_of_both_families_and_mapped_addresses() {
        let mut set = IpSet::default();
        set.insert_net(IpNet::from_str("133.217.248.29/24").unwrap());
        set.insert_addr(ip("192.168.1.7"));
        set.insert_net(IpNet::from_str("2001:db8::/32").unwrap());
        set.finish();
        assert!(set.contains(ip("133.217.248.0")));
        assert!(set.contains(ip("133.217.248.255")));
        assert!(!set.contains(ip("133.217.249.0")));
        assert!(set.contains(ip("::ffff:192.168.1.7")));
        assert!(!set.contains(ip("192.168.1.8")));
        assert!(set.contains(ip("2001:db8:ffff::1")));
        assert!(!set.contains(ip("2001:db9::")));
    }

    #[test]
    fn prefixes_match_by_start() {
        let mut set = PrefixSet::default();
        set.insert("4111");
        set.insert("51");
        assert!(set.matches("411111"));
        assert!(set.matches("51"));
        assert!(!set.matches("5"));
        assert!(!set.matches("4112"));
        assert!(set.matches("51é"));
    }

    #[test]
    fn numbers_treat_signed_zero_as_one() {
        let mut set = NumberSet::default();
        set.insert(-0.0);
        set.insert(1.5);
        assert!(set.contains(0.0) && set.contains(1.5) && !set.contains(1.25));
    }
}
