//! DynamoDB-compatible servers as values with a lifecycle.
//!
//! [`start`] gives a [`Backend`]: an endpoint URL, a region, an SDK configuration with credentials that the
//! server accepts, and the [`Capabilities`] that were *measured* against it at start-up. [`provision_table`]
//! then creates the session table the way the DynamoSession plugin's CloudFormation template does. Dropping
//! the backend (or [`Backend::shutdown`]) stops everything it started.
//!
//! Kinds: `dynalite` (the embedded default: npm, fast, no TTL API), `moto` (PyPI, TTL API, slow, corrupts
//! binary values written through `AttributeUpdates`), `container` (DynamoDB Local through testcontainers,
//! where a Docker engine answers) and `endpoint` (any URL, real AWS included).
//!
//! Tests of other crates can share one dynalite per test binary with [`shared_dynalite`].

mod capabilities;
mod container;
mod dynalite;
mod endpoint;
mod error;
mod moto;
mod process;
pub mod provision;
mod readiness;
mod sdk;
mod server;
mod shared;
mod table;
pub mod versions;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use capabilities::{Capabilities, measure_capabilities};
pub use container::docker_available;
pub use error::BackendError;
pub use shared::shared_dynalite;
pub use table::{TableReport, TableSpec, TtlStatus, provision_table};

/// Receives human-readable progress lines (provisioning can take a minute the first time).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// A [`Progress`] that discards everything.
pub fn silent_progress() -> Progress {
    Arc::new(|_| {})
}

/// A [`Progress`] that prints each line to stderr, prefixed with `[backend]`.
pub fn stderr_progress() -> Progress {
    Arc::new(|line| eprintln!("[backend] {line}"))
}

/// Which kind of DynamoDB-compatible server to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// dynalite from npm, in memory (the default: fast, no TTL API).
    #[default]
    Dynalite,
    /// moto's server from PyPI, in memory (TTL API, slow, corrupts B values written via AttributeUpdates).
    Moto,
    /// DynamoDB Local in a container (needs a Docker engine).
    Container,
    /// An already running endpoint: any URL, or real AWS when no URL is given.
    Endpoint,
}

impl BackendKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [BackendKind; 4] = [Self::Dynalite, Self::Moto, Self::Container, Self::Endpoint];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynalite => "dynalite",
            Self::Moto => "moto",
            Self::Container => "container",
            Self::Endpoint => "endpoint",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = BackendError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                BackendError::InvalidOptions(format!(
                    "unknown backend `{text}`; expected one of dynalite, moto, container, endpoint"
                ))
            })
    }
}

/// How to start a backend. `BackendOptions { kind: BackendKind::Moto, ..Default::default() }` is the usual form.
#[derive(Clone)]
pub struct BackendOptions {
    pub kind: BackendKind,
    /// Port to listen on (127.0.0.1) for dynalite, moto and container; `None` picks a free one.
    pub port: Option<u16>,
    /// Only for `endpoint`: the URL. `None` falls back to `COMANAGE_REGISTRY_DYNAMODB_ENDPOINT`, then to the
    /// regional AWS endpoint.
    pub endpoint: Option<String>,
    pub progress: Progress,
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            kind: BackendKind::default(),
            port: None,
            endpoint: None,
            progress: silent_progress(),
        }
    }
}

impl fmt::Debug for BackendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendOptions")
            .field("kind", &self.kind)
            .field("port", &self.port)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A running (or reachable) DynamoDB-compatible server.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// e.g. `http://127.0.0.1:41234`; for real AWS, the regional endpoint.
    fn endpoint_url(&self) -> &str;
    fn region(&self) -> &str;
    /// Measured against this server when it was started.
    fn capabilities(&self) -> &Capabilities;
    /// Endpoint, region and credentials the server accepts (static test credentials for local servers).
    fn sdk_config(&self) -> aws_config::SdkConfig;
    /// The pid of the server process, for the kinds that run one (dynalite, moto).
    fn pid(&self) -> Option<u32> {
        None
    }
    /// Stops the server politely and waits for it. Dropping the backend also stops it, synchronously.
    async fn shutdown(self: Box<Self>) -> Result<(), BackendError>;
}

/// Starts (or, for `endpoint`, connects to) a backend and measures its capabilities.
pub async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    if opts.endpoint.is_some() && opts.kind != BackendKind::Endpoint {
        return Err(BackendError::InvalidOptions(format!(
            "an endpoint URL only makes sense with the endpoint backend, not {}",
            opts.kind
        )));
    }
    match opts.kind {
        BackendKind::Dynalite => dynalite::start(opts).await,
        BackendKind::Moto => moto::start(opts).await,
        BackendKind::Container => container::start(opts).await,
        BackendKind::Endpoint => endpoint::start(opts).await,
    }
}

/// A DynamoDB client for `backend`, with the SDK's default retry and timeout behaviour.
pub fn client(backend: &dyn Backend) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&backend.sdk_config())
}
