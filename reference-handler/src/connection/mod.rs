//! The handler's connection: the DynamoDB requests of `StandardSessionConnection` and
//! `LockingSessionConnection` (spec §1.6), each built with exactly the legacy parameters PHP sends.

mod locking;
mod standard;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::client::SessionClient;
use crate::clock::SharedClock;
use crate::config::{ConfigError, SessionConfig};
use crate::error::{InvalidInput, Operation, SessionError};

/// The name of the lock attribute; fixed in PHP, not configurable.
pub const LOCK_ATTRIBUTE: &str = "lock";

/// An item as returned by DynamoDB (empty when absent).
pub type Item = HashMap<String, AttributeValue>;

/// Sends the session requests. The locking variant differs only in `read` (spec §1.1).
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) client: SessionClient,
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) clock: SharedClock,
}

impl Connection {
    /// Reads an item: GetItem (standard) or the lock loop (locking).
    pub(crate) async fn read(&self, key: &str) -> Result<Item, SessionError> {
        if self.config.locking() {
            locking::read(self, key).await
        } else {
            standard::read(self, key).await
        }
    }

    /// Writes `expires`, removes `lock`, and sends or deletes the data when `changed`.
    pub(crate) async fn write(
        &self,
        key: &str,
        data: &[u8],
        changed: bool,
    ) -> Result<(), SessionError> {
        standard::write(self, key, data, changed).await
    }

    /// Deletes the item, unconditionally.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), SessionError> {
        standard::delete(self, key).await
    }

    pub(crate) fn key_attribute(&self, key: &str) -> (String, AttributeValue) {
        (
            self.config.hash_key().to_owned(),
            AttributeValue::S(key.to_owned()),
        )
    }

    /// Reproduces the PHP SDK's client-side input validation for the values PHP accepts at construction
    /// but rejects per request (see [`crate::config`]): an InvalidArgumentException, nothing sent.
    pub(crate) fn validate(&self, op: Operation) -> Result<(), SessionError> {
        let mut errors = Vec::new();
        for e in self.config.deferred_errors() {
            match e {
                ConfigError::EmptyTableName if op != Operation::BatchWriteItem => {
                    errors.push("[TableName] must be at least 1 characters long. Value provided is 0 characters long.".to_owned())
                }
                ConfigError::ConsistentReadNotBoolean { found } if op == Operation::GetItem => {
                    errors.push(format!("[ConsistentRead] must be a boolean. Found {found}"))
                }
                _ => {}
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        Err(SessionError::InvalidInput(InvalidInput {
            operation: op,
            message: format!(
                "Found {} error{} while validating the input provided for the {} operation:\n{}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                op.api_name(),
                errors.join("\n")
            ),
        }))
    }
}
