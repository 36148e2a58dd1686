//! The handler-operations protocol (docs/seams.md): the messages every handler-level subject answers, in process
//! (`rust`) or as JSON lines over a worker's stdin/stdout (`php`).
//!
//! The message types are defined once, by the reference handler's compat layer, which answers them in process;
//! the PHP worker reads and writes the same JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

pub use dynamo_session::compat::{
    ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, PhpException as ExceptionInfo,
};

/// `{"b64": ...}`: how bytes travel in the protocol (session data is a PHP byte string).
pub fn bytes_value(data: &[u8]) -> Value {
    serde_json::json!({ "b64": BASE64.encode(data) })
}

/// The bytes inside a `{"b64": ...}` value, if it is one.
pub fn value_bytes(value: &Value) -> Option<Vec<u8>> {
    let encoded = value.as_object()?.get("b64")?.as_str()?;
    BASE64.decode(encoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_serialise_as_the_documented_json_lines() {
        let line = serde_json::to_string(&HandlerRequest::write("abc", b"a")).unwrap();
        assert_eq!(line, r#"{"op":"write","id":"abc","data_b64":"YQ=="}"#);
        let line = serde_json::to_string(&HandlerRequest::GarbageCollect).unwrap();
        assert_eq!(line, r#"{"op":"garbage_collect"}"#);
        let line = serde_json::to_string(&HandlerRequest::SetClock {
            clock: ClockSpec::Frozen { at: 5 },
        })
        .unwrap();
        assert_eq!(
            line,
            r#"{"op":"set_clock","clock":{"mode":"frozen","at":5}}"#
        );
        let clock: ClockSpec = serde_json::from_str(r#"{"mode":"offset","seconds":-3}"#).unwrap();
        assert_eq!(clock.now_at(100), 97);
    }

    #[test]
    fn bytes_round_trip_through_b64_values() {
        let data = [0x80, 0xff, 0x00, b'a'];
        assert_eq!(value_bytes(&bytes_value(&data)).unwrap(), data);
    }
}
