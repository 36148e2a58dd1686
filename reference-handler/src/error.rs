//! Typed errors of the handler, classified the way the PHP SDK classes its exceptions (spec §1.9, §2).
//!
//! | variant | PHP exception | examples |
//! |---|---|---|
//! | [`SessionError::Service`] | `Aws\DynamoDb\Exception\DynamoDbException` | any error response (after retries), connection refused, timeouts, truncated bodies |
//! | [`SessionError::Client`] | `Aws\Exception\AwsException` that is not a DynamoDbException | CRC32 mismatch on every attempt (`ClientChecksumMismatch`), a request that could not be built or signed |
//! | [`SessionError::InvalidInput`] | `InvalidArgumentException` from SDK input validation or `WriteRequestBatch` | empty table name, non-boolean ConsistentRead, batch_size outside 2..25 |
//! | [`SessionError::NonUtf8Data`] | none: PHP sends an empty body and gets a DynamoDbException (C66) | data that is not UTF-8 with type string |
//! | [`SessionError::LockNotAcquired`] | none: PHP's lock loop returns null silently | lock still held at the deadline |
//! | [`SessionError::Config`] | — | invalid configuration in the typed API |

use std::fmt;
use std::time::Duration;

use crate::config::ConfigError;

/// The DynamoDB request a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// GetItem (standard read).
    GetItem,
    /// UpdateItem that writes or touches a session.
    UpdateItem,
    /// UpdateItem that acquires the lock (locking read).
    LockItem,
    /// DeleteItem (destroy, or the expired-item delete in read).
    DeleteItem,
    /// Scan of garbage collection.
    Scan,
    /// BatchWriteItem of garbage collection.
    BatchWriteItem,
}

impl Operation {
    /// The DynamoDB API name (what PHP prints in `Error executing "<name>"`).
    pub fn api_name(self) -> &'static str {
        match self {
            Operation::GetItem => "GetItem",
            Operation::UpdateItem | Operation::LockItem => "UpdateItem",
            Operation::DeleteItem => "DeleteItem",
            Operation::Scan => "Scan",
            Operation::BatchWriteItem => "BatchWriteItem",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::LockItem => "UpdateItem (lock)",
            other => other.api_name(),
        })
    }
}

/// A DynamoDB error response, or a transport failure PHP classes as DynamoDbException, after the retry
/// policy gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The request that failed.
    pub operation: Operation,
    /// The session key involved, when there is one.
    pub key: Option<String>,
    /// The AWS error code (`__type` after `#`), e.g. `ValidationException`.
    pub code: Option<String>,
    /// The error message from the response body.
    pub message: Option<String>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The raw response body, when a response arrived.
    pub body: Option<String>,
    /// True for failures without a usable response (connect, timeout, I/O, unreadable body).
    pub connection_error: bool,
    /// Transport detail for connection errors.
    pub detail: Option<String>,
    /// Attempts made, including the first.
    pub attempts: u32,
}

/// What kind of client-side failure a [`ClientError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientErrorKind {
    /// The response body did not match its `x-amz-crc32` header (PHP code `ClientChecksumMismatch`).
    ChecksumMismatch,
    /// The request could not be constructed, signed or dispatched for a non-network reason.
    Other,
}

/// A client-side failure that PHP raises as a plain `AwsException` (not a DynamoDbException), so it
/// passes through the session handler's catch blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// The request that failed.
    pub operation: Operation,
    /// The session key involved, when there is one.
    pub key: Option<String>,
    /// The kind of failure.
    pub kind: ClientErrorKind,
    /// Human-readable detail.
    pub message: String,
    /// Attempts made, including the first.
    pub attempts: u32,
}

/// Input rejected before sending, as the PHP SDK's validator or WriteRequestBatch rejects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The request that would have been sent.
    pub operation: Operation,
    /// PHP's exception message.
    pub message: String,
}

/// Every failure of the handler API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// DynamoDB (or the network) failed after retries; PHP's DynamoDbException.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// A client-side failure; PHP's plain AwsException.
    #[error("{0}")]
    Client(ClientError),
    /// Rejected before sending; PHP's InvalidArgumentException.
    #[error("{operation} not sent: {message}", operation = .0.operation, message = .0.message)]
    InvalidInput(InvalidInput),
    /// Session data that is not UTF-8 cannot be written as type S (C66). Nothing was sent.
    #[error(
        "session {key}: data is not valid UTF-8 and cannot be written as S (use data_attribute_type binary)"
    )]
    NonUtf8Data {
        /// The formatted key.
        key: String,
    },
    /// The locking read gave up: the lock was still held when the deadline arrived (C46, C49).
    #[error("lock on {key} not acquired after {attempts} attempt(s) in {waited:?}")]
    LockNotAcquired {
        /// The formatted key.
        key: String,
        /// Lock attempts made.
        attempts: u32,
        /// Time spent waiting.
        waited: Duration,
    },
    /// Invalid configuration.
    #[error("invalid session configuration: {0}")]
    Config(#[from] ConfigError),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        if let Some(k) = &self.key {
            write!(f, " for {k}")?;
        }
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ": {c}: {m}")?,
            (Some(c), None) => write!(f, ": {c}")?,
            (None, Some(m)) => write!(f, ": {m}")?,
            (None, None) => {}
        }
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(s) = self.status {
            write!(f, " (HTTP {s}")?;
        } else {
            write!(f, " (no response")?;
        }
        write!(
            f,
            ", {} attempt{})",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed client-side", self.operation)?;
        if let Some(k) = &self.key {
            write!(f, " for {k}")?;
        }
        write!(
            f,
            ": {} ({} attempt{})",
            self.message,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}

impl SessionError {
    /// The AWS error code: the service code, or `ClientChecksumMismatch`.
    pub fn code(&self) -> Option<&str> {
        match self {
            SessionError::Service(e) => e.code.as_deref(),
            SessionError::Client(ClientError {
                kind: ClientErrorKind::ChecksumMismatch,
                ..
            }) => Some("ClientChecksumMismatch"),
            _ => None,
        }
    }

    /// True for PHP's DynamoDbException class.
    pub fn is_service(&self) -> bool {
        matches!(self, SessionError::Service(_))
    }

    /// The DynamoDB request this error belongs to, if any.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            SessionError::Service(e) => Some(e.operation),
            SessionError::Client(e) => Some(e.operation),
            SessionError::InvalidInput(e) => Some(e.operation),
            SessionError::NonUtf8Data { .. } => Some(Operation::UpdateItem),
            SessionError::LockNotAcquired { .. } => Some(Operation::LockItem),
            SessionError::Config(_) => None,
        }
    }

    /// Attempts made for the failing request (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            SessionError::Service(e) => e.attempts,
            SessionError::Client(e) => e.attempts,
            SessionError::LockNotAcquired { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    pub(crate) fn is_conditional_check_failed(&self) -> bool {
        self.code() == Some("ConditionalCheckFailedException")
    }
}
