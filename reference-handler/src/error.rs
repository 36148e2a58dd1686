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

    /// The short name of the PHP exception class this error is in the PHP SDK: `DynamoDbException`,
    /// `AwsException` or `InvalidArgumentException`. The two failures PHP has no exception for count as
    /// DynamoDbException, whose outcome they share: non-UTF-8 data (PHP's empty body is rejected, C66)
    /// and a lock not acquired (PHP's read gives `''`).
    pub fn php_class(&self) -> &'static str {
        match self {
            SessionError::Service(_)
            | SessionError::NonUtf8Data { .. }
            | SessionError::LockNotAcquired { .. } => "DynamoDbException",
            SessionError::Client(_) => "AwsException",
            SessionError::InvalidInput(_) | SessionError::Config(_) => "InvalidArgumentException",
        }
    }

    /// PHP's `$e->getMessage()` for this error on a client of `endpoint`. For service errors it is
    /// worded like `AwsException::getMessage()` (`Error executing "UpdateItem" on "<endpoint>"; AWS
    /// HTTP error: Client error: ...`), Guzzle's format from the response received; transport-error
    /// texts (cURL's wording) cannot be reproduced.
    pub fn php_message(&self, endpoint: &str) -> String {
        match self {
            SessionError::Service(e) => php_service_message(e, endpoint),
            SessionError::Client(e) => e.message.clone(),
            SessionError::InvalidInput(e) => e.message.clone(),
            other => other.to_string(),
        }
    }

    pub(crate) fn is_conditional_check_failed(&self) -> bool {
        self.code() == Some("ConditionalCheckFailedException")
    }
}

fn php_service_message(e: &ServiceError, endpoint: &str) -> String {
    let mut msg = format!(
        "Error executing \"{}\" on \"{}\"; AWS HTTP error: ",
        e.operation.api_name(),
        endpoint
    );
    let status = match e.status {
        Some(s) if s >= 400 && !e.connection_error => s,
        _ => {
            msg.push_str(e.detail.as_deref().unwrap_or("connection error"));
            return msg;
        }
    };
    let (label, kind) = if status >= 500 {
        ("Server error", "server")
    } else {
        ("Client error", "client")
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    msg.push_str(&format!(
        "{label}: `POST {endpoint}` resulted in a `{status} {reason}` response"
    ));
    let body = e.body.as_deref().unwrap_or("");
    if let Some(summary) = body_summary(body) {
        msg.push_str(&format!(":\n{summary}\n"));
    }
    msg.push_str(&format!(
        " {} ({}): {} - {}",
        e.code.as_deref().unwrap_or(""),
        kind,
        e.message.as_deref().unwrap_or(""),
        body
    ));
    msg
}

/// Guzzle's `Message::bodySummary($response, 120)`.
fn body_summary(body: &str) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let bytes = body.as_bytes();
    let head = &bytes[..bytes.len().min(120)];
    let mut summary = std::str::from_utf8(head).ok()?.to_owned();
    if bytes.len() > 120 {
        summary.push_str(" (truncated...)");
    }
    if summary
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(
        status: Option<u16>,
        code: Option<&str>,
        message: Option<&str>,
        body: Option<&str>,
    ) -> ServiceError {
        ServiceError {
            operation: Operation::UpdateItem,
            key: Some("CAKEPHP_x".into()),
            code: code.map(Into::into),
            message: message.map(Into::into),
            status,
            body: body.map(Into::into),
            connection_error: false,
            detail: None,
            attempts: 1,
        }
    }

    #[test]
    fn php_message_has_the_aws_exception_shape() {
        let body =
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad"}"#;
        let m = php_service_message(
            &service(
                Some(400),
                Some("ValidationException"),
                Some("bad"),
                Some(body),
            ),
            "http://127.0.0.1:1",
        );
        assert_eq!(
            m,
            format!(
                "Error executing \"UpdateItem\" on \"http://127.0.0.1:1\"; AWS HTTP error: Client error: `POST http://127.0.0.1:1` resulted in a `400 Bad Request` response:\n{body}\n ValidationException (client): bad - {body}"
            )
        );
        let long = "x".repeat(130);
        let m = php_service_message(&service(Some(503), None, None, Some(&long)), "e");
        assert!(
            m.contains(&format!(
                "`503 Service Unavailable` response:\n{} (truncated...)\n",
                "x".repeat(120)
            )),
            "{m}"
        );
        assert!(m.ends_with(&format!(" (server):  - {long}")));
    }
}
