//! The protocol's messages: one request line, one response line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dynamo_session::SessionError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The exception class `new_handler` answers for configuration values the reference handler does not model
/// ([`dynamo_session::PhpFailurePoint::NotModelled`]); the PHP SDK would accept them at construction.
pub const UNSUPPORTED_CONFIGURATION: &str = "UnsupportedConfiguration";

/// The exception class of a request the worker cannot execute (bad JSON, unknown op, no handler yet).
const HARNESS_PROTOCOL_ERROR: &str = "HarnessProtocolError";

/// `{"b64": ...}`: how bytes travel in the protocol (session data is a PHP byte string).
pub fn bytes_value(data: &[u8]) -> Value {
    serde_json::json!({ "b64": BASE64.encode(data) })
}

/// The bytes inside a `{"b64": ...}` value, if it is one.
pub fn value_bytes(value: &Value) -> Option<Vec<u8>> {
    decode(value.as_object()?.get("b64")?.as_str()?).ok()
}

/// Base64 as the protocol writes it (standard alphabet, with padding): `write`'s `data_b64` and `{"b64": ...}`.
pub(crate) fn decode(encoded: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(encoded.as_bytes())
}

/// A PHP exception that escaped the handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhpException {
    /// Short class name: `InvalidArgumentException`, `DynamoDbException`, `AwsException`, or
    /// `HarnessProtocolError` for protocol misuse.
    pub class: String,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    /// The exception message.
    pub message: String,
}

impl PhpException {
    /// The exception `err` is in PHP, on a client of `endpoint`.
    pub fn from_error(err: &SessionError, endpoint: &str) -> Self {
        PhpException {
            class: err.php_class().into(),
            code: err.code().map(str::to_owned),
            message: err.php_message(endpoint),
        }
    }
}

/// One protocol response: the PHP return value, the warnings raised, the exception thrown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandlerResponse {
    /// `true`/`false`, `null`, or `{"b64": "..."}` for read.
    pub value: Value,
    /// `E_USER_WARNING` texts raised by the handler, in order.
    pub warnings: Vec<String>,
    /// The exception that escaped, if any.
    pub exception: Option<PhpException>,
}

impl HandlerResponse {
    pub(crate) fn value(value: Value) -> Self {
        Self {
            value,
            warnings: Vec::new(),
            exception: None,
        }
    }
    pub(crate) fn bytes(data: &[u8]) -> Self {
        Self::value(bytes_value(data))
    }
    pub(crate) fn exception(e: PhpException) -> Self {
        Self {
            value: Value::Null,
            warnings: Vec::new(),
            exception: Some(e),
        }
    }
    pub(crate) fn protocol_error(message: impl Into<String>) -> Self {
        Self::exception(PhpException {
            class: HARNESS_PROTOCOL_ERROR.into(),
            code: None,
            message: message.into(),
        })
    }
}

/// The `client` object of `new_handler`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSpec {
    /// Endpoint URL.
    pub endpoint: String,
    /// Region.
    pub region: String,
    /// Access key id.
    pub key: String,
    /// Secret access key.
    pub secret: String,
    /// PHP's `retries` client option; `None` is the DynamoDbClient default (10).
    #[serde(default)]
    pub retries: Option<u32>,
}

/// The clock a conformance case gives the handler: PHP's `time()` as the SDK's session classes see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ClockSpec {
    /// The session's base clock (the wall clock, normally).
    #[default]
    System,
    /// Stands still at `at` (expiry boundaries such as `expires == T`); never with a lock wait, whose
    /// whole-second deadline would not arrive.
    Frozen {
        /// Unix seconds.
        at: i64,
    },
    /// The base clock shifted by `seconds`.
    Offset {
        /// Seconds added to the base clock.
        seconds: i64,
    },
}

impl ClockSpec {
    /// What `time()` answers when the base clock reads `base_now`.
    pub fn now_at(self, base_now: i64) -> i64 {
        match self {
            ClockSpec::System => base_now,
            ClockSpec::Frozen { at } => at,
            ClockSpec::Offset { seconds } => base_now + seconds,
        }
    }
}

/// One protocol request (docs/handler-protocol.md).
// Requests are handled one at a time and never stored in bulk, so the large `new_handler` variant is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HandlerRequest {
    /// Replace the handler with a fresh object.
    NewHandler {
        /// Client options.
        client: ClientSpec,
        /// SDK handler options, as a PHP array would carry them (an object, or `[]` when empty).
        #[serde(default)]
        config: Value,
        /// ini values; `session.gc_maxlifetime` is read.
        #[serde(default)]
        ini: Value,
        /// The clock from now on (default: the base clock).
        #[serde(default)]
        clock: ClockSpec,
    },
    /// Change the clock mid-case (the handler is kept).
    SetClock {
        /// The clock from now on.
        clock: ClockSpec,
    },
    /// `open(save_path, name)`.
    Open {
        /// Save path.
        #[serde(default)]
        save_path: String,
        /// Session name.
        name: String,
    },
    /// `read(id)`.
    Read {
        /// Raw id.
        id: String,
    },
    /// `write(id, data)`.
    Write {
        /// Raw id.
        id: String,
        /// Data, base64.
        data_b64: String,
    },
    /// `close()` with PHP's `session_id()` at that moment.
    Close {
        /// The current PHP session id.
        session_id: String,
    },
    /// `destroy(id)`.
    Destroy {
        /// Raw id.
        id: String,
    },
    /// `gc(max_lifetime)`.
    Gc {
        /// Ignored, as in PHP.
        #[serde(default)]
        max_lifetime: Value,
    },
    /// `garbageCollect()`.
    GarbageCollect,
}

impl HandlerRequest {
    /// `write(id, data)`, with the data base64-encoded as the protocol carries it.
    pub fn write(id: impl Into<String>, data: &[u8]) -> Self {
        HandlerRequest::Write {
            id: id.into(),
            data_b64: BASE64.encode(data),
        }
    }

    /// The operation's name on the wire (`new_handler`, `read`, ...).
    pub fn op_name(&self) -> &'static str {
        match self {
            HandlerRequest::NewHandler { .. } => "new_handler",
            HandlerRequest::SetClock { .. } => "set_clock",
            HandlerRequest::Open { .. } => "open",
            HandlerRequest::Read { .. } => "read",
            HandlerRequest::Write { .. } => "write",
            HandlerRequest::Close { .. } => "close",
            HandlerRequest::Destroy { .. } => "destroy",
            HandlerRequest::Gc { .. } => "gc",
            HandlerRequest::GarbageCollect => "garbage_collect",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        let r: HandlerRequest =
            serde_json::from_str(r#"{"op":"write","id":"abc","data_b64":"YQ=="}"#).unwrap();
        assert_eq!(
            r,
            HandlerRequest::Write {
                id: "abc".into(),
                data_b64: "YQ==".into()
            }
        );
        let r: HandlerRequest = serde_json::from_str(r#"{"op":"garbage_collect"}"#).unwrap();
        assert_eq!(r, HandlerRequest::GarbageCollect);
        let r: HandlerRequest = serde_json::from_str(
            r#"{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1","key":"k","secret":"s","retries":null},"config":[],"ini":{"session.gc_maxlifetime":"1440"}}"#,
        )
        .unwrap();
        assert!(matches!(r, HandlerRequest::NewHandler { .. }));
    }

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
        assert_eq!(bytes_value(&data), serde_json::json!({"b64": "gP8AYQ=="}));
        assert_eq!(value_bytes(&bytes_value(&data)).unwrap(), data);
        let HandlerRequest::Write { data_b64, .. } = HandlerRequest::write("x", &data) else {
            unreachable!()
        };
        assert_eq!(decode(&data_b64).unwrap(), data);
    }
}
