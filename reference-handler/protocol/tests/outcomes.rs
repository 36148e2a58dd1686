//! The reference handler behind the protocol, against a backend: what the conformance catalogue, which plays the
//! `rust` subject through `CompatSession::handle`, does not reach.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use dynamo_session::{
    Clock, ManualClock, RetryPolicy, SessionClient, SessionConfig, SessionHandler,
};
use dynamo_session_protocol::{CompatHandler, CompatSession};
use serde_json::{Value, json};
use support::{Env, n, s};

// Not in the catalogue: `last_gc_report` is Rust API (C40: null, items remain).
#[tokio::test]
async fn c40_garbage_collect_drops_batch_failures_as_php_but_reports_them() {
    let env = Env::new().await;
    let c = ManualClock::at_system_now();
    let t = c.now_unix();
    for i in 0..3 {
        env.put(&[
            ("id", s(&format!("CAKEPHP_v{i:02}"))),
            ("expires", n(t - 10)),
        ])
        .await;
    }
    env.faults(json!([{"match": {"op": "BatchWriteItem"}, "action": {"error": {"code": "ValidationException"}}}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.garbage_collect().await;
    assert_eq!((out.value, out.warnings.len()), (Value::Null, 0));
    assert_eq!(compat.last_gc_report().unwrap().failures.len(), 1);
    assert_eq!(env.count_items().await, 3, "items remain");
}

// Not in the catalogue: the proxy cannot refuse a connection (its `reset` comes after connect) (C64-*).
#[tokio::test]
async fn c64_refused_endpoint_reads_empty_and_fails_writes_with_a_warning() {
    let client = SessionClient::from_static(
        "http://127.0.0.1:1",
        "us-east-1",
        "test",
        "test",
        RetryPolicy::php_default().without_backoff(),
    );
    let config = SessionConfig::builder(1440).build().unwrap();
    let mut compat = CompatHandler::from_handler({
        let mut h =
            SessionHandler::with_clock(client, config, Arc::new(ManualClock::at_system_now()));
        h.open("", "CAKEPHP");
        h
    });
    let out = compat.read("abc").await;
    assert_eq!((out.value, out.warnings.len()), (json!({"b64": ""}), 0));
    let out = compat.write("abc", b"d").await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(out.warnings[0].starts_with("Error writing session CAKEPHP_abc: Error executing \"UpdateItem\" on \"http://127.0.0.1:1\"; AWS HTTP error: "));
}

// Not in the catalogue: the `rust` subject calls `CompatSession::handle`; this drives `handle_json`, the JSON-line entry
// point.
#[tokio::test]
async fn json_lines_round_trip() {
    let env = Env::new().await;
    let mut session = CompatSession::new(Arc::new(ManualClock::at_system_now()));
    let new = json!({"op": "new_handler",
        "client": {"endpoint": env.proxy.endpoint_url(), "region": "us-east-1", "key": "k", "secret": "s", "retries": null},
        "config": {"table_name": env.table}, "ini": {"session.gc_maxlifetime": "1440"}});
    let lines = [
        new.to_string(),
        json!({"op": "open", "save_path": "", "name": "CAKEPHP"}).to_string(),
        json!({"op": "read", "id": "abc"}).to_string(),
        json!({"op": "write", "id": "abc", "data_b64": "YXxpOjE7"}).to_string(),
        json!({"op": "close", "session_id": "abc"}).to_string(),
        json!({"op": "read", "id": "abc"}).to_string(),
        json!({"op": "destroy", "id": "abc"}).to_string(),
        json!({"op": "gc", "max_lifetime": 1440}).to_string(),
        json!({"op": "garbage_collect"}).to_string(),
    ];
    let mut values = Vec::new();
    for line in lines {
        let out: Value = serde_json::from_str(&session.handle_json(&line).await).unwrap();
        assert_eq!(
            (out["warnings"].clone(), out["exception"].clone()),
            (json!([]), Value::Null),
            "{line}"
        );
        values.push(out["value"].clone());
    }
    assert_eq!(
        values,
        [
            json!(true),
            json!(true),
            json!({"b64": ""}),
            json!(true),
            json!(true),
            json!({"b64": "YXxpOjE7"}),
            json!(true),
            json!(true),
            Value::Null
        ]
    );
    let ops: Vec<String> = env.calls().into_iter().map(|r| r.op).collect();
    assert_eq!(
        ops,
        ["GetItem", "UpdateItem", "GetItem", "DeleteItem", "Scan"]
    );
}
