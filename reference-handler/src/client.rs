//! The DynamoDB client the handler talks through: `aws-sdk-dynamodb`, the PHP retry loop, the PHP
//! CRC32 check, and the mapping of SDK errors onto [`SessionError`].

use std::error::Error as StdError;
use std::future::Future;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::retry::RetryConfig;

use crate::crc32::{Crc32Interceptor, Crc32Mismatch};
use crate::error::{ClientError, ClientErrorKind, Operation, ServiceError, SessionError};
use crate::retry::RetryPolicy;

/// A DynamoDB client prepared for the session handler.
///
/// Built from an `aws_config::SdkConfig` or a `aws_sdk_dynamodb::config::Builder`; this adds the PHP
/// SDK's CRC32 response check and, under [`RetryPolicy::PhpLegacy`], disables the Rust SDK's own
/// retries so that the PHP retry loop runs instead (see [`crate::retry`]).
#[derive(Debug, Clone)]
pub struct SessionClient {
    inner: aws_sdk_dynamodb::Client,
    policy: RetryPolicy,
    endpoint: String,
}

impl SessionClient {
    /// From shared AWS configuration (endpoint, region, credentials).
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, policy: RetryPolicy) -> Self {
        let endpoint = sdk_config.endpoint_url().map(str::to_owned);
        let region = sdk_config.region().map(|r| r.to_string());
        Self::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk_config),
            policy,
            endpoint,
            region,
        )
    }

    /// From a static endpoint, region and key pair (what the harness protocol's `new_handler` carries).
    pub fn from_static(
        endpoint: &str,
        region: &str,
        key: &str,
        secret: &str,
        policy: RetryPolicy,
    ) -> Self {
        let builder = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                key,
                secret,
                None,
                None,
                "dynamo-session-static",
            ));
        Self::from_conf(
            builder,
            policy,
            Some(endpoint.to_owned()),
            Some(region.to_owned()),
        )
    }

    /// From a client configuration builder. `endpoint` and `region` are only used to word error
    /// messages the way PHP does (`Error executing "GetItem" on "<endpoint>"`).
    pub fn from_conf(
        mut builder: aws_sdk_dynamodb::config::Builder,
        policy: RetryPolicy,
        endpoint: Option<String>,
        region: Option<String>,
    ) -> Self {
        if matches!(policy, RetryPolicy::PhpLegacy { .. }) {
            builder = builder.retry_config(RetryConfig::disabled());
        }
        builder = builder.interceptor(Crc32Interceptor);
        let endpoint = endpoint.unwrap_or_else(|| {
            format!(
                "https://dynamodb.{}.amazonaws.com",
                region.as_deref().unwrap_or("us-east-1")
            )
        });
        Self {
            inner: aws_sdk_dynamodb::Client::from_conf(builder.build()),
            policy,
            endpoint,
        }
    }

    /// The underlying `aws-sdk-dynamodb` client.
    pub fn inner(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The endpoint, as used in PHP-style messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one request under the retry policy. `attempt` builds and sends one attempt (the same
    /// request each time, as PHP resends the same command).
    pub(crate) async fn send<T, E, F, Fut>(
        &self,
        op: Operation,
        key: Option<&str>,
        mut attempt: F,
    ) -> Result<T, SessionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match attempt().await {
                Ok(out) => return Ok(out),
                Err(e) => {
                    let err = map_sdk_error(op, key, e, attempts);
                    if !self.policy.should_retry(&err, attempts) {
                        return Err(err);
                    }
                    let delay = self.policy.delay_before_retry(attempts - 1);
                    tracing::debug!(%err, ?delay, attempts, "retrying");
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }
}

fn find_crc_mismatch<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Crc32Mismatch> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(m) = e.downcast_ref::<Crc32Mismatch>() {
            return Some(m);
        }
        cur = e.source();
    }
    None
}

/// Maps one failed attempt onto the PHP exception classes (see [`crate::error`]).
fn map_sdk_error<E>(
    op: Operation,
    key: Option<&str>,
    err: SdkError<E, HttpResponse>,
    attempts: u32,
) -> SessionError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let key = key.map(str::to_owned);
    if let Some(m) = find_crc_mismatch(&err) {
        return SessionError::Client(ClientError {
            operation: op,
            key,
            kind: ClientErrorKind::ChecksumMismatch,
            message: m.to_string(),
            attempts,
        });
    }
    let connection = |detail: String, status: Option<u16>, body: Option<String>| {
        SessionError::Service(Box::new(ServiceError {
            operation: op,
            key: key.clone(),
            code: None,
            message: None,
            status,
            body,
            connection_error: true,
            detail: Some(detail),
            attempts,
        }))
    };
    match &err {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            SessionError::Service(Box::new(ServiceError {
                operation: op,
                key,
                code: ctx.err().code().map(str::to_owned),
                message: ctx.err().message().map(str::to_owned),
                status: Some(raw.status().as_u16()),
                body: raw
                    .body()
                    .bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                connection_error: false,
                detail: None,
                attempts,
            }))
        }
        // Guzzle classes timeouts, refused connections and failed receives as connection errors, which
        // PHP wraps into DynamoDbException.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            connection(DisplayErrorContext(&err).to_string(), None, None)
        }
        SdkError::ResponseError(ctx) => {
            let raw = ctx.raw();
            connection(
                DisplayErrorContext(&err).to_string(),
                Some(raw.status().as_u16()),
                raw.body()
                    .bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
            )
        }
        _ => SessionError::Client(ClientError {
            operation: op,
            key,
            kind: ClientErrorKind::Other,
            message: DisplayErrorContext(&err).to_string(),
            attempts,
        }),
    }
}
