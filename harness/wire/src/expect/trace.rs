//! Recorded traces as expectations: a trace in the `fixtures/sdk-traces` format becomes the expected call
//! sequence, with what depends on the run rather than on the handler loosened.

use serde_json::Value;

use super::calls::{ExpectedCall, Quantity};
use crate::record::WireRecord;

/// The table the shared traces were recorded against; it stands for the case's own table.
pub const TRACE_TABLE: &str = "dynamo_cakephp_sessions";

/// The calls of `records` exactly, nothing loosened (comparing one recorded trace with another).
pub fn expected_exactly(records: &[WireRecord]) -> Vec<ExpectedCall> {
    records
        .iter()
        .map(|record| ExpectedCall {
            status: Some(record.status),
            error_type: Some(record.error_type.clone().map_or(Value::Null, Value::String)),
            ..ExpectedCall::request(&record.op, record.request.clone())
        })
        .collect()
}

/// The expected calls of `records` for a run whose table is `table`. Three things in a trace depend on the run
/// rather than on the handler, and are loosened:
/// - runs of lock attempts refused with ConditionalCheckFailedException become "one or more" (timing);
/// - the keys inside garbage collection's BatchWriteItem calls become `<ANY>`: which expired item lands in
///   which batch follows the backend's Scan order. The batch sizes are still compared;
/// - CakePHP's `Config.userAgent` hash, which depends on the recording browser and salt.
pub fn expected_from_records(records: &[WireRecord], table: &str) -> Vec<ExpectedCall> {
    let mut expected: Vec<ExpectedCall> = Vec::new();
    for record in records {
        let mut request = open_user_agent(&retable(&record.request, table));
        if record.op == "BatchWriteItem" {
            request = any_keys(&request);
        }
        let timing_dependent =
            record.error_type.as_deref() == Some("ConditionalCheckFailedException");
        let call = ExpectedCall {
            status: Some(record.status),
            error_type: Some(record.error_type.clone().map_or(Value::Null, Value::String)),
            quantity: match timing_dependent {
                true => Quantity::AtLeast(1),
                false => Quantity::Exactly(1),
            },
            ..ExpectedCall::request(&record.op, request)
        };
        if timing_dependent && expected.last() == Some(&call) {
            continue;
        }
        expected.push(call);
    }
    expected
}

/// CakePHP stores `Config.userAgent` = md5(User-Agent . Security.salt); the lab's browser and salt are not
/// this run's, so the hash in a trace stands for whatever the app computed.
fn open_user_agent(value: &Value) -> Value {
    const MARK: &str = r#"s:9:"userAgent";s:32:""#;
    match value {
        Value::String(text) if text.contains(MARK) => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(at) = rest.find(MARK) {
                let hash_start = at + MARK.len();
                out.push_str(&rest[..hash_start]);
                let hash = rest.get(hash_start..hash_start + 32);
                if hash.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) {
                    out.push_str("<ANY>");
                    rest = &rest[hash_start + 32..];
                } else {
                    rest = &rest[hash_start..];
                }
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(open_user_agent).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), open_user_agent(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every `Key` inside the request becomes `<ANY>`.
fn any_keys(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(any_keys).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "Key" {
                        Value::String("<ANY>".to_owned())
                    } else {
                        any_keys(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces the trace's table name (as a value or as a map key, as in BatchWriteItem's RequestItems).
fn retable(value: &Value, table: &str) -> Value {
    match value {
        Value::String(s) if s == TRACE_TABLE => Value::String(table.to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| retable(v, table)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = if k == TRACE_TABLE {
                        table.to_owned()
                    } else {
                        k.clone()
                    };
                    (key, retable(v, table))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labs_user_agent_hash_is_left_open() {
        let data = serde_json::json!({"S": r#"Config|a:3:{s:9:"userAgent";s:32:"cb1ba00d4ac383820f116b1c7bf41827";s:4:"time";i:<NOW+28800>;}"#});
        assert_eq!(
            open_user_agent(&data),
            serde_json::json!({"S": r#"Config|a:3:{s:9:"userAgent";s:32:"<ANY>";s:4:"time";i:<NOW+28800>;}"#})
        );
    }

    fn shared(name: &str, table: &str) -> Vec<ExpectedCall> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/sdk-traces")
            .join(name);
        expected_from_records(&crate::read_trace(&path).unwrap(), table)
    }

    #[test]
    fn shared_traces_load_as_expectations_with_lock_retries_collapsed() {
        let calls = shared("f_concurrent_same_session.jsonl", "t1");
        // 37 recorded calls: 4 successful UpdateItems and 33 refused lock attempts in one run.
        assert!(calls.len() < 37, "{} calls", calls.len());
        assert!(calls.iter().any(|c| c.quantity == Quantity::AtLeast(1)));
        let gc = shared("g_garbage_collect.jsonl", "t1");
        let batch = gc.iter().find(|c| c.op == "BatchWriteItem").unwrap();
        let request = batch.request.as_ref().unwrap();
        assert!(request["RequestItems"].get("t1").is_some(), "{request}");
    }
}
