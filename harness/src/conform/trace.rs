//! Recorded real-SDK traces as expectations: a trace file in the `fixtures/sdk-traces` format becomes the
//! expected call sequence of a case.

use std::path::Path;

use serde_json::Value;

use crate::scenario::ExpectedCall;

/// The table the shared traces were recorded against; it stands for the case's own table.
pub const TRACE_TABLE: &str = "dynamo_cakephp_sessions";

/// Reads `relative` (resolved against the scenario file's folder) into expected calls for a case whose table is
/// `table`. Two things in a trace depend on the run rather than on the handler, and are loosened:
/// - runs of lock attempts refused with ConditionalCheckFailedException become "one or more" (timing);
/// - the keys inside garbage collection's BatchWriteItem calls become `<ANY>`: which expired item lands in
///   which batch follows the backend's Scan order (moto's and dynalite's differ). The batch sizes are still
///   compared, and the case's final-table expectation says which items were deleted.
pub fn expected_from_trace(
    scenario_file: &Path,
    relative: &str,
    table: &str,
) -> anyhow::Result<Vec<ExpectedCall>> {
    let path = scenario_file
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(relative);
    let records = dynamo_wire::read_trace(&path)
        .map_err(|e| anyhow::anyhow!("reading trace {}: {e}", path.display()))?;
    let mut expected: Vec<ExpectedCall> = Vec::new();
    for record in records {
        let mut request = open_user_agent(&retable(&record.request, table));
        if record.op == "BatchWriteItem" {
            request = any_keys(&request);
        }
        let call = ExpectedCall {
            op: record.op.clone(),
            request: Some(request),
            status: Some(record.status),
            error_type: Some(record.error_type.clone().map_or(Value::Null, Value::String)),
            response: None,
            repeat: None,
            count: None,
        };
        let timing_dependent =
            record.error_type.as_deref() == Some("ConditionalCheckFailedException");
        if timing_dependent
            && let Some(last) = expected.last_mut()
            && last.repeat.is_some()
            && last.op == call.op
            && last.request == call.request
            && last.error_type == call.error_type
        {
            continue;
        }
        expected.push(ExpectedCall {
            repeat: timing_dependent.then(|| "1+".to_owned()),
            ..call
        });
    }
    Ok(expected)
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

    #[test]
    fn shared_traces_load_as_expectations_with_lock_retries_collapsed() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sdk-traces/x.yaml");
        let calls =
            expected_from_trace(&fixtures, "f_concurrent_same_session.jsonl", "t1").unwrap();
        // 37 recorded calls: 4 successful UpdateItems and 33 refused lock attempts in one run.
        assert!(calls.len() < 37, "{} calls", calls.len());
        assert!(calls.iter().any(|c| c.repeat.as_deref() == Some("1+")));
        let gc = expected_from_trace(&fixtures, "g_garbage_collect.jsonl", "t1").unwrap();
        let batch = gc.iter().find(|c| c.op == "BatchWriteItem").unwrap();
        let request = batch.request.as_ref().unwrap();
        assert!(request["RequestItems"].get("t1").is_some(), "{request}");
    }
}
