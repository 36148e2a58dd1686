//! The backend's raw ceiling: how many GetItem+UpdateItem pairs per second it serves straight from
//! aws-sdk-dynamodb, measured in the same run as the load so every throughput can be given as a fraction of it.
//!
//! A session request costs about one read and one write (spec §4.6 point 8), so a pair is the natural unit.
//! The measurement is bounded in time and in pairs, and stops early on goose's killswitch (Ctrl-C).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::profile::CeilingSpec;

/// Keys the workers use; kept apart from any session key (`CAKEPHP_...`).
const KEY_PREFIX: &str = "LOADCEILING_";

/// About the size of a small CakePHP session (Config plus an Auth user), so the pairs weigh what requests do.
const PAYLOAD_BYTES: usize = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    pub pairs: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    pub concurrency: usize,
    pub pairs_per_s: f64,
}

impl Ceiling {
    /// DynamoDB calls per second at the ceiling (two per pair).
    pub fn calls_per_s(&self) -> f64 {
        self.pairs_per_s * 2.0
    }
}

/// Runs `spec.concurrency` workers, each repeating GetItem then UpdateItem on a key of its own: untimed for
/// `spec.warmup_s`, then timed for `spec.duration_s` seconds or `spec.max_pairs` pairs in all, whichever comes
/// first. The items are deleted afterwards.
pub async fn measure(client: &Client, table: &str, spec: &CeilingSpec) -> anyhow::Result<Ceiling> {
    // One pair per worker first, checked: a table or credential problem shows here as an error, not as a
    // ceiling of zero.
    for worker in 0..spec.concurrency {
        pair(client, table, &key(worker))
            .await
            .with_context(|| format!("warming up the ceiling measurement on table {table}"))?;
    }
    if spec.warmup_s > 0.0 {
        window(client, table, spec, Duration::from_secs_f64(spec.warmup_s)).await?;
    }
    let (pairs, errors, elapsed_s) = window(
        client,
        table,
        spec,
        Duration::from_secs_f64(spec.duration_s),
    )
    .await?;
    for worker in 0..spec.concurrency {
        // Best effort: a leftover item only costs a row in the table.
        let _ = client
            .delete_item()
            .table_name(table)
            .key("id", AttributeValue::S(key(worker)))
            .send()
            .await;
    }
    Ok(Ceiling {
        pairs,
        errors,
        elapsed_s,
        concurrency: spec.concurrency,
        pairs_per_s: if elapsed_s > 0.0 {
            pairs as f64 / elapsed_s
        } else {
            0.0
        },
    })
}

/// One timed window: `(good pairs, failed pairs, seconds)`.
async fn window(
    client: &Client,
    table: &str,
    spec: &CeilingSpec,
    length: Duration,
) -> anyhow::Result<(u64, u64, f64)> {
    let pairs = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + length;
    let mut workers = Vec::with_capacity(spec.concurrency);
    for worker in 0..spec.concurrency {
        let client = client.clone();
        let table = table.to_owned();
        let pairs = Arc::clone(&pairs);
        let errors = Arc::clone(&errors);
        let max_pairs = spec.max_pairs;
        workers.push(tokio::spawn(async move {
            let key = key(worker);
            while Instant::now() < deadline && !goose::is_killswitch_triggered() {
                // Claim the pair before making it, so the total never passes the cap.
                if pairs.fetch_add(1, Ordering::Relaxed) >= max_pairs {
                    pairs.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                if pair(&client, &table, &key).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a ceiling worker panicked")?;
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    Ok((
        pairs.load(Ordering::Relaxed).saturating_sub(errors),
        errors,
        elapsed_s,
    ))
}

fn key(worker: usize) -> String {
    format!("{KEY_PREFIX}{worker}")
}

/// One session-like read and write: a consistent GetItem (as the SDK reads) and an UpdateItem setting data and
/// expiry (as the SDK writes).
async fn pair(client: &Client, table: &str, key: &str) -> anyhow::Result<()> {
    client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await?;
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 1440;
    client
        .update_item()
        .table_name(table)
        .key("id", AttributeValue::S(key.to_owned()))
        .update_expression("SET #d = :d, #e = :e")
        .expression_attribute_names("#d", "data")
        .expression_attribute_names("#e", "expires")
        .expression_attribute_values(":d", AttributeValue::S("x".repeat(PAYLOAD_BYTES)))
        .expression_attribute_values(":e", AttributeValue::N(expires.to_string()))
        .send()
        .await?;
    Ok(())
}
