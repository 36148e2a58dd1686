//! SDK configurations for the servers this crate starts.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The region local servers are addressed with. None of them cares, but the SDK needs one.
pub(crate) const LOCAL_REGION: &str = "us-east-1";

/// Static credentials every local server accepts (dynalite and moto ignore signatures' secrets).
pub(crate) fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        "test",
        "test",
        None,
        None,
        "dynamo-backends",
    ))
}

/// Endpoint, region and static test credentials, and nothing read from the environment: a test must talk
/// to the server it started whatever `AWS_*` variables the machine has.
pub(crate) fn local_config(endpoint_url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(test_credentials())
        .endpoint_url(endpoint_url)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .build(),
        )
        .build()
}

/// A client for probes: no retries and a short per-attempt timeout, so that "not up yet" is seen quickly
/// and the caller's own deadline governs.
pub(crate) fn probe_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let probe = aws_sdk_dynamodb::config::Builder::from(config)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(5))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(probe)
}
