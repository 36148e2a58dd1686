//! Typed errors. Decoding errors carry the byte offset (into the whole input) where the problem was seen.

use std::fmt;

/// Why a byte string is not valid PHP serialized data (or PHP session data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// Offset into the input given to the decoding function.
    pub offset: usize,
    pub kind: DecodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    UnexpectedEof,
    /// A byte other than the one the grammar requires here.
    Expected { expected: &'static str, found: u8 },
    /// A type tag this codec does not know (e.g. PHP's legacy `S:` escaped string).
    UnknownTag(u8),
    /// A malformed or out-of-range integer, length or count.
    InvalidNumber,
    /// A malformed `d:` literal.
    InvalidFloat,
    /// A length that runs past the end of the input.
    LengthOutOfBounds { length: u64 },
    /// An array key or property name that is neither `i:` nor `s:`.
    InvalidKey,
    /// Arrays/objects nested deeper than the decoder's limit.
    DepthLimitExceeded { limit: usize },
    /// Bytes after a complete single value (`unserialize` only).
    TrailingBytes,
    /// Session data: bytes that do not start with `name|` (PHP itself stops silently here).
    MissingNameDelimiter,
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::UnexpectedEof => write!(f, "unexpected end of input"),
            DecodeErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found {}", show_byte(*found))
            }
            DecodeErrorKind::UnknownTag(b) => write!(f, "unknown type tag {}", show_byte(*b)),
            DecodeErrorKind::InvalidNumber => write!(f, "invalid or out-of-range number"),
            DecodeErrorKind::InvalidFloat => write!(f, "invalid float literal"),
            DecodeErrorKind::LengthOutOfBounds { length } => {
                write!(f, "length {length} runs past the end of the input")
            }
            DecodeErrorKind::InvalidKey => {
                write!(f, "array key is neither an integer nor a string")
            }
            DecodeErrorKind::DepthLimitExceeded { limit } => {
                write!(f, "nesting deeper than {limit}")
            }
            DecodeErrorKind::TrailingBytes => write!(f, "trailing bytes after the value"),
            DecodeErrorKind::MissingNameDelimiter => {
                write!(f, "session variable name without '|'")
            }
        }
    }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// Why session variables cannot be written in PHP's session format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// PHP refuses to encode a session whose variable names contain the `|` delimiter (it then writes an
    /// empty session instead); so does this codec, naming the offending variable.
    #[error("session variable {index} has a name containing '|': {name:?}")]
    NameContainsDelimiter { index: usize, name: String },
}
