//! The case's table, handled straight on the backend (never through the proxy, so it never shows in a trace):
//! created fresh for each handler-level case, seeded, inspected, swept by the backend's own TTL process where it
//! can run one on demand, else as DynamoDB's TTL process would.

use std::collections::HashMap;

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
    client
        .delete_table()
        .table_name(name)
        .send()
        .await
        .with_context(|| format!("deleting table {name}"))?;
    Ok(())
}

pub async fn put_items(client: &Client, table: &str, items: &[Value]) -> anyhow::Result<()> {
    for item in items {
        let attributes = item_from_json(item).map_err(anyhow::Error::msg)?;
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

async fn scan_raw(
    client: &Client,
    table: &str,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .with_context(|| format!("scanning {table}"))?;
        items.extend(page.items.unwrap_or_default());
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
