//! DynamoDB's JSON form of items (`{"S": "x"}`, `{"N": "1"}`, `{"B": "<base64>"}`, ...) ↔ SDK attribute values.
//!
//! Scenario files and wire traces speak the JSON form; the harness seeds and inspects tables through the SDK.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// An item in DynamoDB JSON → SDK attribute values.
pub fn item_from_json(item: &Value) -> Result<HashMap<String, AttributeValue>, String> {
    let Value::Object(map) = item else {
        return Err(format!("an item must be a map of attributes, not {item}"));
    };
    map.iter()
        .map(|(name, value)| {
            attribute_from_json(value)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("attribute {name}: {e}"))
        })
        .collect()
}

/// One typed value (`{"S": "x"}`) → an SDK attribute value.
pub fn attribute_from_json(value: &Value) -> Result<AttributeValue, String> {
    let Value::Object(typed) = value else {
        return Err(format!(
            "expected a typed value such as {{S: x}}, got {value}"
        ));
    };
    let [(kind, inner)] = typed.iter().collect::<Vec<_>>()[..] else {
        return Err(format!(
            "a typed value has exactly one type key, got {value}"
        ));
    };
    let text = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!("{kind} takes a string, got {other}")),
        }
    };
    let list = |v: &Value| -> Result<Vec<Value>, String> {
        v.as_array()
            .cloned()
            .ok_or_else(|| format!("{kind} takes a list"))
    };
    let blob = |v: &Value| -> Result<Blob, String> {
        let encoded = text(v)?;
        BASE64
            .decode(encoded)
            .map(Blob::new)
            .map_err(|e| format!("B is not base64: {e}"))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text(inner)?),
        "N" => AttributeValue::N(text(inner)?),
        "B" => AttributeValue::B(blob(inner)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("BOOL takes true or false")?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(list(inner)?.iter().map(blob).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(
            list(inner)?
                .iter()
                .map(attribute_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(item_from_json(inner)?),
        other => return Err(format!("unknown DynamoDB type {other}")),
    })
}

/// SDK attribute values → an item in DynamoDB JSON.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute_to_json(value)))
            .collect::<Map<_, _>>(),
    )
}

/// One SDK attribute value → its typed JSON form.
pub fn attribute_to_json(value: &AttributeValue) -> Value {
    let typed = |kind: &str, inner: Value| serde_json::json!({ kind: inner });
    match value {
        AttributeValue::S(s) => typed("S", Value::String(s.clone())),
        AttributeValue::N(n) => typed("N", Value::String(n.clone())),
        AttributeValue::B(b) => typed("B", Value::String(BASE64.encode(b.as_ref()))),
        AttributeValue::Bool(b) => typed("BOOL", Value::Bool(*b)),
        AttributeValue::Null(_) => typed("NULL", Value::Bool(true)),
        AttributeValue::Ss(v) => typed("SS", v.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(v) => typed("NS", v.iter().cloned().map(Value::String).collect()),
        AttributeValue::Bs(v) => typed(
            "BS",
            v.iter()
                .map(|b| Value::String(BASE64.encode(b.as_ref())))
                .collect(),
        ),
        AttributeValue::L(v) => typed("L", v.iter().map(attribute_to_json).collect()),
        AttributeValue::M(m) => typed("M", item_to_json(m)),
        _ => typed("UNKNOWN", Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_round_trip() {
        let item = json!({
            "id": {"S": "CAKEPHP_abc"},
            "expires": {"N": "1795962067"},
            "data": {"B": "gP8AYWJjww=="},
            "flags": {"L": [{"BOOL": true}, {"NULL": true}, {"M": {"k": {"SS": ["a", "b"]}}}]}
        });
        assert_eq!(item_to_json(&item_from_json(&item).unwrap()), item);
    }

    #[test]
    fn bad_values_say_which_attribute() {
        let error = item_from_json(&json!({"data": {"B": "not base64!"}})).unwrap_err();
        assert!(
            error.starts_with("attribute data: B is not base64"),
            "{error}"
        );
    }
}
