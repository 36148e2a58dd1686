//! The handler-operations protocol (docs/seams.md): the messages every handler-level subject answers, in process
//! (`rust`) or as JSON lines over a worker's stdin/stdout (`php`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where and how the subject's DynamoDB client connects.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientSpec {
    pub endpoint: String,
    pub region: String,
    pub key: String,
    pub secret: String,
    /// `None`: the client's default (the PHP SDK's DynamoDB default is 10 retries).
    pub retries: Option<u32>,
}

/// The clock a handler reads `time()` from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ClockSpec {
    #[default]
    System,
    Frozen {
        at: i64,
    },
    Offset {
        seconds: i64,
    },
}

impl ClockSpec {
    /// What the subject's `time()` answers when the wall clock reads `wall_seconds`.
    pub fn now_at(self, wall_seconds: i64) -> i64 {
        match self {
            ClockSpec::System => wall_seconds,
            ClockSpec::Frozen { at } => at,
            ClockSpec::Offset { seconds } => wall_seconds + seconds,
        }
    }
}

/// One request to a handler-level subject.
// Requests are built and sent one at a time, never stored in bulk, so the large `new_handler` variant costs
// nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HandlerRequest {
    NewHandler {
        client: ClientSpec,
        config: Map<String, Value>,
        ini: Map<String, Value>,
        #[serde(default)]
        clock: ClockSpec,
    },
    SetClock {
        clock: ClockSpec,
    },
    Open {
        save_path: String,
        name: String,
    },
    Read {
        id: String,
    },
    Write {
        id: String,
        data_b64: String,
    },
    Close {
        session_id: String,
    },
    Destroy {
        id: String,
    },
    Gc {
        max_lifetime: i64,
    },
    GarbageCollect,
}

impl HandlerRequest {
    pub fn write(id: impl Into<String>, data: &[u8]) -> Self {
        HandlerRequest::Write {
            id: id.into(),
            data_b64: BASE64.encode(data),
        }
    }

    /// The operation's name as scenario files and reports spell it.
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

/// An exception that propagated out of the handler (PHP) or its Rust equivalent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExceptionInfo {
    pub class: String,
    pub code: Option<String>,
    pub message: String,
}

/// The answer to one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct HandlerResponse {
    /// `true`/`false`/`null`, or `{"b64": ...}` for the bytes `read` returned.
    pub value: Value,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub exception: Option<ExceptionInfo>,
}

impl HandlerResponse {
    pub fn bool(value: bool, warnings: Vec<String>) -> Self {
        HandlerResponse {
            value: Value::Bool(value),
            warnings,
            exception: None,
        }
    }

    pub fn bytes(data: &[u8], warnings: Vec<String>) -> Self {
        HandlerResponse {
            value: bytes_value(data),
            warnings,
            exception: None,
        }
    }

    pub fn exception(class: &str, code: Option<String>, message: impl Into<String>) -> Self {
        HandlerResponse {
            value: Value::Null,
            warnings: Vec::new(),
            exception: Some(ExceptionInfo {
                class: class.to_owned(),
                code,
                message: message.into(),
            }),
        }
    }
}

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
        let clock: ClockSpec = serde_json::from_str(r#"{"mode":"frozen","at":5}"#).unwrap();
        assert_eq!(clock.now_at(100), 5);
    }

    #[test]
    fn bytes_round_trip_through_b64_values() {
        let data = [0x80, 0xff, 0x00, b'a'];
        assert_eq!(value_bytes(&bytes_value(&data)).unwrap(), data);
    }
}
