//! PHP's session encoding for `session.serialize_handler = php`: `name|<serialized value>` repeated, with
//! nothing between the pairs. Names cannot contain `|`. `R:`/`r:` indices count across the whole session
//! (PHP shares one table between the variables); they are carried as numbers, so they survive unchanged.

use crate::de::{DEFAULT_MAX_DEPTH, Reader};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::ser::serialize_into;
use crate::value::PhpValue;

/// The session's variables (`$_SESSION`'s top-level keys and values), in stored order.
pub type SessionVars = Vec<(Vec<u8>, PhpValue)>;

/// Decodes a whole session string. The empty string is an empty session.
///
/// Stricter than PHP in one place: PHP stops silently at trailing bytes that contain no `|` and keeps the
/// variables read so far; this returns [`DecodeErrorKind::MissingNameDelimiter`]. PHP's own encoder never
/// writes such bytes. (Where PHP fails to decode it discards the whole session; callers that want PHP's
/// behaviour should treat any error as an empty session.)
pub fn decode_session(data: &[u8]) -> Result<SessionVars, DecodeError> {
    let mut vars = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some(bar) = data[pos..].iter().position(|b| *b == b'|') else {
            return Err(DecodeError {
                offset: pos,
                kind: DecodeErrorKind::MissingNameDelimiter,
            });
        };
        let name = data[pos..pos + bar].to_vec();
        let mut reader = Reader::at(data, pos + bar + 1, DEFAULT_MAX_DEPTH);
        let value = reader.value()?;
        vars.push((name, value));
        pos = reader.pos;
    }
    Ok(vars)
}

/// Encodes session variables exactly as PHP's `php` serialize handler does.
pub fn encode_session(vars: &[(Vec<u8>, PhpValue)]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    for (index, (name, value)) in vars.iter().enumerate() {
        if name.contains(&b'|') {
            return Err(EncodeError::NameContainsDelimiter {
                index,
                name: String::from_utf8_lossy(name).into_owned(),
            });
        }
        out.extend_from_slice(name);
        out.push(b'|');
        serialize_into(value, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Key;

    #[test]
    fn decodes_cakephp_session() {
        let data = b"Config|a:3:{s:9:\"userAgent\";s:32:\"cb1ba00d4ac383820f116b1c7bf41827\";s:4:\"time\";i:1795990837;s:9:\"countdown\";i:10;}counter|i:1;";
        let vars = decode_session(data).unwrap();
        assert_eq!(vars.len(), 2);
        assert_eq!(vars[0].0, b"Config");
        assert_eq!(
            vars[0].1.get(&Key::from("time")),
            Some(&PhpValue::Int(1795990837))
        );
        assert_eq!(vars[1], (b"counter".to_vec(), PhpValue::Int(1)));
        assert_eq!(encode_session(&vars).unwrap(), data.to_vec());
    }

    #[test]
    fn empty_and_odd_names() {
        assert_eq!(decode_session(b""), Ok(vec![]));
        // An empty name and a name with bytes PHP allows (anything but '|').
        let data = b"|N;a b\xff;|b:0;";
        let vars = decode_session(data).unwrap();
        assert_eq!(vars[0], (vec![], PhpValue::Null));
        assert_eq!(vars[1].0, b"a b\xff;");
        assert_eq!(encode_session(&vars).unwrap(), data.to_vec());
    }

    #[test]
    fn errors() {
        assert_eq!(
            decode_session(b"a|i:1;junk"),
            Err(DecodeError {
                offset: 6,
                kind: DecodeErrorKind::MissingNameDelimiter
            })
        );
        assert_eq!(decode_session(b"a|i:1").unwrap_err().offset, 5);
        assert_eq!(
            encode_session(&[(b"a|b".to_vec(), PhpValue::Null)]),
            Err(EncodeError::NameContainsDelimiter {
                index: 0,
                name: "a|b".into()
            })
        );
    }
}
