//! What a run sees of its backend: a client straight to it, its measured capabilities, its TTL process, and
//! the endpoint and credentials subjects are given.

use anyhow::Context as _;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sdk_dynamodb::Client;
use dynamo_backends::Capabilities;

/// What the runner needs from the backend a run uses.
#[derive(Clone)]
pub struct Backdrop {
    pub backend_name: String,
    pub capabilities: Capabilities,
    /// The backend's own TTL process, where it can be run on demand (`ttl_sweep` steps run it).
    pub sweeper: Option<std::sync::Arc<dyn dynamo_backends::TtlSweeper>>,
    /// Straight to the backend: seeding and inspecting tables never shows in a trace.
    pub client: Client,
    pub upstream_url: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Backdrop {
    /// Which TTL process `ttl_sweep` steps run on this backend, in words for reports.
    pub fn ttl_process(&self) -> String {
        match (&self.sweeper, self.capabilities.ttl_sweep_on_demand) {
            (Some(_), _) => "the backend's own TTL deletion, on the case's clock".to_owned(),
            (None, true) => format!(
                "the harness's sweep with DynamoDB's rules, because the backend's own {}",
                match self.capabilities.ttl_rules.differences().join("; ") {
                    broken if broken.is_empty() =>
                        "was not chosen (--ttl-process harness)".to_owned(),
                    broken => broken,
                }
            ),
            (None, false) => "the harness's sweep, with DynamoDB's rules".to_owned(),
        }
    }
}

/// Which TTL process `ttl_sweep` steps run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TtlProcessChoice {
    /// The backend's own where it can run one on demand and it was measured to apply DynamoDB's rules; the
    /// harness's sweep (DynamoDB's rules) elsewhere.
    #[default]
    Auto,
    /// The backend's own wherever it has one, rules broken or not: a case about TTL's rules then fails on a
    /// backend that breaks them, put down to the backend.
    Backend,
    /// Always the harness's sweep, with DynamoDB's rules.
    Harness,
}

/// The backend's endpoint and credentials, as the runner and the subjects need them.
pub async fn backdrop_of(
    backend: &dyn dynamo_backends::Backend,
    ttl_process: TtlProcessChoice,
) -> anyhow::Result<Backdrop> {
    let capabilities = *backend.capabilities();
    let sweeper = match ttl_process {
        TtlProcessChoice::Harness => None,
        TtlProcessChoice::Backend => backend.ttl_sweeper(),
        TtlProcessChoice::Auto => backend
            .ttl_sweeper()
            .filter(|_| capabilities.has(dynamo_backends::Capability::TtlSweepAsAws)),
    };
    let config = backend.sdk_config();
    let credentials = config
        .credentials_provider()
        .context("the backend's SDK configuration has no credentials")?
        .provide_credentials()
        .await
        .context("resolving the backend's credentials")?;
    Ok(Backdrop {
        backend_name: backend.kind().as_str().to_owned(),
        capabilities,
        sweeper,
        client: aws_sdk_dynamodb::Client::new(&config),
        upstream_url: backend.endpoint_url().to_owned(),
        region: backend.region().to_owned(),
        access_key: credentials.access_key_id().to_owned(),
        secret_key: credentials.secret_access_key().to_owned(),
    })
}
