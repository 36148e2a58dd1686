//! An endpoint that is already running: any URL (another dynalite, DynamoDB Local, LocalStack, ...) or real
//! AWS. Nothing is started or stopped; region and credentials come from the plugin's
//! `COMANAGE_REGISTRY_DYNAMODB_*` variables when set, otherwise from `aws-config` (environment, profile, ...).
//!
//! The rules for reaching an endpoint the way the plugin does (its variables, which credentials, the CA file
//! trusted for https, the region) are public here, so that `dynamo-harness doctor` follows the same ones.

use std::fmt;
use std::time::Duration;

use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use dynamo_wire::proxy::{UpstreamTls, read_ca_file};

use crate::sdk::{LOCAL_REGION, probe_client, test_credentials};
use crate::{
    Backend, BackendError, BackendKind, BackendOptions, Capabilities, measure_capabilities,
};

/// The plugin's endpoint URL (unset: the region's AWS endpoint).
pub const ENDPOINT_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT";
/// The plugin's region.
pub const REGION_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_REGION";
/// The plugin's access key id.
pub const ACCESS_KEY_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY";
/// The plugin's secret access key.
pub const SECRET_KEY_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY";
/// The plugin's session token, for temporary credentials.
pub const SESSION_TOKEN_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SESSIONTOKEN";
/// Set (1, true, yes) by the harness's `--yes-real-aws`: the confirmation that an endpoint off this machine may
/// be touched. Without it such an endpoint is refused before any call.
pub const YES_REAL_AWS_ENV: &str = "DYNAMO_HARNESS_YES_REAL_AWS";
/// A PEM file of CA certificates trusted (besides the system's roots) for an https endpoint: `--ca-file`. The
/// wire proxy's, which trusts the same file for its upstream.
pub use dynamo_wire::proxy::CA_FILE_ENV;

/// A variable's value, trimmed, if it is set and not blank (the plugin treats a blank variable as unset).
pub fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Whether the URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`), where a server started by hand
/// accepts any credentials and no confirmation is needed.
pub fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port
            .rsplit_once(':')
            .map_or(host_port, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The credentials the plugin would use on an endpoint: its key pair when both halves are set; else, on this
/// machine, static test ones; else aws-config's default chain (environment, profile, instance or task role).
#[derive(Debug, Clone)]
pub enum PluginCredentials {
    /// [`ACCESS_KEY_ENV`] and [`SECRET_KEY_ENV`], with [`SESSION_TOKEN_ENV`] when set.
    KeyPair(Credentials),
    /// A loopback endpoint: a local server started by hand takes any credentials, so none need inventing.
    LoopbackTest,
    /// Whatever aws-config's default chain finds.
    DefaultChain,
}

impl PluginCredentials {
    /// The choice for `endpoint` (`None`: AWS's regional endpoint) from the plugin's variables.
    pub fn from_env(endpoint: Option<&str>) -> Self {
        match (non_empty_env(ACCESS_KEY_ENV), non_empty_env(SECRET_KEY_ENV)) {
            (Some(key), Some(secret)) => PluginCredentials::KeyPair(Credentials::new(
                key,
                secret,
                non_empty_env(SESSION_TOKEN_ENV),
                None,
                "COMANAGE_REGISTRY_DYNAMODB",
            )),
            _ if endpoint.is_some_and(is_loopback_url) => PluginCredentials::LoopbackTest,
            _ => PluginCredentials::DefaultChain,
        }
    }

    /// `loader` with these credentials (the default chain is the loader's own).
    pub fn configure(&self, loader: ConfigLoader) -> ConfigLoader {
        match self {
            PluginCredentials::KeyPair(credentials) => {
                loader.credentials_provider(credentials.clone())
            }
            PluginCredentials::LoopbackTest => loader.credentials_provider(test_credentials()),
            PluginCredentials::DefaultChain => loader,
        }
    }
}

/// Where the credentials come from, in words.
impl fmt::Display for PluginCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginCredentials::KeyPair(_) => write!(f, "{ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"),
            PluginCredentials::LoopbackTest => {
                f.write_str("static test credentials (a loopback endpoint accepts any)")
            }
            PluginCredentials::DefaultChain => f.write_str("aws-config's default chain"),
        }
    }
}

/// The CA file to trust for an https endpoint, as `DYNAMO_HARNESS_CA_FILE` names it, and its PEM text.
fn ca_pem_from_env() -> Result<Option<Vec<u8>>, BackendError> {
    UpstreamTls::from_env()
        .ca_file
        .map(|path| {
            read_ca_file(&path)
                .map_err(|reason| BackendError::InvalidOptions(format!("{CA_FILE_ENV}: {reason}")))
        })
        .transpose()
}

/// The region of a loaded configuration, or, with an endpoint URL (a local server does not care), the one
/// local servers are addressed with; `None` when there is neither, so the caller can say how to set one.
pub fn region_or_local(config: SdkConfig, has_endpoint: bool) -> Option<SdkConfig> {
    match config.region() {
        Some(_) => Some(config),
        None if has_endpoint => Some(
            config
                .into_builder()
                .region(Region::new(LOCAL_REGION))
                .build(),
        ),
        None => None,
    }
}

/// A DynamoDB endpoint URL: `http://` or `https://`, then a host (and an optional port), and no path or query.
/// The one rule for `--endpoint`, COMANAGE_REGISTRY_DYNAMODB_ENDPOINT and the endpoint backend.
pub fn check_endpoint_url(url: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected http://HOST:PORT or https://HOST";
    let Some((scheme, rest)) = url.split_once("://") else {
        // `localhost:8000` reads as a URL of scheme `localhost`, as a URL parser reads it.
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| {
                scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            });
        return Err(match scheme {
            Some(scheme) => format!("the scheme is {scheme:?}, not http or https; {EXPECTED}"),
            None => format!("not a URL; {EXPECTED}"),
        });
    };
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "the scheme is {scheme:?}, not http or https; {EXPECTED}"
        ));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        // `/` alone is the root; anything after it, or any query, is more than an endpoint.
        Some(at) => (
            &rest[..at],
            rest[at..].strip_prefix('/').unwrap_or(&rest[at..]),
        ),
        None => (rest, ""),
    };
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
            "a path or query is not supported (DynamoDB is served at /); {EXPECTED}"
        ));
    }
    Ok(())
}

fn confirmed() -> bool {
    non_empty_env(YES_REAL_AWS_ENV)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The SDK's https client trusting the system's roots and the certificates of `ca_pem` (a CA file's text, as
/// [`read_ca_file`] returns it), with the rustls/aws-lc provider the SDK uses by default.
pub fn sdk_https_client(
    ca_pem: Vec<u8>,
) -> Result<aws_sdk_dynamodb::config::SharedHttpClient, aws_smithy_http_client::HttpClientError> {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::default()
        .with_native_roots(true)
        .with_pem_certificate(ca_pem);
    let context = TlsContext::builder().with_trust_store(trust).build()?;
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
        check_endpoint_url(url).map_err(|reason| {
            BackendError::InvalidOptions(format!("endpoint {url:?}: {reason}"))
        })?;
    }
    if !endpoint.as_deref().is_some_and(is_loopback_url) && !confirmed() {
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
    if let Some(pem) = ca_pem_from_env()? {
        loader = loader.http_client(
            sdk_https_client(pem)
                .map_err(|e| BackendError::InvalidOptions(format!("{CA_FILE_ENV}: {e}")))?,
        );
    }
    if let Some(region) = non_empty_env(REGION_ENV) {
        loader = loader.region(Region::new(region));
    }
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    loader = PluginCredentials::from_env(endpoint.as_deref()).configure(loader);
    let config = region_or_local(loader.load().await, endpoint.is_some()).ok_or_else(|| {
        BackendError::InvalidOptions(format!(
            "no AWS region: set {REGION_ENV} or AWS_REGION (or a region in your AWS profile)"
        ))
    })?;
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

pub use dynamo_wire::error::one_line;

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
    use super::{check_endpoint_url, is_loopback_url};

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
            assert_eq!(check_endpoint_url(good), Ok(()), "{good}");
        }
        for bad in [
            "notaurl",
            "localhost:8000",
            "ftp://h",
            "http://h:1/x",
            "http://",
            "http://:80",
            "http://h:1?x=1",
        ] {
            assert!(check_endpoint_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert!(is_loopback_url("http://127.0.0.1:8000"));
        assert!(is_loopback_url("http://127.0.0.2:1"));
        assert!(is_loopback_url("http://localhost:4567/"));
        assert!(is_loopback_url("https://LOCALHOST:443"));
        assert!(is_loopback_url("http://[::1]:8000"));
        assert!(!is_loopback_url("https://dynamodb.eu-west-1.amazonaws.com"));
        assert!(!is_loopback_url("http://10.0.0.5:8000"));
        // A name that merely starts like a loopback address is somewhere else.
        assert!(!is_loopback_url("http://127.example.com:8000"));
        assert!(!is_loopback_url("127.0.0.1:8000"));
    }
}
