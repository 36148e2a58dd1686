//! PHP session encoding (`session.serialize_handler = php`) and PHP `serialize()` values, byte-exact both
//! ways.
//!
//! * [`decode_session`] / [`encode_session`]: the whole session string, `name|value` pairs.
//! * [`unserialize`] / [`serialize`]: one value.
//! * [`PhpValue`] / [`Key`]: the value model. Strings are bytes; arrays are ordered entry lists; objects,
//!   `Serializable` payloads, enums and references are kept opaquely so they re-encode unchanged.
//!
//! Anything PHP 8's `serialize()` wrote decodes and re-encodes to the same bytes. Input that PHP accepts
//! but never writes (`i:+5;`, `d:0.50;`) decodes to the value and re-encodes canonically. Decoding never
//! panics, never recurses deeper than [`DEFAULT_MAX_DEPTH`] and never allocates more than the input
//! could describe. Floats are written as PHP 8 writes them with `serialize_precision = -1`; see
//! [`format_float`].

mod de;
mod error;
mod float;
mod ser;
mod session;
mod value;

pub use de::{DEFAULT_MAX_DEPTH, unserialize};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use float::{format_float, parse_float};
pub use ser::{serialize, serialize_into};
pub use session::{SessionVars, decode_session, encode_session};
pub use value::{Key, PhpValue};
