//! Retry policy: the PHP SDK's DynamoDB default (legacy mode, 10 retries) or the Rust SDK's own.
//!
//! # PHP SDK (what [`RetryPolicy::php_default`] reproduces, spec §2, C56–C64)
//!
//! `DynamoDbClient` overrides the generic default with `retries: 10`: *legacy* mode, 11 attempts.
//! * Retryable: connection errors (including CRC32 mismatches, which PHP flags as connection errors,
//!   and unreadable response bodies); HTTP 500, 502, 503, 504; error codes [`PHP_RETRYABLE_CODES`].
//!   Everything else (ValidationException, ConditionalCheckFailedException, ResourceNotFoundException,
//!   AccessDeniedException, 501, …) is returned after one attempt.
//! * Delay before retry `r` (`r = 0` for the first retry): 0 when `r = 0`, otherwise
//!   `mt_rand(0, min(20000, 100·2^r)) / 2` milliseconds — upper bounds 0, 100, 200, …, 10000 ms.
//! * `retries: N` gives N+1 attempts; `retries: 0` one attempt.
//!
//! # Rust SDK default (what [`RetryPolicy::SdkClient`] leaves in place)
//!
//! `aws-sdk-dynamodb` uses *standard* mode: 3 attempts, exponential backoff with full jitter from a
//! 1 s base capped at 20 s, the SDK's own classifier set (throttling and transient codes, 500/502/503/504,
//! I/O and timeouts), and a per-region retry quota (token bucket of 500, 5 per retry, 10 per timeout)
//! that can refuse retries under sustained failure.
//!
//! # Why this is a loop and not a plugged-in `RetryStrategy`
//!
//! `aws-sdk-dynamodb` 1.136 offers no public way to replace its `StandardRetryStrategy`
//! (`config::Builder::runtime_plugin` is `pub(crate)`); a classifier alone cannot see the attempt
//! number that PHP's delay depends on, and the standard strategy's global retry quota would cap long
//! fault runs. So with [`RetryPolicy::PhpLegacy`] the client is built with SDK retries disabled
//! (`RetryConfig::disabled()`) and [`crate::SessionClient`] runs the PHP decision and delay around each
//! request: same attempts, same delays, same classification, one request on the wire per attempt.

use std::time::Duration;

use crate::error::{ClientErrorKind, SessionError};
use crate::php;

/// Error codes the PHP SDK's legacy retry decider retries (DynamoDbClient adds the last one).
pub const PHP_RETRYABLE_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "BandwidthLimitExceeded",
    "RequestThrottledException",
    "TooManyRequestsException",
    "IDPCommunicationError",
    "EC2ThrottledException",
    "TransactionInProgressException",
];

/// HTTP statuses the PHP SDK's legacy retry decider retries.
pub const PHP_RETRYABLE_STATUSES: &[u16] = &[500, 502, 503, 504];

/// The PHP SDK's DynamoDB default number of retries.
pub const PHP_DEFAULT_RETRIES: u32 = 10;

/// How long to wait between attempts under [`RetryPolicy::PhpLegacy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backoff {
    /// PHP's delays (full jitter, half range; see the module docs).
    #[default]
    Php,
    /// No delay (tests that count attempts without waiting).
    None,
}

/// Which retry behaviour the handler's requests get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// The PHP SDK's legacy mode: `max_retries` retries (so `max_retries + 1` attempts).
    PhpLegacy {
        /// Retries after the first attempt.
        max_retries: u32,
        /// Delay between attempts.
        backoff: Backoff,
    },
    /// Send once through our loop and let the `aws-sdk-dynamodb` client's own retry configuration
    /// decide (by default standard mode, 3 attempts).
    SdkClient,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::php_default()
    }
}

impl RetryPolicy {
    /// The PHP `DynamoDbClient` default: legacy mode, 10 retries, PHP delays.
    pub const fn php_default() -> Self {
        Self::php_retries(PHP_DEFAULT_RETRIES)
    }

    /// PHP's `retries: n` client option: `n + 1` attempts with PHP delays.
    pub const fn php_retries(n: u32) -> Self {
        RetryPolicy::PhpLegacy {
            max_retries: n,
            backoff: Backoff::Php,
        }
    }

    /// The same policy without sleeping between attempts.
    pub const fn without_backoff(self) -> Self {
        match self {
            RetryPolicy::PhpLegacy { max_retries, .. } => RetryPolicy::PhpLegacy {
                max_retries,
                backoff: Backoff::None,
            },
            other => other,
        }
    }

    /// Attempts made by this crate's loop for one request (1 under [`RetryPolicy::SdkClient`]).
    pub fn max_attempts(&self) -> u32 {
        match self {
            RetryPolicy::PhpLegacy { max_retries, .. } => max_retries.saturating_add(1),
            RetryPolicy::SdkClient => 1,
        }
    }

    /// Whether the loop should retry after `err`, with `attempts` attempts made so far.
    pub fn should_retry(&self, err: &SessionError, attempts: u32) -> bool {
        attempts < self.max_attempts() && is_php_retryable(err)
    }

    /// The delay before retry number `retry` (0 for the first retry).
    pub fn delay_before_retry(&self, retry: u32) -> Duration {
        match self {
            RetryPolicy::PhpLegacy {
                backoff: Backoff::Php,
                ..
            } => Duration::from_micros(
                php_delay_upper_bound_half_ms(retry)
                    .map_or(0, |max| php::rand_between(0, max) * 500),
            ),
            _ => Duration::ZERO,
        }
    }
}

/// `min(20000, 100·2^r)` for `r ≥ 1` (the `mt_rand` range in ms before halving), `None` for `r = 0`.
fn php_delay_upper_bound_half_ms(retry: u32) -> Option<u64> {
    if retry == 0 {
        return None;
    }
    let exp = 1u64.checked_shl(retry).unwrap_or(u64::MAX);
    Some(exp.saturating_mul(100).min(20_000))
}

/// The largest delay PHP may wait before retry number `retry`.
pub fn php_max_delay_before_retry(retry: u32) -> Duration {
    Duration::from_micros(php_delay_upper_bound_half_ms(retry).unwrap_or(0) * 500)
}

/// The PHP SDK's legacy retry decision for an error (without the attempt limit).
pub fn is_php_retryable(err: &SessionError) -> bool {
    match err {
        SessionError::Service(e) => {
            e.connection_error
                || e.status
                    .is_some_and(|s| PHP_RETRYABLE_STATUSES.contains(&s))
                || e.code
                    .as_deref()
                    .is_some_and(|c| PHP_RETRYABLE_CODES.contains(&c))
        }
        SessionError::Client(e) => e.kind == ClientErrorKind::ChecksumMismatch,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ClientError, Operation, ServiceError};

    fn service(code: Option<&str>, status: Option<u16>, connection_error: bool) -> SessionError {
        SessionError::Service(Box::new(ServiceError {
            operation: Operation::GetItem,
            key: None,
            code: code.map(str::to_owned),
            message: None,
            status,
            body: None,
            connection_error,
            detail: None,
            attempts: 1,
        }))
    }

    #[test]
    fn c62_attempt_counts() {
        assert_eq!(RetryPolicy::php_default().max_attempts(), 11);
        assert_eq!(RetryPolicy::php_retries(0).max_attempts(), 1);
        assert_eq!(RetryPolicy::php_retries(2).max_attempts(), 3);
        assert_eq!(RetryPolicy::SdkClient.max_attempts(), 1);
    }

    #[test]
    fn c56_delay_bounds() {
        let bounds: Vec<u64> = (0..10)
            .map(|r| php_max_delay_before_retry(r).as_millis() as u64)
            .collect();
        assert_eq!(
            bounds,
            vec![0, 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]
        );
        let p = RetryPolicy::php_default();
        for r in 0..10 {
            for _ in 0..20 {
                assert!(p.delay_before_retry(r) <= php_max_delay_before_retry(r));
            }
        }
        assert_eq!(p.delay_before_retry(0), Duration::ZERO);
        assert_eq!(p.without_backoff().delay_before_retry(5), Duration::ZERO);
    }

    #[test]
    fn c59_c61_retryable_classification() {
        for code in [
            "ThrottlingException",
            "RequestLimitExceeded",
            "TransactionInProgressException",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(
                is_php_retryable(&service(Some(code), Some(400), false)),
                "{code}"
            );
        }
        for s in [500, 502, 503, 504] {
            assert!(is_php_retryable(&service(None, Some(s), false)));
        }
        assert!(is_php_retryable(&service(None, None, true)));
        for code in [
            "ValidationException",
            "ConditionalCheckFailedException",
            "ResourceNotFoundException",
            "AccessDeniedException",
            "SerializationException",
            "ItemCollectionSizeLimitExceeded",
        ] {
            assert!(
                !is_php_retryable(&service(Some(code), Some(400), false)),
                "{code}"
            );
        }
        assert!(!is_php_retryable(&service(None, Some(501), false)));
        let crc = SessionError::Client(ClientError {
            operation: Operation::GetItem,
            key: None,
            kind: ClientErrorKind::ChecksumMismatch,
            message: String::new(),
            attempts: 1,
        });
        assert!(is_php_retryable(&crc));
        let p = RetryPolicy::php_retries(2);
        assert!(p.should_retry(&crc, 2));
        assert!(!p.should_retry(&crc, 3));
    }
}
