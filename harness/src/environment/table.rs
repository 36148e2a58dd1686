//! The case's table, handled straight on the backend (never through the proxy, so it never shows in a trace):
//! created fresh for each handler-level case, seeded, inspected, swept by the backend's own TTL process where it
//! can run one on demand, else as DynamoDB's TTL process would.
//!
//! On a shared table (`conform --table NAME`: one existing table, as on real AWS) a case runs inside a
//! [`Scope`]: its keys carry a prefix of the run's, seeds get it, reads of the table see only the items that
//! have it (and see them without it), and creating or deleting that table does nothing. The scope is a task
//! local set around each case by the plan, so every table operation of the case follows it without each call
//! site having to pass it on.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{Capabilities, TableSpec, TtlSweeper, provision_table};
use serde_json::Value;

use crate::dynamo_json::{item_from_json, item_to_json};

/// DynamoDB's TTL ignores expiry times more than five years in the past (spec §6 C76).
const TTL_MAX_AGE_SECONDS: i64 = 5 * 365 * 24 * 3600;

/// Creates the table as the plugin's operators do (the backends crate's one path: key, billing, TTL where the
/// backend has the API), or reuses one with the same key.
pub async fn provision(
    client: &Client,
    capabilities: &Capabilities,
    name: &str,
    hash_key: &str,
    ttl_attribute: &str,
) -> anyhow::Result<()> {
    if scope_for(name).is_some() {
        // The operator's table: it exists (checked when the run starts) and is never created here.
        return Ok(());
    }
    let spec = TableSpec {
        name: name.to_owned(),
        hash_key: hash_key.to_owned(),
        ttl_attribute: ttl_attribute.to_owned(),
    };
    provision_table(client, capabilities, &spec)
        .await
        .with_context(|| format!("creating table {name}"))?;
    Ok(())
}

pub async fn delete(client: &Client, name: &str) -> anyhow::Result<()> {
    if scope_for(name).is_some() {
        return Ok(());
    }
    client
        .delete_table()
        .table_name(name)
        .send()
        .await
        .with_context(|| format!("deleting table {name}"))?;
    Ok(())
}

pub async fn put_items(client: &Client, table: &str, items: &[Value]) -> anyhow::Result<()> {
    let scope = scope_for(table);
    for item in items {
        let mut attributes = item_from_json(item).map_err(anyhow::Error::msg)?;
        if let Some(scope) = &scope {
            scope.tally.write(json_len(item), WRITE_UNIT);
            if let Some(AttributeValue::S(key)) = attributes.get_mut(SHARED_HASH_KEY) {
                *key = format!("{}{key}", scope.prefix);
            }
        }
        client
            .put_item()
            .table_name(table)
            .set_item(Some(attributes))
            .send()
            .await
            .with_context(|| format!("seeding {item}"))?;
    }
    Ok(())
}

/// Every item, read consistently, in DynamoDB JSON.
pub async fn scan_all(client: &Client, table: &str) -> anyhow::Result<Vec<Value>> {
    Ok(scan_raw(client, table)
        .await?
        .iter()
        .map(item_to_json)
        .collect())
}

/// Every item; in a scope, only the scope's, with the prefix taken off their keys.
async fn scan_raw(
    client: &Client,
    table: &str,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let scope = scope_for(table);
    let filter = scope.as_ref().map(|s| s.filter.as_str());
    let items = scan_filtered(client, table, filter, scope.as_ref().map(|s| &*s.tally)).await?;
    Ok(match scope {
        None => items,
        Some(scope) => items
            .into_iter()
            .map(|mut item| {
                if let Some(AttributeValue::S(key)) = item.get_mut(SHARED_HASH_KEY)
                    && let Some(bare) = key.strip_prefix(&scope.prefix)
                {
                    *key = bare.to_owned();
                }
                item
            })
            .collect(),
    })
}

/// A consistent scan, of the items whose `id` begins with `filter` where one is given.
async fn scan_filtered(
    client: &Client,
    table: &str,
    filter: Option<&str>,
    tally: Option<&Tally>,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let mut scan = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if let Some(filter) = filter {
            scan = scan
                .filter_expression("begins_with(#k, :p)")
                .expression_attribute_names("#k", SHARED_HASH_KEY)
                .expression_attribute_values(":p", AttributeValue::S(filter.to_owned()));
        }
        let page = scan
            .send()
            .await
            .with_context(|| format!("scanning {table}"))?;
        let page_items = page.items.unwrap_or_default();
        if let Some(tally) = tally {
            // A scan is charged for what it reads, filtered out or not; what it returns is the floor.
            let bytes = page_items.iter().map(|i| json_len(&item_to_json(i))).sum();
            tally.read(bytes);
        }
        items.extend(page_items);
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// Deletes every item (HTTP subjects share one table across cases).
pub async fn clear(client: &Client, table: &str, hash_key: &str) -> anyhow::Result<()> {
    for item in scan_raw(client, table).await? {
        if let Some(key) = item.get(hash_key) {
            delete_key(client, table, hash_key, key).await?;
        }
    }
    Ok(())
}

async fn delete_key(
    client: &Client,
    table: &str,
    hash_key: &str,
    key: &AttributeValue,
) -> anyhow::Result<()> {
    // Keys read in a scope come without its prefix; the stored key has it.
    let key = match (scope_for(table), key) {
        (Some(scope), AttributeValue::S(bare)) => {
            scope.tally.write(0, WRITE_UNIT);
            AttributeValue::S(format!("{}{bare}", scope.prefix))
        }
        _ => key.clone(),
    };
    delete_stored_key(client, table, hash_key, &key).await
}

/// Deletes the item under `key` as stored (a scope's prefix included).
async fn delete_stored_key(
    client: &Client,
    table: &str,
    hash_key: &str,
    key: &AttributeValue,
) -> anyhow::Result<()> {
    client
        .delete_item()
        .table_name(table)
        .key(hash_key, key.clone())
        .send()
        .await
        .with_context(|| format!("deleting {key:?} from {table}"))?;
    Ok(())
}

/// DynamoDB's TTL process at `now`: the backend's own where it has one to run (it covers every TTL-enabled
/// table, which is why cases that sweep run alone), else the harness's [`imitate_ttl_sweep`] of `table`.
pub async fn ttl_sweep(
    sweeper: Option<&dyn TtlSweeper>,
    client: &Client,
    table: &str,
    hash_key: &str,
    lifetime_attribute: &str,
    now: i64,
) -> anyhow::Result<usize> {
    // The backend's own sweep covers every table and every run: on a shared table only the scope's items go.
    let sweeper = sweeper.filter(|_| scope_for(table).is_none());
    match sweeper {
        Some(sweeper) => sweeper
            .sweep_at(now)
            .await
            .context("the backend's TTL sweep"),
        None => imitate_ttl_sweep(client, table, hash_key, lifetime_attribute, now).await,
    }
}

/// Plays DynamoDB's TTL process: deletes items whose lifetime attribute is a Number earlier than `now` and no more
/// than five years old; Strings, milliseconds (far future) and ancient values stay, as they do on AWS.
async fn imitate_ttl_sweep(
    client: &Client,
    table: &str,
    hash_key: &str,
    lifetime_attribute: &str,
    now: i64,
) -> anyhow::Result<usize> {
    let mut deleted = 0;
    for item in scan_raw(client, table).await? {
        let Some(AttributeValue::N(expires)) = item.get(lifetime_attribute) else {
            continue;
        };
        let Ok(expires) = expires.parse::<f64>() else {
            continue;
        };
        let expires = expires as i64;
        if expires < now
            && now - expires <= TTL_MAX_AGE_SECONDS
            && let Some(key) = item.get(hash_key)
        {
            delete_key(client, table, hash_key, key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The hash key of a shared table: the plugin's (fixtures/cloudformation); cases keyed otherwise are skipped.
pub const SHARED_HASH_KEY: &str = "id";

/// What one case (or one web app's cases) may see of a shared table.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The shared table; other tables are not affected.
    pub table: String,
    /// Put in front of every key the case names (seeds, deletes), taken off every key read back and off the
    /// recorded calls. Empty for a web app the harness did not start, which keeps its own session name.
    pub prefix: String,
    /// Only items whose key begins with this are the case's: the prefix, or `NAME_` for such an app.
    pub filter: String,
    /// The session cookie (= PHP session name = key prefix) a web app in this scope uses.
    pub cookie: String,
    /// The harness's own calls on the table (seeds, checks, clean-up), for the run's estimate.
    pub tally: Arc<Tally>,
}

impl Scope {
    /// A scope whose keys are `prefix` + the case's keys; `prefix` is alphanumeric (it goes into a PHP
    /// session name) and ends in a letter no sequence number has, so that no scope's prefix starts another's.
    pub fn prefixed(table: &str, prefix: String, tally: Arc<Tally>) -> Self {
        Scope {
            table: table.to_owned(),
            filter: prefix.clone(),
            cookie: format!("{prefix}{}", super::COOKIE_NAME),
            prefix,
            tally,
        }
    }

    /// Takes the prefix off every string of a recorded call, so that it reads as the case wrote it.
    pub fn unprefix(&self, value: &Value) -> Value {
        if self.prefix.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(s.replace(&self.prefix, "")),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.unprefix(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.replace(&self.prefix, ""), self.unprefix(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// The scope of the case being played on this task, if it plays on a shared table.
pub fn scope() -> Option<Scope> {
    SCOPE.try_with(Scope::clone).ok()
}

fn scope_for(table: &str) -> Option<Scope> {
    scope().filter(|scope| scope.table == table)
}

/// Runs `work` in `scope` (or in none).
pub async fn in_scope<F: Future>(scope: Option<Scope>, work: F) -> F::Output {
    match scope {
        Some(scope) => SCOPE.scope(scope, work).await,
        None => work.await,
    }
}

/// The shared table's name where the case plays on one.
pub fn scoped_table() -> Option<String> {
    scope().map(|scope| scope.table)
}

/// The recorded calls as the case wrote them: without the scope's prefix.
pub fn unscoped(records: Vec<dynamo_wire::WireRecord>) -> Vec<dynamo_wire::WireRecord> {
    match scope() {
        None => records,
        Some(scope) => records
            .into_iter()
            .map(|record| dynamo_wire::WireRecord {
                request: scope.unprefix(&record.request),
                response: scope.unprefix(&record.response),
                ..record
            })
            .collect(),
    }
}

/// DynamoDB's unit sizes: a strongly consistent read unit covers 4 KB, a write unit 1 KB.
pub const READ_UNIT: u64 = 4096;
pub const WRITE_UNIT: u64 = 1024;

/// Calls and estimated request units, counted as they are made.
#[derive(Debug, Default)]
pub struct Tally {
    calls: AtomicU64,
    read_units: AtomicU64,
    write_units: AtomicU64,
}

impl Tally {
    fn read(&self, bytes: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.read_units
            .fetch_add(units(bytes, READ_UNIT), Ordering::Relaxed);
    }

    fn write(&self, bytes: u64, unit: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.write_units
            .fetch_add(units(bytes, unit), Ordering::Relaxed);
    }

    /// (calls, read units, write units) so far.
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.read_units.load(Ordering::Relaxed),
            self.write_units.load(Ordering::Relaxed),
        )
    }
}

/// Units for an item of `bytes`: rounded up, at least one (DynamoDB charges a unit for an empty answer too).
pub fn units(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit).max(1)
}

fn json_len(value: &Value) -> u64 {
    value.to_string().len() as u64
}

/// Checks that the shared table is there and keyed by `id`; the run does not create it.
pub async fn check_shared(client: &Client, table: &str) -> anyhow::Result<()> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .with_context(|| {
            format!(
                "--table {table}: describing it (the table must exist: the run never creates it)"
            )
        })?;
    let hash_key = described
        .table
        .and_then(|t| t.key_schema)
        .unwrap_or_default()
        .into_iter()
        .find(|k| k.key_type == aws_sdk_dynamodb::types::KeyType::Hash)
        .map(|k| k.attribute_name);
    match hash_key.as_deref() {
        Some(SHARED_HASH_KEY) => Ok(()),
        other => anyhow::bail!(
            "--table {table}: its hash key is {}, not {SHARED_HASH_KEY} (the plugin's key)",
            other.unwrap_or("missing")
        ),
    }
}

/// Deletes every item whose key begins with `prefix` (a run's items at its end, or after Ctrl-C); returns
/// how many went.
pub async fn remove_prefixed(
    client: &Client,
    table: &str,
    prefix: &str,
    tally: &Tally,
) -> anyhow::Result<usize> {
    anyhow::ensure!(
        !prefix.is_empty(),
        "refusing to clear {table} without a key prefix"
    );
    let items = scan_filtered(client, table, Some(prefix), Some(tally)).await?;
    for item in &items {
        if let Some(key) = item.get(SHARED_HASH_KEY) {
            tally.write(0, WRITE_UNIT);
            delete_stored_key(client, table, SHARED_HASH_KEY, key).await?;
        }
    }
    Ok(items.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_comes_off_recorded_calls() {
        let scope = Scope::prefixed("t", "r1c2k".to_owned(), Arc::default());
        assert_eq!(scope.cookie, "r1c2kCAKEPHP");
        let request =
            serde_json::json!({"TableName": "t", "Key": {"id": {"S": "r1c2kCAKEPHP_abc"}}});
        assert_eq!(
            scope.unprefix(&request),
            serde_json::json!({"TableName": "t", "Key": {"id": {"S": "CAKEPHP_abc"}}})
        );
        assert_eq!((units(0, READ_UNIT), units(4097, READ_UNIT)), (1, 2));
        assert_eq!(units(1024, WRITE_UNIT), 1);
    }
}
