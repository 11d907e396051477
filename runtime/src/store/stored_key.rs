//! How the store keeps a key: the common key, one short string (a customer
//! id, a card hash, a device id), sits inside the table entry itself, so
//! finding it reads no other memory; other keys are kept as their parts.
//! In a table of millions of keys every pointer followed is a cache miss:
//! a `Vec<KeyPart>` of an `Arc<str>` costs two of them per lookup.

use crate::inline_str::InlineStr;
use crate::velocity::{KeyPart, KeyRef};
use std::borrow::Cow;

/// The longest string kept inside the entry.
const INLINE: usize = 22;

/// A key as the store keeps it.
#[derive(Clone, Debug)]
pub(crate) enum StoredKey {
    /// One string of at most [`INLINE`] bytes (never none).
    Short(InlineStr<INLINE>),
    /// One part of any other kind (an IP address, a number, a longer string).
    One(KeyPart),
    /// Several parts.
    Parts(Box<[KeyPart]>),
}

impl StoredKey {
    /// The stored form of `key` (its strings copied).
    pub(crate) fn of(key: &[KeyRef<'_>]) -> StoredKey {
        match key {
            [KeyRef::Str(s)] => InlineStr::new(s).map_or_else(|| StoredKey::One(KeyRef::Str(s).to_part()), StoredKey::Short),
            [one] => StoredKey::One(one.to_part()),
            parts => StoredKey::Parts(parts.iter().map(|p| p.to_part()).collect()),
        }
    }

    /// True when this is `key`.
    pub(crate) fn matches(&self, key: &[KeyRef<'_>]) -> bool {
        match (self, key) {
            (StoredKey::Short(short), [KeyRef::Str(s)]) => short.bytes() == Some(s.as_bytes()),
            (StoredKey::Short(_), _) => false,
            (StoredKey::One(part), [other]) => part.as_key_ref() == *other,
            (StoredKey::One(_), _) => false,
            (StoredKey::Parts(parts), _) => parts.iter().map(KeyPart::as_key_ref).eq(key.iter().copied()),
        }
    }

    /// The key's parts.
    pub(crate) fn parts(&self) -> Cow<'_, [KeyPart]> {
        match self {
            StoredKey::Short(short) => Cow::Owned(vec![KeyPart::Str(short.as_str().unwrap_or_default().into())]),
            StoredKey::One(part) => Cow::Owned(vec![part.clone()]),
            StoredKey::Parts(parts) => Cow::Borrowed(parts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::velocity::Key;
    use std::sync::Arc;

    fn to_key(k: &StoredKey) -> Key {
        k.parts().into_owned()
    }

    fn refs(key: &[KeyPart]) -> Vec<KeyRef<'_>> {
        key.iter().map(KeyPart::as_key_ref).collect()
    }

    fn s(text: &str) -> KeyPart {
        KeyPart::Str(Arc::from(text))
    }

    #[test]
    fn every_form_matches_its_own_key_only_and_gives_it_back() {
        let keys: Vec<Key> = vec![
            vec![s("")],
            vec![s("cust44394")],
            vec![s("é-ü")],
            vec![s(&"x".repeat(INLINE))],
            vec![s(&"x".repeat(INLINE + 1))],
            vec![KeyPart::Ip(7)],
            vec![KeyPart::Num(0)],
            vec![s("a"), s("b")],
            vec![s("ab")],
            vec![KeyPart::Int(5), KeyPart::Bool(true)],
        ];
        for (i, a) in keys.iter().enumerate() {
            let stored = StoredKey::of(&refs(a));
            assert_eq!(&to_key(&stored), a);
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(stored.matches(&refs(b)), i == j, "{a:?} against {b:?}");
            }
        }
        assert!(matches!(StoredKey::of(&refs(&keys[1])), StoredKey::Short(_)));
        assert!(matches!(StoredKey::of(&refs(&keys[4])), StoredKey::One(_)));
    }
}
