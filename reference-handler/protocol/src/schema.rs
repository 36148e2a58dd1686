//! docs/handler-protocol.schema.json, checked with a validator for the subset of JSON Schema it uses: every
//! request the harness sends and every kind of response are valid, malformed ones are not.

use serde_json::{Value, json};

use crate::{
    ClientSpec, ClockSpec, CompatSession, HELLO_REQUEST, HandlerRequest, HandlerResponse, Hello,
    HelloCan, PROTOCOL_VERSION, bytes_value,
};

const SCHEMA: &str = include_str!("../../../docs/handler-protocol.schema.json");

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
    let mut session = CompatSession::default();
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
