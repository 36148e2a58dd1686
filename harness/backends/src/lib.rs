//! DynamoDB-compatible servers as values with a lifecycle.
//!
//! [`start`] gives a [`Backend`]: an endpoint URL, a region, an SDK configuration with credentials that the
//! server accepts, and the [`Capabilities`] that were *measured* against it at start-up. [`provision_table`]
//! then creates the session table the way the DynamoSession plugin's CloudFormation template does. Dropping
//! the backend (or [`Backend::shutdown`]) stops everything it started.
//!
//! Kinds: `dynoxide` (the default: the `dynoxide-rs` emulator served inside this process, nothing to install,
//! TTL API and its own TTL process run on demand), `dynalite` (npm, fast, no TTL API), `moto` (PyPI, TTL API,
//! slow, corrupts binary values written through `AttributeUpdates`), `container` (an image through
//! testcontainers, Amazon's DynamoDB Local by default, where a Docker engine answers) and `endpoint` (any URL,
//! real AWS included).
//!
//! Tests of other crates can share one backend per test binary with [`shared_backend`].

mod capabilities;
mod container;
mod dynalite;
mod dynoxide;
pub mod endpoint;
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

pub use capabilities::{Capabilities, Capability, TtlRules, TtlSweeper, measure_capabilities};
pub use container::{CONTAINER_PORT, container_image, docker_available};
pub use endpoint::one_line as error_line;
pub use error::BackendError;
pub use shared::{shared_backend, shared_dynalite};
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
    /// dynoxide served inside this process, in memory (the default: nothing to install, TTL API, its own TTL
    /// process on demand).
    #[default]
    Dynoxide,
    /// dynalite from npm, in memory (fast, no TTL API).
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
    pub const ALL: [BackendKind; 5] = [
        Self::Dynoxide,
        Self::Dynalite,
        Self::Moto,
        Self::Container,
        Self::Endpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynoxide => "dynoxide",
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
                    "unknown backend `{text}`; expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ))
            })
    }
}

/// How to start a backend. `BackendOptions { kind: BackendKind::Moto, ..Default::default() }` is the usual form.
#[derive(Clone)]
pub struct BackendOptions {
    pub kind: BackendKind,
    /// Port to listen on (127.0.0.1) for dynoxide, dynalite, moto and container; `None` picks a free one.
    pub port: Option<u16>,
    /// Only for `endpoint`: the URL. `None` falls back to `COMANAGE_REGISTRY_DYNAMODB_ENDPOINT`, then to the
    /// regional AWS endpoint.
    pub endpoint: Option<String>,
    /// Only for `container`: the image as `NAME:TAG`; `None` is Amazon's DynamoDB Local at the pinned tag.
    pub image: Option<String>,
    /// Only for `dynoxide`: the address to listen on (`0.0.0.0` inside a container image); `None` is
    /// 127.0.0.1.
    pub listen_host: Option<std::net::IpAddr>,
    pub progress: Progress,
}

/// Where the kinds that need one find their server: the endpoint's URL, the container's image. Each applies
/// only to its own kind, so one value serves a run over several backends.
#[derive(Debug, Clone, Default)]
pub struct BackendTarget {
    /// For `endpoint`: the URL (`None`: `COMANAGE_REGISTRY_DYNAMODB_ENDPOINT`, then real AWS).
    pub endpoint: Option<String>,
    /// For `container`: the image as `NAME:TAG` (`None`: DynamoDB Local at the pinned tag).
    pub image: Option<String>,
}

impl BackendOptions {
    /// The options for `kind`, taking from `target` what applies to that kind.
    pub fn for_kind(kind: BackendKind, target: &BackendTarget, progress: Progress) -> Self {
        BackendOptions {
            kind,
            endpoint: target
                .endpoint
                .clone()
                .filter(|_| kind == BackendKind::Endpoint),
            image: target
                .image
                .clone()
                .filter(|_| kind == BackendKind::Container),
            progress,
            ..BackendOptions::default()
        }
    }
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            kind: BackendKind::default(),
            port: None,
            endpoint: None,
            image: None,
            listen_host: None,
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
            .field("image", &self.image)
            .field("listen_host", &self.listen_host)
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
    /// The backend's own TTL deletion, where it can be run on demand at a given time (dynoxide). `None`: the
    /// harness plays DynamoDB's TTL rules itself.
    fn ttl_sweeper(&self) -> Option<Arc<dyn TtlSweeper>> {
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
    if opts.image.is_some() && opts.kind != BackendKind::Container {
        return Err(BackendError::InvalidOptions(format!(
            "an image only makes sense with the container backend, not {}",
            opts.kind
        )));
    }
    if opts.listen_host.is_some() && opts.kind != BackendKind::Dynoxide {
        return Err(BackendError::InvalidOptions(format!(
            "a listen address only makes sense with the dynoxide backend, not {}",
            opts.kind
        )));
    }
    match opts.kind {
        BackendKind::Dynoxide => dynoxide::start(opts).await,
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
