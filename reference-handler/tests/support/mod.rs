//! Shared setup for the integration tests: one dynalite per test binary, one table and one recording
//! proxy per test, and the request shapes of spec §0 as JSON.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{Backend, BackendKind, TableSpec, provision_table, shared_backend};
use dynamo_session::{
    RetryPolicy, SessionClient, SessionConfig, SessionConfigBuilder, SessionHandler, SharedClock,
};
use dynamo_wire::{FaultRule, WireProxy, WireRecord};
use serde_json::{Value, json};

pub type Item = HashMap<String, AttributeValue>;

/// One test's world: the shared backend, a fresh table, a proxy in front of the backend, and a raw
/// client that talks to the backend directly (seeding and inspecting items leaves no records).
pub struct Env {
    pub backend: Arc<dyn Backend>,
    pub raw: aws_sdk_dynamodb::Client,
    pub proxy: WireProxy,
    pub table: String,
}

static TABLES: AtomicU32 = AtomicU32::new(0);

impl Env {
    pub async fn new() -> Env {
        Self::with_hash_key("id").await
    }

    pub async fn with_hash_key(hash_key: &str) -> Env {
        let backend = shared_backend(BackendKind::Dynoxide)
            .await
            .expect("dynoxide starts");
        let raw = aws_sdk_dynamodb::Client::new(&backend.sdk_config());
        let table = format!(
            "t{}_{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::SeqCst)
        );
        let spec = TableSpec {
            name: table.clone(),
            hash_key: hash_key.into(),
            ttl_attribute: "expires".into(),
        };
        provision_table(&raw, backend.capabilities(), &spec)
            .await
            .expect("table provisioned");
        let proxy = WireProxy::start(backend.endpoint_url())
            .await
            .expect("proxy starts");
        Env {
            backend,
            raw,
            proxy,
            table,
        }
    }

    /// A handler client through the proxy; PHP's retry decisions without the waiting.
    pub fn client(&self) -> SessionClient {
        self.client_with(RetryPolicy::php_default().without_backoff())
    }

    pub fn client_with(&self, policy: RetryPolicy) -> SessionClient {
        SessionClient::from_static(
            &self.proxy.endpoint_url(),
            "us-east-1",
            "test",
            "test",
            policy,
        )
    }

    /// PHP defaults (gc_maxlifetime 1440) on this test's table.
    pub fn config(&self) -> SessionConfigBuilder {
        SessionConfig::builder(1440).table_name(&self.table)
    }

    /// A handler on this table, opened with name CAKEPHP.
    pub fn handler(&self, config: SessionConfigBuilder, clock: SharedClock) -> SessionHandler {
        let mut h =
            SessionHandler::with_clock(self.client(), config.build().expect("valid config"), clock);
        h.open("", "CAKEPHP");
        h
    }

    /// The calls recorded since the last call to `calls`.
    pub fn calls(&self) -> Vec<WireRecord> {
        self.proxy.take_records()
    }

    pub fn faults(&self, rules: Value) {
        let rules: Vec<FaultRule> = serde_json::from_value(rules).expect("fault rules");
        self.proxy.set_faults(rules);
    }

    pub async fn put(&self, attrs: &[(&str, AttributeValue)]) {
        let item: Item = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.raw
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("seed item");
    }

    pub async fn get(&self, key: &str) -> Option<Item> {
        self.get_by("id", key).await
    }

    pub async fn get_by(&self, hash_key: &str, key: &str) -> Option<Item> {
        self.raw
            .get_item()
            .table_name(&self.table)
            .key(hash_key, s(key))
            .consistent_read(true)
            .send()
            .await
            .expect("inspect item")
            .item
    }

    pub async fn count_items(&self) -> usize {
        let mut n = 0;
        let mut start = None;
        loop {
            let out = self
                .raw
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            n += out.items.unwrap_or_default().len();
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return n,
            }
        }
    }

    // Request shapes of spec §0, as sent by PHP.

    pub fn get_req(&self, key: &str, consistent: bool) -> Value {
        json!({"TableName": self.table, "Key": {"id": {"S": key}}, "ConsistentRead": consistent})
    }

    pub fn touch_req(&self, key: &str, expires: i64) -> Value {
        json!({"TableName": self.table, "Key": {"id": {"S": key}},
               "AttributeUpdates": {"expires": {"Value": {"N": expires.to_string()}}, "lock": {"Action": "DELETE"}}})
    }

    pub fn putd_req(&self, key: &str, expires: i64, data: Value) -> Value {
        let mut r = self.touch_req(key, expires);
        r["AttributeUpdates"]["data"] = json!({"Value": data});
        r
    }

    pub fn deld_req(&self, key: &str, expires: i64) -> Value {
        let mut r = self.touch_req(key, expires);
        r["AttributeUpdates"]["data"] = json!({"Action": "DELETE"});
        r
    }

    pub fn del_req(&self, key: &str) -> Value {
        json!({"TableName": self.table, "Key": {"id": {"S": key}}})
    }

    pub fn lock_req(&self, key: &str) -> Value {
        json!({"TableName": self.table, "Key": {"id": {"S": key}},
               "Expected": {"lock": {"Exists": false}},
               "AttributeUpdates": {"lock": {"Value": {"N": "1"}}}, "ReturnValues": "ALL_NEW"})
    }
}

pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// (op, request) of each call.
pub fn shapes(calls: &[WireRecord]) -> Vec<(String, Value)> {
    calls
        .iter()
        .map(|r| (r.op.clone(), r.request.clone()))
        .collect()
}

/// Asserts the calls are exactly these (op, request) pairs, in order.
#[track_caller]
pub fn assert_calls(calls: &[WireRecord], expected: &[(&str, Value)]) {
    let actual = shapes(calls);
    let expected: Vec<(String, Value)> = expected
        .iter()
        .map(|(o, v)| ((*o).to_owned(), v.clone()))
        .collect();
    assert_eq!(actual, expected, "calls differ");
}

pub fn ops(calls: &[WireRecord]) -> Vec<String> {
    calls.iter().map(|r| r.op.clone()).collect()
}
