//! The case's table, handled straight on the backend (never through the proxy, so it never shows in a trace):
//! created fresh for each handler-level case, seeded, inspected, swept as DynamoDB's TTL process would.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use serde_json::Value;

use crate::dynamo_json::{item_from_json, item_to_json};

/// DynamoDB's TTL ignores expiry times more than five years in the past (spec §6 C76).
const TTL_MAX_AGE_SECONDS: i64 = 5 * 365 * 24 * 3600;

pub async fn create(client: &Client, name: &str, hash_key: &str) -> anyhow::Result<()> {
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(hash_key)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(hash_key)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .with_context(|| format!("creating table {name}"))?;
    // Local backends create tables at once (dynalite runs with --createTableMs 0); real DynamoDB needs a wait.
    for _ in 0..120 {
        let status = client
            .describe_table()
            .table_name(name)
            .send()
            .await?
            .table
            .and_then(|t| t.table_status);
        if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    anyhow::bail!("table {name} did not become ACTIVE within 30 s")
}

/// Creates the table unless it exists already (a long-lived table on a real endpoint).
pub async fn ensure(client: &Client, name: &str, hash_key: &str) -> anyhow::Result<()> {
    match client.describe_table().table_name(name).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            create(client, name, hash_key).await
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("describing table {name}"))),
    }
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

/// Plays DynamoDB's TTL process: deletes items whose lifetime attribute is a Number earlier than `now` and no more
/// than five years old; Strings, milliseconds (far future) and ancient values stay, as they do on AWS.
pub async fn ttl_sweep(
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
