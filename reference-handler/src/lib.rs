//! The AWS SDK for PHP v3 `Aws\DynamoDb\SessionHandler`, rebuilt on `aws-sdk-dynamodb`.
//!
//! Observable behaviour — return values, the DynamoDB calls with their exact (legacy) parameters, and
//! the resulting items — follows the PHP SDK 3.342.5 as specified in `session-semantics.md` §1–§2.
//!
//! ```no_run
//! # async fn demo(sdk_config: aws_config::SdkConfig) -> Result<(), dynamo_session::SessionError> {
//! use dynamo_session::{RetryPolicy, SessionClient, SessionConfig, SessionHandler};
//!
//! let client = SessionClient::from_sdk_config(&sdk_config, RetryPolicy::php_default());
//! let config = SessionConfig::builder(1440).table_name("sessions").build()?;
//! let mut handler = SessionHandler::new(client, config);
//! handler.open("", "CAKEPHP");
//! let data = handler.read("abc").await?;          // GetItem
//! handler.write("abc", b"a|i:1;").await?;          // UpdateItem (expires, lock DELETE, data)
//! handler.close("abc").await?;                     // nothing: already written
//! # let _ = data; Ok(()) }
//! ```
//!
//! Module map:
//! * [`config`] — keys, defaults, PHP-style option maps, which invalid values PHP only rejects lazily;
//! * [`key`] — the stored key (`trim(name . '_' . id, '_')`);
//! * [`clock`] — injectable `time()`;
//! * [`handler`] — the per-object state machine (`openSessionId`, `dataRead`, `sessionWritten`);
//! * `connection` — the standard and locking connections' requests;
//! * [`gc`] and `batch` — `garbageCollect()` and `WriteRequestBatch`;
//! * [`retry`] and [`client`] — PHP's legacy retry policy, CRC32 check, error classification;
//! * [`error`] — typed errors mirroring PHP's exception classes, with the class and message PHP would show
//!   ([`SessionError::php_class`], [`SessionError::php_message`]).
//!
//! PHP's observable outcomes (`''`/false, warnings, escaping exceptions) for the conformance harness's
//! handler-operations protocol are the `dynamo-session-protocol` crate's.

//!
//! # Known deviations from the PHP SDK
//!
//! * **Retry mechanism.** PHP's legacy policy (11 attempts, its retryable set, its delays) is run by
//!   [`SessionClient`] around each request with the Rust SDK's own retries disabled, not by a
//!   `RetryStrategy` plugged into the client: `aws-sdk-dynamodb` 1.136 has no public hook for one
//!   (see [`retry`]). Attempts, delays and bodies are PHP's; only the `amz-sdk-request` header says
//!   `attempt=1` on every attempt.
//! * **Non-UTF-8 data with type string (C66).** PHP sends an UpdateItem with an empty body and gets a
//!   4xx; this crate sends nothing ([`SessionError::NonUtf8Data`]). Outcome (false + warning,
//!   `sessionWritten` false, close touches) is the same; the wire has one failing call fewer.
//! * **Message texts.** Warnings are exact up to `Error writing session <key>: `; the rest follows the
//!   SDK's `AwsException` format for HTTP errors, but transport errors cannot carry cURL's wording.
//! * **Timeouts (C63).** PHP sets none. The Rust SDK (behavior version latest) has a 3.1 s connect
//!   timeout and no read timeout; a timeout is a retried connection error, so read still degrades to
//!   `''`.
//! * **Final GC flush (C43).** Bounded by [`FlushLimit`] (default 100 rounds); PHP loops forever.
//!   [`FlushLimit::UNBOUNDED`] restores PHP's behaviour for typed-API users.
//! * **GC failures.** Never silently dropped: listed in [`GcReport`] (the protocol's outcomes drop them like PHP). A Scan
//!   error after some batches were flushed returns the error without the partial report.
//! * **Options maps.** JSON `null` counts as absent for every key (PHP calls the setter with null for
//!   keys other than `session_lifetime`); value types PHP would only choke on at run time are refused
//!   at construction ([`ConfigError::Unsupported`]); `batch_config.before`/`error` callables are not read.
//! * **Non-scalar data attributes** (L, M, sets) read as `''`; PHP would hand an array to the session engine.

#![warn(missing_docs)]

mod batch;
pub mod client;
pub mod clock;
pub mod config;
mod connection;
pub mod crc32;
pub mod error;
pub mod gc;
pub mod handler;
pub mod key;
pub mod php;
pub mod retry;

pub use client::SessionClient;
pub use clock::{Clock, ManualClock, OffsetClock, SharedClock, SystemClock};
pub use config::{
    BatchConfig, ConfigError, DataAttributeType, FlushLimit, PhpFailurePoint, SessionConfig,
    SessionConfigBuilder,
};
pub use connection::LOCK_ATTRIBUTE;
pub use error::{
    ClientError, ClientErrorKind, InvalidInput, Operation, ServiceError, SessionError,
};
pub use gc::{BatchFailure, GcReport, ItemKey};
pub use handler::{CloseAction, HandlerState, SessionHandler};
pub use key::format_key;
pub use retry::{Backoff, RetryPolicy};
