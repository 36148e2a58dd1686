//! `deleteExpired` / `garbageCollect()` (spec §1.8): a paginated Scan for expired, unlocked items and
//! their deletion through a write batch (PHP's `WriteRequestBatch`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ComparisonOperator, Condition};

use crate::batch::WriteBatch;
use crate::config::ConfigError;
use crate::connection::{Connection, LOCK_ATTRIBUTE};
use crate::error::{InvalidInput, Operation, SessionError};

/// The key of an item queued for deletion (`{hash_key: value as returned by the Scan}`).
pub type ItemKey = HashMap<String, AttributeValue>;

/// A BatchWriteItem that failed with an error that is not re-queued.
///
/// PHP passes these to `batch_config.error` or drops them silently (C40); the Rust handler always lists
/// them in [`GcReport::failures`] and also calls [`crate::BatchConfig::on_error`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatchFailure {
    /// The error of the BatchWriteItem, after retries.
    pub error: SessionError,
    /// The keys that batch was to delete; they were not deleted.
    pub keys: Vec<ItemKey>,
}

/// What a garbage collection run did.
#[must_use = "a GcReport lists batch failures and abandoned deletions"]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    /// Scan pages fetched.
    pub scan_pages: u32,
    /// Items the Scan selected (expired, unlocked, `expires` of type N).
    pub items_found: usize,
    /// BatchWriteItem requests sent (excluding retries of one request by the retry policy).
    pub batches_sent: u32,
    /// Delete requests DynamoDB accepted (sent minus unprocessed minus failed).
    pub deleted: usize,
    /// Delete requests returned as `UnprocessedItems` and queued again.
    pub unprocessed_requeued: usize,
    /// Delete requests of batches rejected with ProvisionedThroughputExceededException and queued again.
    pub throttled_requeued: usize,
    /// Batches that failed otherwise.
    pub failures: Vec<BatchFailure>,
    /// Keys still queued when the final flush hit its [`crate::FlushLimit`] (PHP would keep looping).
    pub abandoned: Vec<ItemKey>,
    /// Flush rounds of the final flush.
    pub final_flush_rounds: u32,
}

impl GcReport {
    /// True when every selected item was deleted: no failures and nothing abandoned.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.abandoned.is_empty()
    }
}

/// Runs garbage collection.
///
/// Order of failure as in PHP: an invalid `batch_size` fails before any request (C42); then SDK input
/// validation of the Scan; then Scan errors propagate (C41), possibly after some batches were flushed.
pub(crate) async fn delete_expired(conn: &Connection) -> Result<GcReport, SessionError> {
    if conn
        .config
        .deferred_errors()
        .iter()
        .any(|e| matches!(e, ConfigError::BatchSizeOutOfRange { .. }))
    {
        return Err(SessionError::InvalidInput(InvalidInput {
            operation: Operation::BatchWriteItem,
            message: "\"batch_size\" must be between 2 and 25.".to_owned(),
        }));
    }
    conn.validate(Operation::Scan)?;
    let config = &conn.config;
    // PHP builds the paginator's parameters once: every page filters on the same T.
    let now = conn.clock.now_unix();
    let scan = conn
        .client
        .inner()
        .scan()
        .table_name(config.table_name())
        .attributes_to_get(config.hash_key())
        .scan_filter(
            config.session_lifetime_attribute(),
            Condition::builder()
                .comparison_operator(ComparisonOperator::Lt)
                .attribute_value_list(AttributeValue::N(now.to_string()))
                .build()
                .expect("comparison_operator is set"),
        )
        .scan_filter(
            LOCK_ATTRIBUTE,
            Condition::builder()
                .comparison_operator(ComparisonOperator::Null)
                .build()
                .expect("comparison_operator is set"),
        );

    let mut batch = WriteBatch::new(&conn.client, config.table_name(), config.batch());
    let mut start_key: Option<ItemKey> = None;
    loop {
        let page_request = scan.clone().set_exclusive_start_key(start_key.take());
        let page = conn
            .client
            .send(Operation::Scan, None, || page_request.clone().send())
            .await?;
        batch.report.scan_pages += 1;
        for item in page.items.unwrap_or_default() {
            batch.report.items_found += 1;
            // Only the hash key is projected; its value is copied as returned.
            let Some(key_value) = item.get(config.hash_key()) else {
                continue;
            };
            batch
                .delete(HashMap::from([(
                    config.hash_key().to_owned(),
                    key_value.clone(),
                )]))
                .await;
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start_key = Some(k),
            _ => break,
        }
    }
    batch.flush_until_empty().await;
    Ok(batch.report)
}
