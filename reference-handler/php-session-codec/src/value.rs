//! The value model: what one PHP `serialize()` string can hold.

/// An array key or object property name.
///
/// PHP arrays have integer and string keys only. A key is kept exactly as the serialized bytes spelt it: a
/// string key `"5"` stays `Key::String(b"5")` even though PHP would turn it into the integer 5 on
/// unserialize, because re-encoding must give the same bytes back. Code that *builds* keys the way a PHP
/// assignment would (`$a["5"] = ...`) should use [`Key::from_php_string`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    String(Vec<u8>),
}

impl Key {
    /// The key PHP uses for `$array[$s]` with a string `$s`: a canonical decimal integer string
    /// (`0`, `-12`, `42`; no leading zeros, no `+`, no `-0`, within `i64`) becomes an integer key; anything
    /// else stays a string (Zend's `ZEND_HANDLE_NUMERIC_STR`).
    pub fn from_php_string(s: &[u8]) -> Key {
        match canonical_int(s) {
            Some(n) => Key::Int(n),
            None => Key::String(s.to_vec()),
        }
    }

    /// The key as PHP would print it (`(string)$key`), lossy for non-UTF-8 bytes.
    pub fn to_string_lossy(&self) -> String {
        match self {
            Key::Int(n) => n.to_string(),
            Key::String(s) => String::from_utf8_lossy(s).into_owned(),
        }
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::String(s.as_bytes().to_vec())
    }
}

impl From<i64> for Key {
    fn from(n: i64) -> Key {
        Key::Int(n)
    }
}

/// `s` as an integer if PHP would treat it as an integer array key.
fn canonical_int(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == s.len(), // "0" yes, "-0" no
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    // ASCII digits only, so the conversion cannot fail; out-of-range values stay strings, as in PHP.
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// One PHP value, as `serialize()` writes it.
///
/// Strings are bytes (PHP strings are not text). Arrays keep their entries in order, duplicates included,
/// so that any input decodes and re-encodes to the same bytes. Objects, `Serializable` payloads, enums and
/// the two reference forms are carried opaquely: enough to re-encode them exactly, nothing more.
///
/// Equality is structural; floats compare as `f64` (so `NaN != NaN` and `0.0 == -0.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum PhpValue {
    /// `N;`
    Null,
    /// `b:0;` / `b:1;`
    Bool(bool),
    /// `i:42;`
    Int(i64),
    /// `d:0.5;`
    Float(f64),
    /// `s:5:"bytes";`
    String(Vec<u8>),
    /// `a:2:{...}`
    Array(Vec<(Key, PhpValue)>),
    /// `O:8:"stdClass":1:{...}`: class name and properties (private/protected names keep their NUL-mangled
    /// form, e.g. `"\0Class\0prop"`).
    Object {
        class: Vec<u8>,
        properties: Vec<(Key, PhpValue)>,
    },
    /// `C:3:"Foo":5:{...}`: a class implementing `Serializable`; `payload` is the raw bytes between the braces.
    Serializable { class: Vec<u8>, payload: Vec<u8> },
    /// `E:11:"Suit:Hearts";`: a PHP 8.1 enum case, `Class:Case`.
    Enum(Vec<u8>),
    /// `r:N;`: the N-th value (1-based, over the whole session) again, as an object handle copy.
    ObjectRef(u64),
    /// `R:N;`: a PHP reference (`&`) to the N-th value.
    Reference(u64),
}

impl PhpValue {
    /// A string value from UTF-8 text.
    pub fn str(s: &str) -> PhpValue {
        PhpValue::String(s.as_bytes().to_vec())
    }

    /// The entries of an array (not of an object).
    pub fn as_array(&self) -> Option<&[(Key, PhpValue)]> {
        match self {
            PhpValue::Array(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            PhpValue::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            PhpValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// `$array[$key]`. With duplicate keys (only crafted input has them) the last one wins, which is the
    /// value PHP's unserialize keeps.
    pub fn get(&self, key: &Key) -> Option<&PhpValue> {
        self.as_array()?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Mutable `$array[$key]`, last duplicate wins (see [`PhpValue::get`]).
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut PhpValue> {
        match self {
            PhpValue::Array(entries) => entries
                .iter_mut()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// `$array[$key] = $value`: replaces in place (keeping the position, as PHP does) or appends.
    /// Returns false, changing nothing, when `self` is not an array.
    pub fn insert(&mut self, key: Key, value: PhpValue) -> bool {
        let PhpValue::Array(entries) = self else {
            return false;
        };
        match entries.iter_mut().rev().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => entries.push((key, value)),
        }
        true
    }

    /// `unset($array[$key])`; returns the removed value (the last, if duplicated).
    pub fn remove(&mut self, key: &Key) -> Option<PhpValue> {
        let PhpValue::Array(entries) = self else {
            return None;
        };
        let index = entries.iter().rposition(|(k, _)| k == key)?;
        Some(entries.remove(index).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_string_keys_follow_php() {
        for (s, want) in [
            ("0", Key::Int(0)),
            ("42", Key::Int(42)),
            ("-7", Key::Int(-7)),
            ("-9223372036854775808", Key::Int(i64::MIN)),
            ("9223372036854775807", Key::Int(i64::MAX)),
        ] {
            assert_eq!(Key::from_php_string(s.as_bytes()), want, "{s}");
        }
        for s in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            "1.0",
            " 1",
            "1 ",
            "1e3",
            "abc",
            "9223372036854775808",
        ] {
            assert_eq!(Key::from_php_string(s.as_bytes()), Key::from(s), "{s:?}");
        }
    }

    #[test]
    fn insert_replaces_in_place_and_remove_deletes() {
        let mut a = PhpValue::Array(vec![]);
        assert!(a.insert("a".into(), PhpValue::Int(1)));
        assert!(a.insert("b".into(), PhpValue::Int(2)));
        assert!(a.insert("a".into(), PhpValue::Int(3)));
        assert_eq!(
            a,
            PhpValue::Array(vec![
                ("a".into(), PhpValue::Int(3)),
                ("b".into(), PhpValue::Int(2))
            ])
        );
        assert_eq!(a.remove(&"a".into()), Some(PhpValue::Int(3)));
        assert_eq!(a.get(&"b".into()), Some(&PhpValue::Int(2)));
        assert!(!PhpValue::Null.insert("x".into(), PhpValue::Null));
    }
}
