//! A short string kept in place, inside a larger value (a key's table entry,
//! a window's entry), so reading it follows no pointer and dropping it frees
//! nothing. In tables of millions of keys and windows of thousands of
//! entries every pointer followed is a cache miss.

/// A UTF-8 string of at most `N` bytes (`N` < 255), or none.
///
/// INVARIANT: unless none, `bytes[..len]` is a whole UTF-8 string: it is
/// only ever copied from a `&str` ([`InlineStr::new`]). None is marked by a
/// length no string has ([`InlineStr::NONE`]), so an `InlineStr` costs one
/// byte more than its text whether or not it can be none.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InlineStr<const N: usize> {
    /// The string's length in bytes, or `u8::MAX` for none.
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// The length that marks none; no string kept here is this long.
    const NONE_LEN: u8 = {
        assert!(N < u8::MAX as usize, "an InlineStr holds fewer than 255 bytes");
        u8::MAX
    };

    /// No string.
    pub(crate) const NONE: InlineStr<N> = InlineStr { len: Self::NONE_LEN, bytes: [0; N] };

    /// `s` kept in place; `None` when it is longer than `N` bytes.
    pub(crate) fn new(s: &str) -> Option<InlineStr<N>> {
        let mut bytes = [0u8; N];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        // `s.len() <= N < u8::MAX`, so never none's length; the filter
        // names `NONE_LEN`, which makes the compiler check `N < u8::MAX`.
        Some(InlineStr { len: u8::try_from(s.len()).ok().filter(|&l| l != Self::NONE_LEN)?, bytes })
    }

    /// The string's UTF-8 bytes; `None` for none.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        self.bytes.get(..usize::from(self.len))
    }

    /// The string; `None` for none.
    pub(crate) fn as_str(&self) -> Option<&str> {
        // Always valid UTF-8: see the INVARIANT.
        self.bytes().and_then(|b| std::str::from_utf8(b).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_strings_up_to_its_size_and_tells_none_apart() {
        for s in ["", "a", "cust443", "é-ü", "1234567"] {
            let kept = InlineStr::<7>::new(s).unwrap_or(InlineStr::NONE);
            assert_eq!(kept.as_str(), Some(s), "{s:?}");
            assert_eq!(kept.bytes(), Some(s.as_bytes()));
        }
        assert!(InlineStr::<7>::new("12345678").is_none());
        // Seven bytes of a two-byte character and more: too long, not cut.
        assert!(InlineStr::<7>::new("ééééx").is_none());
        assert_eq!(InlineStr::<7>::NONE.bytes(), None);
        assert_eq!(InlineStr::<7>::NONE.as_str(), None);
        assert_eq!(InlineStr::<0>::new("").and_then(|s| s.as_str().map(str::len)), Some(0));
        assert_eq!(std::mem::size_of::<InlineStr<23>>(), 24);
    }
}
