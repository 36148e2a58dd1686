//! `LockingSessionConnection::read`: the lock acquisition loop (spec §1.7).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeValue, AttributeValueUpdate, ExpectedAttributeValue, ReturnValue,
};

use super::{Connection, Item, LOCK_ATTRIBUTE};
use crate::error::{Operation, SessionError};
use crate::php;

/// `LOCK(k)` until acquired or the whole-second deadline `time() + max_lock_wait_time` has come.
///
/// * success: the item after the lock was set (`{hash, lock}` for an absent item, which is created);
/// * ConditionalCheckFailedException while `time() < deadline`: sleep `rand(min, max)` µs, try again;
/// * ConditionalCheckFailedException at the deadline: [`SessionError::LockNotAcquired`] (PHP: null);
/// * any other error: returned at once (PHP: null for DynamoDbException, propagation otherwise).
///
/// The deadline uses the handler's [`crate::Clock`]; the sleeps between attempts are real.
pub(super) async fn read(conn: &Connection, key: &str) -> Result<Item, SessionError> {
    conn.validate(Operation::LockItem)?;
    let config = &conn.config;
    let (hash, value) = conn.key_attribute(key);
    let request = conn
        .client
        .inner()
        .update_item()
        .table_name(config.table_name())
        .key(hash, value)
        .expected(
            LOCK_ATTRIBUTE,
            ExpectedAttributeValue::builder().exists(false).build(),
        )
        .attribute_updates(
            LOCK_ATTRIBUTE,
            AttributeValueUpdate::builder()
                .value(AttributeValue::N("1".into()))
                .build(),
        )
        .return_values(ReturnValue::AllNew);
    let deadline = conn
        .clock
        .now_unix()
        .saturating_add(config.max_lock_wait_time());
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match conn
            .client
            .send(Operation::LockItem, Some(key), || request.clone().send())
            .await
        {
            Ok(out) => return Ok(out.attributes.unwrap_or_default()),
            Err(e) if e.is_conditional_check_failed() => {
                if conn.clock.now_unix() >= deadline {
                    return Err(SessionError::LockNotAcquired {
                        key: key.to_owned(),
                        attempts,
                        waited: started.elapsed(),
                    });
                }
                let micros = php::rand_between(
                    config.min_lock_retry_microtime(),
                    config.max_lock_retry_microtime(),
                );
                tokio::time::sleep(Duration::from_micros(micros)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
