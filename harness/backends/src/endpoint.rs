//! An endpoint that is already running: any URL (another dynalite, DynamoDB Local, LocalStack, ...) or real
//! AWS. Nothing is started or stopped; region and credentials come from the plugin's
//! `COMANAGE_REGISTRY_DYNAMODB_*` variables when set, otherwise from `aws-config` (environment, profile, ...).

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use crate::sdk::{LOCAL_REGION, probe_client, test_credentials};
use crate::{
    Backend, BackendError, BackendKind, BackendOptions, Capabilities, measure_capabilities,
};

pub(crate) const ENDPOINT_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT";
pub(crate) const REGION_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_REGION";
pub(crate) const ACCESS_KEY_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY";
pub(crate) const SECRET_KEY_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY";

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Whether `url` points at this machine (where a server started by hand accepts any credentials).
fn is_loopback(url: &str) -> bool {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = authority.split('/').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let endpoint = opts
        .endpoint
        .clone()
        .or_else(|| non_empty_env(ENDPOINT_ENV));
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = non_empty_env(REGION_ENV) {
        loader = loader.region(Region::new(region));
    }
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    match (non_empty_env(ACCESS_KEY_ENV), non_empty_env(SECRET_KEY_ENV)) {
        (Some(key), Some(secret)) => {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret,
                None,
                None,
                "COMANAGE_REGISTRY_DYNAMODB",
            ));
        }
        // A local server started by hand takes any credentials; do not make the user invent some.
        _ if endpoint.as_deref().is_some_and(is_loopback) => {
            loader = loader.credentials_provider(test_credentials());
        }
        _ => {}
    }
    let mut config = loader.load().await;
    if config.region().is_none() {
        if endpoint.is_none() {
            return Err(BackendError::InvalidOptions(format!(
                "no AWS region: set {REGION_ENV} or AWS_REGION (or a region in your AWS profile)"
            )));
        }
        config = config
            .into_builder()
            .region(Region::new(LOCAL_REGION))
            .build();
    }
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let endpoint_url = endpoint
        .clone()
        .unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
    (opts.progress)(&format!(
        "checking {endpoint_url} (region {region}) with ListTables"
    ));
    check_reachable(&config, &endpoint_url).await?;
    let capabilities = match endpoint {
        // Another server: measure it like the ones we start.
        Some(_) => measure_capabilities(&probe_client(&config), false, None).await?,
        // Real DynamoDB. Not measured: a scratch table needs CreateTable/DeleteTable permissions that the
        // plugin's IAM policy rightly does not grant, and takes seconds to become ACTIVE. AWS's documented
        // behaviour: TTL API, B values byte-exact, and a TTL process (which deletes within days, not seconds).
        None => Capabilities::AWS,
    };
    Ok(Box::new(EndpointBackend {
        endpoint_url,
        region,
        config,
        capabilities,
    }))
}

/// One ListTables with the SDK's retries. An access-denied answer still proves the endpoint and the
/// credentials work (the plugin's IAM policy does not include ListTables).
async fn check_reachable(config: &SdkConfig, endpoint_url: &str) -> Result<(), BackendError> {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build(),
    );
    match client.list_tables().limit(1).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("AccessDeniedException") => Ok(()),
        Err(err) => Err(BackendError::Dynamo {
            operation: "ListTables",
            message: format!(
                "{endpoint_url} did not answer: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&err)
            ),
        }),
    }
}

struct EndpointBackend {
    endpoint_url: String,
    region: String,
    config: SdkConfig,
    capabilities: Capabilities,
}

#[async_trait::async_trait]
impl Backend for EndpointBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Endpoint
    }

    fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn sdk_config(&self) -> SdkConfig {
        self.config.clone()
    }

    /// Nothing to stop: the endpoint was running before and keeps running.
    async fn shutdown(self: Box<Self>) -> Result<(), BackendError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8000"));
        assert!(is_loopback("http://localhost:4567/"));
        assert!(is_loopback("http://[::1]:8000"));
        assert!(!is_loopback("https://dynamodb.eu-west-1.amazonaws.com"));
        assert!(!is_loopback("http://10.0.0.5:8000"));
    }
}
