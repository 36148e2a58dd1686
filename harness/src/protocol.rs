//! The handler-operations protocol (docs/handler-protocol.md, version [`PROTOCOL_VERSION`]): the messages every
//! handler-level subject answers, in process (`rust`) or as JSON lines over a worker's stdin/stdout (`php`,
//! `cmd:NAME=COMMAND`, `dynamo-harness worker`).
//!
//! The message types are defined once, by the reference handler's compat layer, which answers them in process;
//! the PHP worker reads and writes the same JSON. The `hello` handshake is the harness's own (workers answer it;
//! the in-process handler never sees it), so its types live here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dynamo_session::compat::{
    ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, PhpException as ExceptionInfo,
};

/// The protocol version this harness speaks; a worker's `hello` must name it.
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

    /// docs/handler-protocol.schema.json, checked with a validator for the subset of JSON Schema it uses.
    mod schema {
        use super::*;
        use serde_json::json;

        const SCHEMA: &str = include_str!("../../docs/handler-protocol.schema.json");

        fn schema() -> Value {
            serde_json::from_str(SCHEMA).expect("the schema is JSON")
        }

        /// The keywords `validate` understands, and those it deliberately ignores (annotations; `pattern` needs a
        /// regex engine).
        const KEYWORDS: &[&str] = &[
            "$ref",
            "type",
            "const",
            "enum",
            "required",
            "properties",
            "additionalProperties",
            "items",
            "oneOf",
            "anyOf",
            "maxItems",
            "minimum",
        ];
        const IGNORED: &[&str] = &[
            "$schema",
            "$id",
            "$defs",
            "title",
            "description",
            "default",
            "pattern",
        ];

        fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
            let name = reference
                .strip_prefix("#/$defs/")
                .unwrap_or_else(|| panic!("only local $defs references: {reference}"));
            root["$defs"]
                .get(name)
                .unwrap_or_else(|| panic!("no $defs/{name}"))
        }

        fn type_matches(value: &Value, name: &str) -> bool {
            match name {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                "number" => value.is_number(),
                "integer" => value.is_i64() || value.is_u64(),
                other => panic!("unknown type {other}"),
            }
        }

        /// `Err` with the first violation found.
        fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
            let schema = schema.as_object().expect("a schema is an object");
            for keyword in schema.keys() {
                assert!(
                    KEYWORDS.contains(&keyword.as_str()) || IGNORED.contains(&keyword.as_str()),
                    "the schema uses {keyword}, which this check does not know"
                );
            }
            if let Some(Value::String(reference)) = schema.get("$ref") {
                validate(root, resolve(root, reference), value, at)?;
            }
            if let Some(types) = schema.get("type") {
                let ok = match types {
                    Value::String(name) => type_matches(value, name),
                    Value::Array(names) => names
                        .iter()
                        .any(|n| type_matches(value, n.as_str().unwrap())),
                    other => panic!("bad type {other}"),
                };
                if !ok {
                    return Err(format!("{at}: {value} is not of type {types}"));
                }
            }
            if let Some(expected) = schema.get("const")
                && expected != value
            {
                return Err(format!("{at}: {value} is not {expected}"));
            }
            if let Some(Value::Array(options)) = schema.get("enum")
                && !options.contains(value)
            {
                return Err(format!("{at}: {value} is not one of {options:?}"));
            }
            if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
                && value.as_f64().is_some_and(|v| v < minimum)
            {
                return Err(format!("{at}: {value} < {minimum}"));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && value.as_array().is_some_and(|a| a.len() as u64 > max)
            {
                return Err(format!("{at}: more than {max} items"));
            }
            if let Value::Object(object) = value {
                for key in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let key = key.as_str().unwrap();
                    if !object.contains_key(key) {
                        return Err(format!("{at}: the required key {key:?} is missing"));
                    }
                }
                let properties = schema.get("properties").and_then(Value::as_object);
                for (key, item) in object {
                    match properties.and_then(|p| p.get(key)) {
                        Some(property) => validate(root, property, item, &format!("{at}.{key}"))?,
                        None => match schema.get("additionalProperties") {
                            Some(Value::Bool(false)) => {
                                return Err(format!("{at}: the key {key:?} is not allowed"));
                            }
                            Some(extra @ Value::Object(_)) => {
                                validate(root, extra, item, &format!("{at}.{key}"))?
                            }
                            _ => {}
                        },
                    }
                }
            }
            if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
                for (index, item) in items.iter().enumerate() {
                    validate(root, item_schema, item, &format!("{at}[{index}]"))?;
                }
            }
            if let Some(Value::Array(options)) = schema.get("anyOf")
                && !options
                    .iter()
                    .any(|option| validate(root, option, value, at).is_ok())
            {
                return Err(format!("{at}: {value} matches none of anyOf"));
            }
            if let Some(Value::Array(options)) = schema.get("oneOf") {
                let matching = options
                    .iter()
                    .filter(|option| validate(root, option, value, at).is_ok())
                    .count();
                if matching != 1 {
                    return Err(format!(
                        "{at}: {value} matches {matching} of oneOf, not exactly one"
                    ));
                }
            }
            Ok(())
        }

        fn check(definition: &str, value: &Value) -> Result<(), String> {
            let root = schema();
            validate(
                &root,
                &json!({ "$ref": format!("#/$defs/{definition}") }),
                value,
                "$",
            )?;
            // The document as a whole accepts every line too.
            validate(&root, &root, value, "$")
        }

        fn every_request() -> Vec<HandlerRequest> {
            let client = ClientSpec {
                endpoint: "http://127.0.0.1:1".into(),
                region: "us-east-1".into(),
                key: "k".into(),
                secret: "s".into(),
                retries: None,
            };
            vec![
                HandlerRequest::NewHandler {
                    client: client.clone(),
                    config: json!({"table_name": "t", "consistent_read": 0}),
                    ini: json!({"session.gc_maxlifetime": "1440"}),
                    clock: ClockSpec::Frozen { at: 1_795_962_067 },
                },
                HandlerRequest::NewHandler {
                    client: ClientSpec {
                        retries: Some(0),
                        ..client
                    },
                    config: json!([]),
                    ini: json!({}),
                    clock: ClockSpec::System,
                },
                HandlerRequest::SetClock {
                    clock: ClockSpec::Offset { seconds: -100 },
                },
                HandlerRequest::Open {
                    save_path: String::new(),
                    name: "CAKEPHP".into(),
                },
                HandlerRequest::Read { id: "abc".into() },
                HandlerRequest::write("abc", b"a|s:1:\"b\";\x80"),
                HandlerRequest::Close {
                    session_id: "abc".into(),
                },
                HandlerRequest::Destroy { id: "abc".into() },
                HandlerRequest::Gc {
                    max_lifetime: json!(1440),
                },
                HandlerRequest::GarbageCollect,
            ]
        }

        #[test]
        fn every_request_the_harness_sends_is_valid_and_documented() {
            let root = schema();
            let ops: Vec<&str> = root["$defs"]["request"]["properties"]["op"]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|op| op.as_str().unwrap())
                .collect();
            let mut sent = vec!["hello".to_owned()];
            for request in every_request() {
                let value = serde_json::to_value(&request).unwrap();
                let op = value["op"].as_str().unwrap();
                assert_eq!(op, request.op_name());
                assert!(ops.contains(&op), "{op} is not in the schema's op enum");
                check("request", &value).unwrap_or_else(|e| panic!("{value}: {e}"));
                // Every key the harness sends is documented for its op.
                let definition = &root["$defs"][format!("request_{op}")]["properties"];
                for key in value.as_object().unwrap().keys() {
                    assert!(
                        definition.get(key).is_some(),
                        "{op}: the key {key} is not in the schema"
                    );
                }
                if !sent.iter().any(|s| s == op) {
                    sent.push(op.to_owned());
                }
            }
            check("request", &serde_json::from_str(HELLO_REQUEST).unwrap()).unwrap();
            sent.sort_unstable();
            let mut documented: Vec<String> = ops.iter().map(|op| op.to_string()).collect();
            documented.sort_unstable();
            assert_eq!(
                sent, documented,
                "the schema's ops are exactly the protocol's"
            );
        }

        #[test]
        fn malformed_requests_are_rejected() {
            for bad in [
                json!({"op": "explode"}),
                json!({"op": "read"}),
                json!({"op": "read", "id": 7}),
                json!({"op": "gc", "max_lifetime": "1440"}),
                json!({"op": "set_clock", "clock": {"mode": "frozen"}}),
                json!({"op": "new_handler", "client": {"endpoint": "e"}}),
                json!({"id": "x"}),
            ] {
                assert!(check("request", &bad).is_err(), "{bad} passed");
            }
        }

        #[tokio::test]
        async fn every_kind_of_response_is_valid() {
            let hello = Hello {
                name: "w".into(),
                version: "3.300.0".into(),
                protocol: PROTOCOL_VERSION,
                can: HelloCan::default(),
                deviations_of: None,
            };
            let mut responses = vec![
                serde_json::to_value(hello.response()).unwrap(),
                json!({"value": true, "warnings": [], "exception": null}),
                json!({"value": false, "warnings": ["Error writing session CAKEPHP_x: ..."], "exception": null}),
                json!({"value": null, "warnings": [], "exception": null}),
                json!({"value": bytes_value(b"a|i:1;\x00\xff"), "warnings": [], "exception": null}),
                json!({"value": null, "warnings": [], "exception":
                    {"class": "DynamoDbException", "code": "ValidationException", "message": "m"}}),
            ];
            // What the reference handler answers for worker-level failures.
            let mut session = dynamo_session::compat::CompatSession::default();
            for line in [
                "not json",
                r#"{"op":"explode"}"#,
                r#"{"op":"read","id":"x"}"#,
            ] {
                responses.push(serde_json::from_str(&session.handle_json(line).await).unwrap());
            }
            for response in responses {
                check("response", &response).unwrap_or_else(|e| panic!("{response}: {e}"));
                let typed: HandlerResponse = serde_json::from_value(response.clone()).unwrap();
                assert_eq!(serde_json::to_value(typed).unwrap(), response);
            }
            for bad in [
                json!({"value": true, "warnings": []}),
                json!({"value": {"b64": "YQ==", "extra": 1}, "warnings": [], "exception": null}),
                json!({"value": true, "warnings": [], "exception": {"class": "X"}}),
                json!({"value": {"name": "w", "version": "1", "protocol": 2, "can": {}}, "warnings": [], "exception": null}),
            ] {
                assert!(check("response", &bad).is_err(), "{bad} passed");
            }
        }
    }
}
