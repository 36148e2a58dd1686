//! The handshake: what a worker process is and what it can do (docs/handler-protocol.md, "hello"). Workers
//! answer it before any other request; the in-process handler never sees it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HandlerResponse;

/// The protocol version this crate speaks; a worker's `hello` must name it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The handshake request, as one line (without the newline).
pub const HELLO_REQUEST: &str = r#"{"op":"hello"}"#;

/// The `value` of a worker's answer to `{"op":"hello"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// What the worker is (`dynamo-session-php-worker`, `dynamo-harness-worker`, ...).
    pub name: String,
    /// Its version (the PHP worker gives the AWS SDK's).
    pub version: String,
    /// The protocol version it speaks.
    pub protocol: u32,
    /// What it can do beyond the required operations.
    pub can: HelloCan,
    /// The built-in subject this program is another face of (the reference handler behind the protocol
    /// says `rust`): that subject's documented deviations from the SDK are its deviations too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviations_of: Option<String>,
}

/// Optional abilities a worker announces in `hello`; an absent key is `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloCan {
    /// Honours `{"mode":"frozen","at":N}` clocks (the handler's `time()` stands still).
    #[serde(default)]
    pub freeze_clock: bool,
    /// Honours `{"mode":"offset","seconds":N}` clocks and `set_clock` mid-case.
    #[serde(default)]
    pub move_clock: bool,
}

impl Hello {
    /// This hello as a protocol response.
    pub fn response(&self) -> HandlerResponse {
        HandlerResponse {
            value: serde_json::to_value(self).expect("a hello serialises"),
            warnings: Vec::new(),
            exception: None,
        }
    }

    /// Reads a worker's answer to `hello`: its value, if the answer is a hello of this protocol version;
    /// otherwise what is wrong with it, in words.
    pub fn from_response(response: &HandlerResponse) -> Result<Hello, String> {
        if let Some(exception) = &response.exception {
            return Err(format!(
                "it answered hello with {}: {} (a protocol {PROTOCOL_VERSION} worker must answer hello, see \
                 docs/handler-protocol.md)",
                exception.class, exception.message
            ));
        }
        let hello: Hello = serde_json::from_value(response.value.clone()).map_err(|e| {
            format!(
                "its hello value {} is not {{\"name\",\"version\",\"protocol\",\"can\"}}: {e}",
                response.value
            )
        })?;
        if hello.protocol != PROTOCOL_VERSION {
            return Err(format!(
                "it speaks protocol version {}; this harness speaks version {PROTOCOL_VERSION}",
                hello.protocol
            ));
        }
        Ok(hello)
    }
}

/// Whether a request line is the `hello` handshake (the workers answer it before handing other lines to the
/// handler).
pub fn is_hello(line: &str) -> bool {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|request| {
            request
                .get("op")
                .and_then(Value::as_str)
                .map(|op| op == "hello")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_answers_parse_and_wrong_versions_are_named() {
        let hello = Hello {
            name: "w".into(),
            version: "1.2".into(),
            protocol: PROTOCOL_VERSION,
            can: HelloCan {
                freeze_clock: true,
                move_clock: false,
            },
            deviations_of: None,
        };
        let line = serde_json::to_string(&hello.response()).unwrap();
        assert_eq!(
            line,
            r#"{"value":{"name":"w","version":"1.2","protocol":1,"can":{"freeze_clock":true,"move_clock":false}},"warnings":[],"exception":null}"#
        );
        let back: HandlerResponse = serde_json::from_str(&line).unwrap();
        assert_eq!(Hello::from_response(&back).unwrap(), hello);
        // An absent ability is `false`.
        let quiet: HandlerResponse = serde_json::from_str(
            r#"{"value":{"name":"w","version":"1","protocol":1,"can":{}},"warnings":[],"exception":null}"#,
        )
        .unwrap();
        assert_eq!(
            Hello::from_response(&quiet).unwrap().can,
            HelloCan::default()
        );
        let future: HandlerResponse = serde_json::from_str(
            r#"{"value":{"name":"w","version":"1","protocol":2,"can":{}},"warnings":[],"exception":null}"#,
        )
        .unwrap();
        assert!(
            Hello::from_response(&future)
                .unwrap_err()
                .contains("protocol version 2")
        );
        let old: HandlerResponse = serde_json::from_str(
            r#"{"value":null,"warnings":[],"exception":{"class":"HarnessProtocolError","code":null,"message":"unknown op \"hello\""}}"#,
        )
        .unwrap();
        assert!(
            Hello::from_response(&old)
                .unwrap_err()
                .contains("HarnessProtocolError: unknown op")
        );
        assert!(is_hello(HELLO_REQUEST));
        assert!(is_hello(r#" {"op": "hello"} "#));
        assert!(!is_hello(r#"{"op":"read","id":"hello"}"#));
        assert!(!is_hello("hello"));
    }
}
