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
pub(crate) const SESSION_TOKEN_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SESSIONTOKEN";
/// Set (1, true, yes) by the harness's `--yes-real-aws`: the confirmation that an endpoint off this machine may
/// be touched. Without it such an endpoint is refused before any call.
pub(crate) const YES_REAL_AWS_ENV: &str = "DYNAMO_HARNESS_YES_REAL_AWS";
/// A PEM file of CA certificates trusted (besides the system's roots) for an https endpoint: `--ca-file`.
pub(crate) const CA_FILE_ENV: &str = "DYNAMO_HARNESS_CA_FILE";

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

/// An endpoint URL: `http://` or `https://`, then a host (and an optional port), and no path.
fn check_url(url: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected http://HOST:PORT or https://HOST";
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("not a URL; {EXPECTED}"));
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "the scheme is {scheme:?}, not http or https; {EXPECTED}"
        ));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    if host.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace) {
        return Err(format!("no host; {EXPECTED}"));
    }
    if !path.is_empty() {
        return Err(format!(
            "a path is not supported (DynamoDB is served at /); {EXPECTED}"
        ));
    }
    Ok(())
}

fn confirmed() -> bool {
    non_empty_env(YES_REAL_AWS_ENV)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The SDK's https client trusting the system's roots and the CA file's certificates.
fn http_client_trusting(
    ca_file: &str,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, BackendError> {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let pem = std::fs::read(ca_file)
        .map_err(|e| BackendError::io("reading the CA file", std::path::Path::new(ca_file), e))?;
    let trust = TrustStore::default()
        .with_native_roots(true)
        .with_pem_certificate(pem);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| BackendError::InvalidOptions(format!("{CA_FILE_ENV}={ca_file}: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let endpoint = opts
        .endpoint
        .clone()
        .or_else(|| non_empty_env(ENDPOINT_ENV));
    if let Some(url) = &endpoint {
        check_url(url).map_err(|reason| {
            BackendError::InvalidOptions(format!("endpoint {url:?}: {reason}"))
        })?;
    }
    if !endpoint.as_deref().is_some_and(is_loopback) && !confirmed() {
        let what = match &endpoint {
            Some(url) => format!("{url} is not on this machine"),
            None => "without an endpoint URL this is real AWS (the regional DynamoDB endpoint)"
                .to_owned(),
        };
        return Err(BackendError::InvalidOptions(format!(
            "refusing to touch a DynamoDB endpoint off this machine: {what}. Pass --yes-real-aws (or set \
             {YES_REAL_AWS_ENV}=1) to confirm"
        )));
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(ca_file) = non_empty_env(CA_FILE_ENV) {
        loader = loader.http_client(http_client_trusting(&ca_file)?);
    }
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
                non_empty_env(SESSION_TOKEN_ENV),
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
            message: format!("{endpoint_url} did not answer: {}", one_line(&err)),
        }),
    }
}

/// An error and its sources on one line, each text once (the SDK's `DisplayErrorContext` appends a `Debug`
/// dump of the whole chain).
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !parts.last().is_some_and(|last| last.ends_with(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
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
    use super::{check_url, is_loopback};

    #[tokio::test]
    async fn an_endpoint_off_this_machine_needs_the_confirmation() {
        if super::confirmed() {
            return; // DYNAMO_HARNESS_YES_REAL_AWS is set where this runs
        }
        for url in [
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://10.0.0.5:8000",
        ] {
            let options = crate::BackendOptions {
                kind: crate::BackendKind::Endpoint,
                endpoint: Some(url.to_owned()),
                ..crate::BackendOptions::default()
            };
            let error = crate::start(&options)
                .await
                .err()
                .expect("refused")
                .to_string();
            assert!(error.contains("--yes-real-aws"), "{url}: {error}");
        }
        let options = crate::BackendOptions {
            kind: crate::BackendKind::Endpoint,
            endpoint: Some("notaurl".to_owned()),
            ..crate::BackendOptions::default()
        };
        let error = crate::start(&options)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("not a URL"), "{error}");
    }

    #[test]
    fn endpoint_urls_are_checked() {
        for good in [
            "http://127.0.0.1:8000",
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://localhost:4567/",
            "http://[::1]:8000",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "notaurl",
            "localhost:8000",
            "ftp://h",
            "http://h:1/x",
            "http://",
            "http://:80",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:8000"));
        assert!(is_loopback("http://localhost:4567/"));
        assert!(is_loopback("http://[::1]:8000"));
        assert!(!is_loopback("https://dynamodb.eu-west-1.amazonaws.com"));
        assert!(!is_loopback("http://10.0.0.5:8000"));
    }
}
