//! Reading PHP serialized values (`unserialize`), byte-exact and panic-free on any input.
//!
//! The grammar follows PHP 8's `ext/standard/var_unserializer.re`. Deliberate differences, all on input
//! PHP's own `serialize()` never produces:
//! * an integer outside `i64` is an error (PHP clamps it with a warning);
//! * the legacy `S:` (escaped string) tag is an error;
//! * string keys are kept as written: `s:1:"5"` stays a string key, where PHP would make it integer 5.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::float::parse_float;
use crate::value::{Key, PhpValue};

/// How deep arrays and objects may nest. PHP's default `unserialize_max_depth` is 4096, but the code
/// that walks a decoded value (drop, clone, `serialize`, `Debug`) is recursive: measured in a debug build,
/// 1024 levels still fit a 2 MiB thread stack (tokio's worker default) and 2048 do not. 512 leaves that
/// margin, and no session comes near it. The decoder itself is iterative and uses no stack per level.
pub const DEFAULT_MAX_DEPTH: usize = 512;

/// Decodes exactly one value; the whole input must be consumed.
pub fn unserialize(input: &[u8]) -> Result<PhpValue, DecodeError> {
    let mut reader = Reader::new(input, DEFAULT_MAX_DEPTH);
    let value = reader.value()?;
    if reader.pos != input.len() {
        return Err(reader.error(DecodeErrorKind::TrailingBytes));
    }
    Ok(value)
}

/// What [`Reader::item`] read: a complete value, or the opening of an array/object.
enum Item {
    Value(PhpValue),
    Open(Container),
}

/// An array or object being read.
struct Container {
    /// `Some` for an object (`O:`), `None` for an array.
    class: Option<Vec<u8>>,
    /// The entry count the header announced.
    count: u64,
    entries: Vec<(Key, PhpValue)>,
    /// The key read for the value being read now.
    key: Option<Key>,
}

impl Container {
    fn into_value(self) -> PhpValue {
        match self.class {
            None => PhpValue::Array(self.entries),
            Some(class) => PhpValue::Object {
                class,
                properties: self.entries,
            },
        }
    }
}

/// A cursor over serialized bytes. `pos` only moves forward; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pub(crate) pos: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8], max_depth: usize) -> Self {
        Reader {
            input,
            pos: 0,
            max_depth,
        }
    }

    pub(crate) fn at(input: &'a [u8], pos: usize, max_depth: usize) -> Self {
        Reader {
            input,
            pos,
            max_depth,
        }
    }

    fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.pos,
            kind,
        }
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEof))
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), DecodeError> {
        let found = self.peek()?;
        if found != byte {
            return Err(self.error(DecodeErrorKind::Expected { expected, found }));
        }
        self.pos += 1;
        Ok(())
    }

    /// Takes `len` raw bytes.
    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let remaining = self.input.len() - self.pos;
        match usize::try_from(len) {
            Ok(n) if n <= remaining => {
                let bytes = &self.input[self.pos..self.pos + n];
                self.pos += n;
                Ok(bytes)
            }
            _ => Err(self.error(DecodeErrorKind::LengthOutOfBounds { length: len })),
        }
    }

    /// `[0-9]+` as an unsigned length or count.
    fn unsigned(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b) = self.input.get(self.pos).filter(|b| b.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| self.error(DecodeErrorKind::InvalidNumber))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(DecodeErrorKind::InvalidNumber));
        }
        Ok(n)
    }

    /// `[+-]?[0-9]+` as an `i64`. Accumulates negatively so that `i64::MIN` parses.
    fn signed(&mut self) -> Result<i64, DecodeError> {
        let negative = match self.peek()? {
            b'-' => {
                self.pos += 1;
                true
            }
            b'+' => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let start = self.pos;
        let mut n: i64 = 0;
        while let Some(b) = self.input.get(self.pos).filter(|b| b.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_sub(i64::from(b - b'0')))
                .ok_or_else(|| self.error(DecodeErrorKind::InvalidNumber))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(DecodeErrorKind::InvalidNumber));
        }
        if negative {
            Ok(n)
        } else {
            n.checked_neg()
                .ok_or_else(|| self.error(DecodeErrorKind::InvalidNumber))
        }
    }

    /// `<len>:"<bytes>"`, the shared shape of string bodies and class names.
    fn quoted(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.unsigned()?;
        self.expect(b':', "':'")?;
        self.expect(b'"', "'\"'")?;
        let bytes = self.take(len)?;
        self.expect(b'"', "'\"'")?;
        Ok(bytes)
    }

    /// Reads one value starting at the current position.
    ///
    /// Iterative, with an explicit stack of open arrays/objects: a recursive descent needs several KiB of
    /// stack per level in debug builds, which would make the depth limit a stack-size question.
    pub(crate) fn value(&mut self) -> Result<PhpValue, DecodeError> {
        let mut open: Vec<Container> = Vec::new();
        loop {
            let mut done = match self.item()? {
                Item::Value(v) => Some(v),
                Item::Open(container) => {
                    if open.len() >= self.max_depth {
                        return Err(self.error(DecodeErrorKind::DepthLimitExceeded {
                            limit: self.max_depth,
                        }));
                    }
                    open.push(container);
                    None
                }
            };
            // Hand finished values to their container; close containers whose count is reached; stop
            // when the next thing to read is a value (after its key) or the outermost value is done.
            loop {
                let Some(mut top) = open.pop() else {
                    // The stack only empties right after a value finished, so `done` is Some here.
                    return done.ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEof));
                };
                if let Some(value) = done.take() {
                    // A key was read before every value inside a container.
                    let key = top.key.take().unwrap_or(Key::Int(0));
                    top.entries.push((key, value));
                }
                if top.entries.len() as u64 == top.count {
                    self.expect(b'}', "'}'")?;
                    done = Some(top.into_value());
                    continue;
                }
                top.key = Some(self.key()?);
                open.push(top);
                break;
            }
        }
    }

    /// Reads a scalar (or opaque) value whole, or the header of an array/object.
    fn item(&mut self) -> Result<Item, DecodeError> {
        let tag_pos = self.pos;
        let tag = self.peek()?;
        self.pos += 1;
        if tag == b'N' {
            self.expect(b';', "';'")?;
            return Ok(Item::Value(PhpValue::Null));
        }
        self.expect(b':', "':'")?;
        let value = match tag {
            b'b' => {
                let found = self.peek()?;
                let value = match found {
                    b'0' => false,
                    b'1' => true,
                    _ => {
                        return Err(self.error(DecodeErrorKind::Expected {
                            expected: "'0' or '1'",
                            found,
                        }));
                    }
                };
                self.pos += 1;
                self.expect(b';', "';'")?;
                PhpValue::Bool(value)
            }
            b'i' => {
                let n = self.signed()?;
                self.expect(b';', "';'")?;
                PhpValue::Int(n)
            }
            b'd' => {
                let start = self.pos;
                let len =
                    self.input[start..]
                        .iter()
                        .position(|b| *b == b';')
                        .ok_or(DecodeError {
                            offset: self.input.len(),
                            kind: DecodeErrorKind::UnexpectedEof,
                        })?;
                let v = parse_float(&self.input[start..start + len]).ok_or(DecodeError {
                    offset: start,
                    kind: DecodeErrorKind::InvalidFloat,
                })?;
                self.pos = start + len + 1;
                PhpValue::Float(v)
            }
            b's' => {
                let bytes = self.quoted()?;
                self.expect(b';', "';'")?;
                PhpValue::String(bytes.to_vec())
            }
            b'a' => return Ok(Item::Open(self.open(None)?)),
            b'O' => {
                let class = self.quoted()?.to_vec();
                self.expect(b':', "':'")?;
                return Ok(Item::Open(self.open(Some(class))?));
            }
            b'C' => {
                let class = self.quoted()?.to_vec();
                self.expect(b':', "':'")?;
                let len = self.unsigned()?;
                self.expect(b':', "':'")?;
                self.expect(b'{', "'{'")?;
                let payload = self.take(len)?.to_vec();
                self.expect(b'}', "'}'")?;
                PhpValue::Serializable { class, payload }
            }
            b'E' => {
                let name = self.quoted()?.to_vec();
                self.expect(b';', "';'")?;
                PhpValue::Enum(name)
            }
            b'r' | b'R' => {
                let n = self.unsigned()?;
                self.expect(b';', "';'")?;
                if tag == b'r' {
                    PhpValue::ObjectRef(n)
                } else {
                    PhpValue::Reference(n)
                }
            }
            _ => {
                return Err(DecodeError {
                    offset: tag_pos,
                    kind: DecodeErrorKind::UnknownTag(tag),
                });
            }
        };
        Ok(Item::Value(value))
    }

    /// `<count>:{`, the start of an array's entries or an object's properties.
    fn open(&mut self, class: Option<Vec<u8>>) -> Result<Container, DecodeError> {
        let count = self.unsigned()?;
        self.expect(b':', "':'")?;
        self.expect(b'{', "'{'")?;
        // The smallest entry ("i:0;N;") is 6 bytes, so never reserve more than the rest of the input could
        // hold: a claimed count of 2^60 must fail on the data, not on the allocation.
        let plausible = (self.input.len() - self.pos) / 6;
        let capacity = usize::try_from(count).unwrap_or(usize::MAX).min(plausible);
        Ok(Container {
            class,
            count,
            entries: Vec::with_capacity(capacity),
            key: None,
        })
    }

    fn key(&mut self) -> Result<Key, DecodeError> {
        let start = self.pos;
        match self.peek()? {
            b'i' | b's' => {}
            _ => {
                return Err(self.error(DecodeErrorKind::InvalidKey));
            }
        }
        match self.item()? {
            Item::Value(PhpValue::Int(n)) => Ok(Key::Int(n)),
            Item::Value(PhpValue::String(s)) => Ok(Key::String(s)),
            _ => Err(DecodeError {
                offset: start,
                kind: DecodeErrorKind::InvalidKey,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> DecodeError {
        unserialize(input).expect_err(&String::from_utf8_lossy(input))
    }

    #[test]
    fn decodes_every_kind() {
        assert_eq!(unserialize(b"N;"), Ok(PhpValue::Null));
        assert_eq!(unserialize(b"b:1;"), Ok(PhpValue::Bool(true)));
        assert_eq!(
            unserialize(b"i:-9223372036854775808;"),
            Ok(PhpValue::Int(i64::MIN))
        );
        assert_eq!(unserialize(b"i:+5;"), Ok(PhpValue::Int(5)));
        assert_eq!(unserialize(b"d:0.5;"), Ok(PhpValue::Float(0.5)));
        assert_eq!(
            unserialize(b"s:4:\"a\"\xff;\";"),
            Ok(PhpValue::String(b"a\"\xff;".to_vec()))
        );
        assert_eq!(
            unserialize(b"a:2:{i:0;s:1:\"x\";s:1:\"k\";a:0:{}}"),
            Ok(PhpValue::Array(vec![
                (Key::Int(0), PhpValue::str("x")),
                (Key::from("k"), PhpValue::Array(vec![])),
            ]))
        );
        assert_eq!(
            unserialize(b"O:8:\"stdClass\":1:{s:1:\"a\";r:1;}"),
            Ok(PhpValue::Object {
                class: b"stdClass".to_vec(),
                properties: vec![(Key::from("a"), PhpValue::ObjectRef(1))],
            })
        );
        assert_eq!(
            unserialize(b"C:3:\"Foo\":4:{ab}c}"),
            Ok(PhpValue::Serializable {
                class: b"Foo".to_vec(),
                payload: b"ab}c".to_vec(),
            })
        );
        assert_eq!(
            unserialize(b"E:11:\"Suit:Hearts\";"),
            Ok(PhpValue::Enum(b"Suit:Hearts".to_vec()))
        );
        assert_eq!(unserialize(b"R:2;"), Ok(PhpValue::Reference(2)));
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(err(b"").kind, DecodeErrorKind::UnexpectedEof);
        assert_eq!(err(b"i:1").offset, 3);
        assert_eq!(err(b"i:1;x").kind, DecodeErrorKind::TrailingBytes);
        assert_eq!(
            err(b"i:9223372036854775808;").kind,
            DecodeErrorKind::InvalidNumber
        );
        assert_eq!(err(b"i:;").offset, 2);
        assert_eq!(err(b"b:2;").offset, 2);
        assert_eq!(
            err(b"s:10:\"abc\";"),
            DecodeError {
                offset: 6,
                kind: DecodeErrorKind::LengthOutOfBounds { length: 10 }
            }
        );
        assert_eq!(
            err(b"s:99999999999999999999:\"\";").kind,
            DecodeErrorKind::InvalidNumber
        );
        assert_eq!(err(b"a:1:{d:1;i:1;}").kind, DecodeErrorKind::InvalidKey);
        assert_eq!(err(b"a:1:{i:1;i:1;").kind, DecodeErrorKind::UnexpectedEof);
        assert_eq!(
            err(b"d:1x;"),
            DecodeError {
                offset: 2,
                kind: DecodeErrorKind::InvalidFloat
            }
        );
        assert_eq!(err(b"S:1:\"a\";").kind, DecodeErrorKind::UnknownTag(b'S'));
        assert_eq!(
            err(b"a:1152921504606846976:{}").kind,
            DecodeErrorKind::InvalidKey,
            "a huge claimed count must fail on the data, not allocate"
        );
    }

    #[test]
    fn depth_is_limited() {
        let nested = |depth: usize| {
            let mut s = Vec::new();
            for _ in 0..depth {
                s.extend_from_slice(b"a:1:{i:0;");
            }
            s.extend_from_slice(b"N;");
            s.extend(std::iter::repeat_n(b'}', depth));
            s
        };
        // The deepest accepted value also survives the recursive walkers on this 2 MiB test thread.
        let deepest = nested(DEFAULT_MAX_DEPTH);
        let value = unserialize(&deepest).unwrap();
        assert_eq!(crate::serialize(&value.clone()), deepest);
        assert_eq!(
            unserialize(&nested(DEFAULT_MAX_DEPTH + 1))
                .unwrap_err()
                .kind,
            DecodeErrorKind::DepthLimitExceeded {
                limit: DEFAULT_MAX_DEPTH
            }
        );
        // Far deeper than the limit: still an error, not a stack overflow.
        assert!(unserialize(&nested(100_000)).is_err());
    }
}
