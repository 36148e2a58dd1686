//! Shared setup for the integration tests: one dynoxide per test binary, one table and one recording proxy per
//! test.
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
use serde_json::Value;

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
            hash_key: "id".into(),
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

    /// Puts an item straight into the table (no record).
    pub async fn put(&self, attrs: &[(&str, AttributeValue)]) {
        let item: HashMap<String, AttributeValue> = attrs
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

    /// The number of items in the table.
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
}

pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
