//! Writing PHP serialized values, byte for byte what PHP 8's `serialize()` writes for the same value.

use crate::float::format_float;
use crate::value::{Key, PhpValue};
use std::io::Write;

/// `serialize($value)`.
pub fn serialize(value: &PhpValue) -> Vec<u8> {
    let mut out = Vec::new();
    serialize_into(value, &mut out);
    out
}

/// Appends `serialize($value)` to `out`.
pub fn serialize_into(value: &PhpValue, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, so the io::Result of write! is always Ok.
    match value {
        PhpValue::Null => out.extend_from_slice(b"N;"),
        PhpValue::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
        PhpValue::Int(n) => {
            let _ = write!(out, "i:{n};");
        }
        PhpValue::Float(v) => {
            let _ = write!(out, "d:{};", format_float(*v));
        }
        PhpValue::String(s) => {
            quoted(out, b's', s);
            out.push(b';');
        }
        PhpValue::Array(entries) => {
            out.push(b'a');
            out.push(b':');
            entries_into(entries, out);
        }
        PhpValue::Object { class, properties } => {
            quoted(out, b'O', class);
            out.push(b':');
            entries_into(properties, out);
        }
        PhpValue::Serializable { class, payload } => {
            quoted(out, b'C', class);
            let _ = write!(out, ":{}:{{", payload.len());
            out.extend_from_slice(payload);
            out.push(b'}');
        }
        PhpValue::Enum(name) => {
            quoted(out, b'E', name);
            out.push(b';');
        }
        PhpValue::ObjectRef(n) => {
            let _ = write!(out, "r:{n};");
        }
        PhpValue::Reference(n) => {
            let _ = write!(out, "R:{n};");
        }
    }
}

/// `<tag>:<len>:"<bytes>"`.
fn quoted(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    let _ = write!(out, ":{}:\"", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// `<count>:{<key><value>...}`.
fn entries_into(entries: &[(Key, PhpValue)], out: &mut Vec<u8>) {
    let _ = write!(out, "{}:{{", entries.len());
    for (key, value) in entries {
        match key {
            Key::Int(n) => {
                let _ = write!(out, "i:{n};");
            }
            Key::String(s) => {
                quoted(out, b's', s);
                out.push(b';');
            }
        }
        serialize_into(value, out);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_php_bytes() {
        let v = PhpValue::Array(vec![
            (
                Key::from("userAgent"),
                PhpValue::str("cb1ba00d4ac383820f116b1c7bf41827"),
            ),
            (Key::from("time"), PhpValue::Int(1795990837)),
            (Key::Int(-3), PhpValue::Float(1e25)),
            (Key::from("bin"), PhpValue::String(b"\x00\xff".to_vec())),
            (Key::from("n"), PhpValue::Null),
            (Key::from("t"), PhpValue::Bool(true)),
        ]);
        assert_eq!(
            serialize(&v),
            b"a:6:{s:9:\"userAgent\";s:32:\"cb1ba00d4ac383820f116b1c7bf41827\";s:4:\"time\";i:1795990837;\
              i:-3;d:1.0E+25;s:3:\"bin\";s:2:\"\x00\xff\";s:1:\"n\";N;s:1:\"t\";b:1;}"
                .to_vec()
        );
    }
}
