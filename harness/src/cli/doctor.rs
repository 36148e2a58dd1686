//! `dynamo-harness doctor`: is this table, with these credentials, ready for the DynamoSession plugin?
//!
//! The checks, their levels and their wording follow the plugin's own `check` shell
//! (plugin/DynamoSession/Lib/DynamoSessionCheck.php, its README's "Checking a deployment"), so an operator
//! gets the same verdict from the harness machine as from the web server:
//!
//! | line | checked | FAIL / WARN when |
//! |---|---|---|
//! | `credentials` | the plugin's key pair, else aws-config's default chain | FAIL when there is none, or DynamoDB rejects it |
//! | `endpoint` | whether the endpoint answers | FAIL when it does not |
//! | `table` | DescribeTable: key schema exactly `id` S HASH, status | FAIL for another schema or no table; WARN when not ACTIVE or denied |
//! | `billing` | the billing mode | WARN for PROVISIONED (the template is PAY_PER_REQUEST) |
//! | `ttl` | DescribeTimeToLive: enabled on `expires` | WARN when off, on another attribute, or not checkable |
//! | `iam` | each action of the seed policy on a probe item, removed afterwards | FAIL for a denied GetItem, UpdateItem, DeleteItem; WARN for Scan, BatchWriteItem (gc only) |
//! | `latency` | the round trips of the calls | WARN when the median exceeds 100 ms |
//! | `session` | the item lifetime against CakePHP's Session.timeout | WARN when shorter, or more than 10 times longer |
//!
//! Exit status: 0 without a FAIL, 1 with one, 2 when the doctor could not run (bad arguments, no region).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeAction, AttributeValue, AttributeValueUpdate, BillingMode, DeleteRequest, KeyType,
    TimeToLiveStatus, WriteRequest,
};
use clap::Args;
use dynamo_backends::BackendKind;
/// `--ca-file` as an environment variable; the wire proxy and the endpoint backend read it too.
pub use dynamo_backends::endpoint::CA_FILE_ENV;
/// `--yes-real-aws` as an environment variable (1, true, yes).
pub use dynamo_backends::endpoint::YES_REAL_AWS_ENV;
/// Whether the URL's host is this machine: the rule the endpoint backend confirms and picks credentials by.
pub use dynamo_backends::endpoint::is_loopback_url;
use dynamo_backends::endpoint::{
    ACCESS_KEY_ENV, ENDPOINT_ENV, PluginCredentials, REGION_ENV, SECRET_KEY_ENV,
    check_endpoint_url, non_empty_env, region_or_local, sdk_https_client,
};
use dynamo_wire::proxy::UpstreamTls;

const TABLE_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE";
const LIFETIME_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LIFETIME";

/// The attribute names the SDK's session handler uses.
const HASH_KEY: &str = "id";
const LIFETIME_ATTRIBUTE: &str = "expires";
const DATA_ATTRIBUTE: &str = "data";
/// The probe item's key starts with this; no session key can (those are `<cookie name>_<id>`).
pub const PROBE_PREFIX: &str = "DynamoHarnessDoctor_probe_";
/// A median round trip above this is a warning: every page waits for at least two calls.
const SLOW_MS: f64 = 100.0;
/// An item lifetime more than this many times CakePHP's timeout is a warning.
const LIFETIME_FACTOR: u64 = 10;

/// The seed IAM policy's actions (fixtures/cloudformation/dynamo-session-table.yaml) in the order they are
/// probed: what needs each, what its denial costs, and whether only the gc command needs it.
pub const ACTIONS: [(&str, &str, &str, bool); 5] = [
    (
        "UpdateItem",
        "write, close, locking mode's lock",
        "every session write is lost",
        false,
    ),
    (
        "GetItem",
        "read",
        "every read comes back empty: every user looks logged out",
        false,
    ),
    (
        "Scan",
        "the gc command",
        "the gc command cannot run; fine if TTL on expires removes expired sessions",
        true,
    ),
    (
        "BatchWriteItem",
        "the gc command's deletes",
        "the gc command cannot delete; fine if TTL on expires removes expired sessions",
        true,
    ),
    (
        "DeleteItem",
        "destroy at logout, expired items found on read",
        "logout and expired-session cleanup fail",
        false,
    ),
];

/// Confirmation and trust for endpoints off this machine; shared by conform, load, compare and doctor.
#[derive(Debug, Clone, Default, Args)]
pub struct RemoteArgs {
    /// Confirm that the run may touch a DynamoDB endpoint that is not on this machine (real AWS, or any
    /// non-loopback host): it creates and deletes tables or items there. Without it such a run is refused.
    #[arg(long, env = YES_REAL_AWS_ENV, value_parser = clap::builder::BoolishValueParser::new(),
          action = clap::ArgAction::SetTrue)]
    pub yes_real_aws: bool,

    /// A PEM file of CA certificates to trust, besides the system's roots, for an https endpoint (a private
    /// CA, a TLS-inspecting proxy).
    #[arg(long, value_name = "PEM", env = CA_FILE_ENV)]
    pub ca_file: Option<PathBuf>,
}

impl RemoteArgs {
    /// Refuses a malformed `--endpoint`, and a run on the endpoint backend that would reach a host off this
    /// machine without `--yes-real-aws`, before anything starts.
    pub fn check(&self, endpoint: Option<&str>, backends: &[BackendKind]) -> anyhow::Result<()> {
        if let Some(url) = endpoint {
            check_endpoint_url(url)
                .map_err(|reason| anyhow::anyhow!("--endpoint {url:?}: {reason}"))?;
        }
        if let Some(ca) = &self.ca_file {
            read_ca_file(ca)?;
        }
        if !backends.contains(&BackendKind::Endpoint) {
            return Ok(());
        }
        let url = endpoint
            .map(str::to_owned)
            .or_else(|| non_empty_env(ENDPOINT_ENV));
        if let Some(url) = &url {
            check_endpoint_url(url)
                .map_err(|reason| anyhow::anyhow!("{ENDPOINT_ENV}={url:?}: {reason}"))?;
        }
        self.confirm(url.as_deref())
    }

    /// Refuses a non-loopback endpoint (`None`: AWS's regional one) without `--yes-real-aws`.
    pub fn confirm(&self, url: Option<&str>) -> anyhow::Result<()> {
        if self.yes_real_aws || url.is_some_and(is_loopback_url) {
            return Ok(());
        }
        let what = match url {
            Some(url) => format!("{url} is not on this machine"),
            None => {
                "without an endpoint URL the run goes to real AWS (the regional DynamoDB endpoint)"
                    .to_owned()
            }
        };
        anyhow::bail!(
            "refusing to touch a DynamoDB endpoint off this machine: {what}. The run creates and deletes tables or \
             items there. Pass --yes-real-aws (or set {YES_REAL_AWS_ENV}=1) to confirm"
        )
    }
}

/// Puts `--yes-real-aws` and `--ca-file` into the environment, where the endpoint backend and the wire
/// proxy read them.
///
/// # Safety
/// Changes the process environment: call it while no other thread runs.
pub unsafe fn export_remote_env(remote: &RemoteArgs) {
    // SAFETY (both calls): the caller guarantees that no other thread reads or writes the environment.
    if remote.yes_real_aws {
        unsafe { std::env::set_var(YES_REAL_AWS_ENV, "1") };
    }
    if let Some(ca) = &remote.ca_file {
        let ca = std::path::absolute(ca).unwrap_or_else(|_| ca.clone());
        unsafe { std::env::set_var(CA_FILE_ENV, ca) };
    }
}

/// The CA file's PEM text, checked the way the wire proxy checks it.
fn read_ca_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    dynamo_wire::proxy::read_ca_file(path).map_err(|reason| anyhow::anyhow!("--ca-file: {reason}"))
}

/// Check a DynamoDB session table and the credentials the plugin would use on it.
///
/// One line per finding, OK, WARN or FAIL, as the plugin's `check` shell prints them: credentials, whether the
/// endpoint answers, the key schema (`id` S HASH), billing mode (PAY_PER_REQUEST), TTL on `expires`, each
/// action of the seed IAM policy tried on a probe item that is removed afterwards, round-trip latency, and the
/// item lifetime against CakePHP's Session.timeout. Credentials come the way the plugin gets them:
/// COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY/SECRETACCESSKEY (and SESSIONTOKEN), else aws-config's
/// default chain. Exit status: 0 without a FAIL, 1 with one, 2 when the checks could not run.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// The DynamoDB endpoint (else COMANAGE_REGISTRY_DYNAMODB_ENDPOINT, else the region's AWS endpoint).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// The region (else COMANAGE_REGISTRY_DYNAMODB_REGION, else aws-config's: AWS_REGION, the profile).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// The session table.
    #[arg(long, value_name = "T", env = TABLE_ENV, default_value = "dynamo_cakephp_sessions")]
    pub table: String,

    /// PHP's session.gc_maxlifetime, seconds: the DynamoDB item lifetime unless
    /// COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LIFETIME is set (default: COmanage Registry's Session block).
    #[arg(long, value_name = "S", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub gc_maxlifetime: u64,

    /// CakePHP's Session.timeout, minutes (default: COmanage Registry's Session block).
    #[arg(long, value_name = "MIN", default_value_t = 480,
          value_parser = clap::value_parser!(u64).range(1..=525_600))]
    pub cake_timeout: u64,

    /// Seconds each DynamoDB call may take, retries included.
    #[arg(long, value_name = "S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,

    /// Print only WARN and FAIL lines (and the summary).
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }
}

/// One line of the doctor's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// `credentials`, `endpoint`, `table`, `billing`, `ttl`, `iam`, `probe`, `latency`, `session`.
    pub check: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<4} {}: {}",
            self.level.as_str(),
            self.check,
            self.message
        )
    }
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let findings = check(&args).await?;
    for finding in &findings {
        if !args.quiet || finding.level != Level::Ok {
            println!("{finding}");
        }
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    let warned = findings.iter().filter(|f| f.level == Level::Warn).count();
    println!(
        "doctor: {failed} failed, {warned} {} on table {}",
        if warned == 1 { "warning" } else { "warnings" },
        args.table
    );
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// Every check, in order; an error means the doctor could not run at all.
pub async fn check(args: &DoctorArgs) -> anyhow::Result<Vec<Finding>> {
    let endpoint = args
        .endpoint
        .clone()
        .or_else(|| non_empty_env(ENDPOINT_ENV));
    if let Some(url) = &endpoint {
        check_endpoint_url(url)
            .map_err(|reason| anyhow::anyhow!("--endpoint {url:?}: {reason}"))?;
    }
    args.remote.confirm(endpoint.as_deref())?;
    let (config, credentials_source) = sdk_config(args, endpoint.as_deref()).await?;
    let endpoint_url = endpoint.clone().unwrap_or_else(|| {
        format!(
            "https://dynamodb.{}.amazonaws.com",
            config.region().map(ToString::to_string).unwrap_or_default()
        )
    });
    let mut doctor = Doctor {
        client: aws_sdk_dynamodb::Client::new(&config),
        table: args.table.clone(),
        endpoint_url,
        region: config.region().map(ToString::to_string).unwrap_or_default(),
        findings: Vec::new(),
        latencies_ms: Vec::new(),
        stopped: false,
    };
    if doctor.credentials(&config, &credentials_source).await {
        doctor.table().await;
        doctor.time_to_live().await;
        doctor.probe().await;
    }
    if let Some(finding) = latency_finding(&doctor.latencies_ms) {
        doctor.findings.push(finding);
    }
    let lifetime = match non_empty_env(LIFETIME_ENV).and_then(|v| v.parse::<u64>().ok()) {
        Some(lifetime) => (lifetime, LIFETIME_ENV),
        None => (args.gc_maxlifetime, "session.gc_maxlifetime"),
    };
    doctor
        .findings
        .push(session_finding(lifetime, args.cake_timeout));
    Ok(doctor.findings)
}

/// Region, endpoint and credentials the way the plugin gets them, with the CA file trusted for https.
async fn sdk_config(
    args: &DoctorArgs,
    endpoint: Option<&str>,
) -> anyhow::Result<(SdkConfig, String)> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = args.region.clone().or_else(|| non_empty_env(REGION_ENV)) {
        loader = loader.region(Region::new(region));
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    let ca_file = args
        .remote
        .ca_file
        .clone()
        .or_else(|| UpstreamTls::from_env().ca_file);
    if let Some(ca) = &ca_file {
        let client = sdk_https_client(read_ca_file(ca)?).context("the CA file's certificates")?;
        loader = loader.http_client(client);
    }
    let credentials = PluginCredentials::from_env(endpoint);
    loader = credentials.configure(loader);
    let timeout = Duration::from_secs(args.timeout);
    loader = loader
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(3)))
                .operation_timeout(timeout)
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3));
    let config = region_or_local(loader.load().await, endpoint.is_some()).ok_or_else(|| {
        anyhow::anyhow!("no AWS region: give --region, or set {REGION_ENV} or AWS_REGION")
    })?;
    Ok((config, credentials.to_string()))
}

struct Doctor {
    client: aws_sdk_dynamodb::Client,
    table: String,
    endpoint_url: String,
    region: String,
    findings: Vec<Finding>,
    latencies_ms: Vec<f64>,
    /// Set after a FAIL that makes further calls pointless (no table, no endpoint, rejected credentials).
    stopped: bool,
}

/// A failed call, reduced to what the findings need.
struct CallError {
    code: Option<String>,
    message: String,
    /// No response came back (connection refused, timeout, TLS failure).
    unreachable: bool,
    ms: f64,
}

impl CallError {
    fn of<E, R>(error: &SdkError<E, R>, ms: f64) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let unreachable = matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        );
        let message = match error.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("error"),
                service.message().unwrap_or("(no message)")
            ),
            None => dynamo_backends::error_line(error),
        };
        CallError {
            code: error.code().map(str::to_owned),
            message,
            unreachable,
            ms,
        }
    }

    fn denied(&self) -> bool {
        self.code.as_deref() == Some("AccessDeniedException")
    }

    fn bad_credentials(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "ExpiredTokenException"
                    | "MissingAuthenticationTokenException"
            )
        )
    }
}

impl Doctor {
    fn add(&mut self, level: Level, check: &'static str, message: impl Into<String>) {
        self.findings.push(Finding {
            level,
            check,
            message: message.into(),
        });
    }

    /// Times one call; the round trip counts for the latency line when a response came back.
    async fn timed<T, E, R, F>(&mut self, call: F) -> Result<T, CallError>
    where
        F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let started = Instant::now();
        let result = call.await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(value) => {
                self.latencies_ms.push(ms);
                Ok(value)
            }
            Err(error) => {
                let error = CallError::of(&error, ms);
                if !error.unreachable {
                    self.latencies_ms.push(ms);
                }
                self.stop_if_pointless(&error);
                Err(error)
            }
        }
    }

    /// An unreachable endpoint, a missing table or rejected credentials: say so once and make no more calls.
    fn stop_if_pointless(&mut self, error: &CallError) {
        if self.stopped {
            return;
        }
        if error.unreachable {
            let message = format!(
                "cannot reach {} (region {}): the call gave up after {:.2} s ({}). Every session read and write \
                 would wait as long and then fail",
                self.endpoint_url,
                self.region,
                error.ms / 1000.0,
                error.message
            );
            self.add(Level::Fail, "endpoint", message);
            self.stopped = true;
        } else if error.code.as_deref() == Some("ResourceNotFoundException") {
            let message = format!(
                "{} does not exist in {} at {}: every session write would be lost and every user would look \
                 logged out. Check {TABLE_ENV} and {REGION_ENV}, or create the table from \
                 fixtures/cloudformation/dynamo-session-table.yaml",
                self.table, self.region, self.endpoint_url
            );
            self.add(Level::Fail, "table", message);
            self.stopped = true;
        } else if error.bad_credentials() {
            let message = format!("DynamoDB rejected the key: {}", error.message);
            self.add(Level::Fail, "credentials", message);
            self.stopped = true;
        }
    }

    async fn credentials(&mut self, config: &SdkConfig, source: &str) -> bool {
        let Some(provider) = config.credentials_provider() else {
            self.add(
                Level::Fail,
                "credentials",
                no_credentials("no credentials provider"),
            );
            return false;
        };
        match tokio::time::timeout(Duration::from_secs(10), provider.provide_credentials()).await {
            Ok(Ok(credentials)) => {
                let key = credentials.access_key_id();
                let shown: String = key.chars().take(4).collect();
                self.add(
                    Level::Ok,
                    "credentials",
                    format!("key {shown}… from {source}"),
                );
                true
            }
            Ok(Err(error)) => {
                self.add(
                    Level::Fail,
                    "credentials",
                    no_credentials(&dynamo_backends::error_line(&error)),
                );
                false
            }
            Err(_) => {
                self.add(
                    Level::Fail,
                    "credentials",
                    no_credentials("the default chain found none within 10 s"),
                );
                false
            }
        }
    }

    async fn table(&mut self) {
        let call = self.client.describe_table().table_name(&self.table).send();
        let description = match self.timed(call).await {
            Ok(output) => output.table,
            Err(error) if error.denied() => {
                self.add(
                    Level::Warn,
                    "table",
                    "dynamodb:DescribeTable denied, so key schema and billing mode were not checked (the session \
                     policy does not need it; the probes below still use the key)",
                );
                return;
            }
            Err(error) => {
                if !self.stopped {
                    self.add(
                        Level::Warn,
                        "table",
                        format!("DescribeTable: {}", error.message),
                    );
                }
                return;
            }
        };
        let Some(table) = description else {
            self.add(
                Level::Warn,
                "table",
                "DescribeTable answered without a table",
            );
            return;
        };
        for finding in table_findings(&table) {
            if finding.level == Level::Fail {
                self.stopped = true;
            }
            self.findings.push(finding);
        }
    }

    async fn time_to_live(&mut self) {
        if self.stopped {
            return;
        }
        let call = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send();
        match self.timed(call).await {
            Ok(output) => {
                let finding = ttl_finding(output.time_to_live_description.as_ref());
                self.findings.push(finding);
            }
            Err(error) if error.denied() => self.add(
                Level::Warn,
                "ttl",
                format!("dynamodb:DescribeTimeToLive denied, so TTL on {LIFETIME_ATTRIBUTE} was not checked"),
            ),
            Err(error) => {
                if !self.stopped {
                    self.add(Level::Warn, "ttl", format!("not checked: {}", error.message));
                }
            }
        }
    }

    /// Each action of the seed policy, on an item no session can have, removed again at the end.
    async fn probe(&mut self) {
        if self.stopped {
            return;
        }
        let probe = format!("{PROBE_PREFIX}{:016x}", rand_u64());
        let key = AttributeValue::S(probe.clone());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let data = format!("dynamo-harness doctor {now}");
        // A write the way the SDK's handler makes it (legacy AttributeUpdates), expiring in 10 minutes so that
        // TTL or gc removes the probe should the doctor die before its delete.
        let update = |value: AttributeValue| {
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(value)
                .build()
        };
        let call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, key.clone())
            .attribute_updates(
                LIFETIME_ATTRIBUTE,
                update(AttributeValue::N((now + 600).to_string())),
            )
            .attribute_updates(
                "lock",
                AttributeValueUpdate::builder()
                    .action(AttributeAction::Delete)
                    .build(),
            )
            .attribute_updates(DATA_ATTRIBUTE, update(AttributeValue::S(data.clone())))
            .send();
        let written = self.timed(call).await;
        let written = self.action("UpdateItem", written).map(|_| ());

        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(HASH_KEY, key.clone())
            .consistent_read(true)
            .send();
        let read = self.timed(call).await;
        let read = self.action("GetItem", read);
        if let (Some(()), Some(item)) = (written, read) {
            let stored = item
                .item
                .as_ref()
                .and_then(|item| item.get(DATA_ATTRIBUTE))
                .and_then(|value| value.as_s().ok());
            if stored != Some(&data) {
                let how = match stored {
                    None => format!("without its {DATA_ATTRIBUTE} attribute"),
                    Some(_) => "with different data".to_owned(),
                };
                self.add(
                    Level::Fail,
                    "probe",
                    format!(
                        "the item written with UpdateItem read back {how}: this backend does not store the SDK's \
                         writes"
                    ),
                );
            }
            // A few more reads for the latency line.
            for _ in 0..3 {
                let call = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(HASH_KEY, key.clone())
                    .send();
                if self.timed(call).await.is_err() {
                    break;
                }
            }
        }

        let call = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(1)
            // Only the key: no user's session data is fetched.
            .projection_expression("#k")
            .expression_attribute_names("#k", HASH_KEY)
            .send();
        let scanned = self.timed(call).await;
        self.action("Scan", scanned);

        // On a second key that does not exist, so that the probe's own removal is DeleteItem's test.
        let batch_delete = |key: AttributeValue| {
            WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .key(HASH_KEY, key)
                        .build()
                        .expect("a key is set"),
                )
                .build()
        };
        let call = self
            .client
            .batch_write_item()
            .request_items(
                self.table.clone(),
                vec![batch_delete(AttributeValue::S(format!("{probe}_batch")))],
            )
            .send();
        let batched = self.timed(call).await;
        let batch = self.action("BatchWriteItem", batched).map(|_| ());

        let call = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(HASH_KEY, key.clone())
            .send();
        let deleted = self.timed(call).await;
        let mut deleted = self.action("DeleteItem", deleted).map(|_| ());
        if written.is_none() || self.stopped {
            return;
        }
        if deleted.is_none() && batch.is_some() {
            // DeleteItem failed but BatchWriteItem works: remove the probe with that instead.
            let call = self
                .client
                .batch_write_item()
                .request_items(self.table.clone(), vec![batch_delete(key)])
                .send();
            deleted = self.timed(call).await.ok().map(|_| ());
        }
        if deleted.is_none() {
            self.add(
                Level::Warn,
                "probe",
                format!(
                    "item {probe} may be left in the table; it expires within 10 minutes (TTL or gc remove it), or \
                     delete it by hand"
                ),
            );
        }
    }

    /// Records whether one action of the policy is allowed; `Some` with the result when it was.
    fn action<T>(&mut self, action: &'static str, result: Result<T, CallError>) -> Option<T> {
        let (_, used_for, cost, gc_only) = ACTIONS
            .iter()
            .copied()
            .find(|(name, ..)| *name == action)
            .expect("one of the seed policy's actions");
        match result {
            Ok(value) => {
                let ms = self.latencies_ms.last().copied().unwrap_or_default();
                self.add(
                    Level::Ok,
                    "iam",
                    format!("dynamodb:{action} allowed ({used_for}; {ms:.0} ms)"),
                );
                Some(value)
            }
            Err(_) if self.stopped => None,
            Err(error) if error.denied() => {
                let level = if gc_only { Level::Warn } else { Level::Fail };
                self.add(
                    level,
                    "iam",
                    format!("dynamodb:{action} denied (needed for {used_for}): {cost}"),
                );
                None
            }
            Err(error) => {
                let hint = match error.message.contains("key element does not match") {
                    true => format!(" (the table's key is not {HASH_KEY} S HASH)"),
                    false => String::new(),
                };
                self.add(
                    Level::Fail,
                    "iam",
                    format!("dynamodb:{action} failed: {}{hint}", error.message),
                );
                None
            }
        }
    }
}

fn no_credentials(reason: &str) -> String {
    format!(
        "none found ({reason}): set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}, or give aws-config's default chain a key \
         (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)"
    )
}

/// DescribeTable's table: key schema, status, billing.
pub fn table_findings(table: &aws_sdk_dynamodb::types::TableDescription) -> Vec<Finding> {
    let name = table.table_name().unwrap_or("?");
    let type_of = |attribute: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == attribute)
            .map_or("?".to_owned(), |d| d.attribute_type().as_str().to_owned())
    };
    let keys: Vec<String> = table
        .key_schema()
        .iter()
        .map(|element| {
            format!(
                "{} {} {}",
                element.attribute_name(),
                type_of(element.attribute_name()),
                element.key_type().as_str()
            )
        })
        .collect();
    let wanted = format!("{HASH_KEY} S {}", KeyType::Hash.as_str());
    if keys != [wanted.clone()] {
        let shown = match keys.is_empty() {
            true => "(none reported)".to_owned(),
            false => keys.join(", "),
        };
        return vec![Finding {
            level: Level::Fail,
            check: "table",
            message: format!(
                "{name} has key schema {shown}; the SDK handler needs exactly {wanted}: create the table from \
                 fixtures/cloudformation/dynamo-session-table.yaml (access checks skipped)"
            ),
        }];
    }
    let status = table.table_status().map_or("?", |s| s.as_str());
    let count = table
        .item_count()
        .map_or_else(String::new, |n| format!(", about {n} items"));
    let mut findings = vec![Finding {
        level: if status == "ACTIVE" {
            Level::Ok
        } else {
            Level::Warn
        },
        check: "table",
        message: format!("{name}: key schema {wanted}, status {status}{count}"),
    }];
    let (read, write) = table.provisioned_throughput().map_or((0, 0), |t| {
        (
            t.read_capacity_units().unwrap_or(0),
            t.write_capacity_units().unwrap_or(0),
        )
    });
    let mode = match table.billing_mode_summary().and_then(|s| s.billing_mode()) {
        Some(mode) => mode.clone(),
        None if read == 0 && write == 0 => BillingMode::PayPerRequest,
        None => BillingMode::Provisioned,
    };
    findings.push(match mode {
        BillingMode::PayPerRequest => Finding {
            level: Level::Ok,
            check: "billing",
            message: "PAY_PER_REQUEST (on-demand), as fixtures/cloudformation creates it".to_owned(),
        },
        other => Finding {
            level: Level::Warn,
            check: "billing",
            message: format!(
                "{}, {read} read / {write} write capacity units: requests beyond them are throttled, and a read \
                 throttled past the retries reads as an empty session (logged out); on-demand (PAY_PER_REQUEST, \
                 as fixtures/cloudformation creates it) or auto scaling avoids it",
                other.as_str()
            ),
        },
    });
    findings
}

/// DescribeTimeToLive's description.
pub fn ttl_finding(
    description: Option<&aws_sdk_dynamodb::types::TimeToLiveDescription>,
) -> Finding {
    let status = description
        .and_then(|d| d.time_to_live_status())
        .cloned()
        .unwrap_or(TimeToLiveStatus::Disabled);
    let attribute = description.and_then(|d| d.attribute_name()).unwrap_or("");
    let without = format!(
        "expired sessions are deleted only when read again or by the gc command: enable TTL on \
         {LIFETIME_ATTRIBUTE} (TimeToLiveSpecification in the CloudFormation template) or run gc from cron"
    );
    let on = matches!(
        status,
        TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling
    );
    let (level, message) = match (on, attribute == LIFETIME_ATTRIBUTE) {
        (true, true) => (
            Level::Ok,
            format!("{} on {LIFETIME_ATTRIBUTE}", status.as_str()),
        ),
        (true, false) => (
            Level::Warn,
            format!(
                "{} on {attribute}, not on {LIFETIME_ATTRIBUTE}: {without}",
                status.as_str()
            ),
        ),
        (false, _) => (Level::Warn, format!("{}: {without}", status.as_str())),
    };
    Finding {
        level,
        check: "ttl",
        message,
    }
}

/// The round trips of the calls that got an answer.
pub fn latency_finding(latencies_ms: &[f64]) -> Option<Finding> {
    if latencies_ms.is_empty() {
        return None;
    }
    let mut sorted = latencies_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = match n % 2 {
        1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    let line = format!(
        "round trip min {:.1} / median {median:.1} / max {:.1} ms over {n} calls",
        sorted[0],
        sorted[n - 1]
    );
    Some(match median > SLOW_MS {
        true => Finding {
            level: Level::Warn,
            check: "latency",
            message: format!(
                "{line}: above {SLOW_MS:.0} ms, and every page waits for at least two calls (read, then write); \
                 run the web servers in the table's region"
            ),
        },
        false => Finding {
            level: Level::Ok,
            check: "latency",
            message: line,
        },
    })
}

/// The item lifetime (`(seconds, where it comes from)`) against CakePHP's Session.timeout (minutes).
pub fn session_finding((lifetime, source): (u64, &str), cake_timeout_min: u64) -> Finding {
    let timeout = cake_timeout_min.saturating_mul(60);
    let both = format!(
        "DynamoDB items live {lifetime} s ({source}), CakePHP's Session.timeout is {cake_timeout_min} min \
         ({timeout} s)"
    );
    let (level, message) = if lifetime < timeout {
        (
            Level::Warn,
            format!(
                "{both}: a user idle for longer than {lifetime} s keeps the session id but loses the data, and looks \
                 logged out before CakePHP's timeout"
            ),
        )
    } else if lifetime > LIFETIME_FACTOR.saturating_mul(timeout) {
        (
            Level::Warn,
            format!(
                "{both}: more than {LIFETIME_FACTOR}x, so abandoned sessions stay in the table (and in gc scans) \
                 long after CakePHP stopped honouring them"
            ),
        )
    } else {
        (Level::Ok, both)
    };
    Finding {
        level,
        check: "session",
        message,
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.2:1"));
        assert!(is_loopback_url("https://localhost:443"));
        assert!(is_loopback_url("http://[::1]:8000"));
        assert!(!is_loopback_url("https://dynamodb.us-east-1.amazonaws.com"));
        assert!(!is_loopback_url("http://10.0.0.5:8000"));
    }

    #[test]
    fn real_aws_needs_the_flag() {
        let remote = RemoteArgs::default();
        let refused = remote
            .check(
                Some("https://dynamodb.us-east-1.amazonaws.com"),
                &[BackendKind::Endpoint],
            )
            .unwrap_err()
            .to_string();
        assert!(refused.contains("--yes-real-aws"), "{refused}");
        assert!(
            remote
                .check(Some("http://127.0.0.1:8000"), &[BackendKind::Endpoint])
                .is_ok()
        );
        // Only the endpoint backend touches the URL.
        assert!(
            remote
                .check(
                    Some("https://dynamodb.us-east-1.amazonaws.com"),
                    &[BackendKind::Dynoxide]
                )
                .is_ok()
        );
        let confirmed = RemoteArgs {
            yes_real_aws: true,
            ca_file: None,
        };
        assert!(
            confirmed
                .check(
                    Some("https://dynamodb.us-east-1.amazonaws.com"),
                    &[BackendKind::Endpoint]
                )
                .is_ok()
        );
        let bad = remote
            .check(Some("notaurl"), &[BackendKind::Dynoxide])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not a URL"), "{bad}");
    }

    #[test]
    fn the_probed_actions_are_the_seed_policy() {
        let template = std::fs::read_to_string(
            crate::assets::checkout_root()
                .join("fixtures/cloudformation/dynamo-session-table.yaml"),
        )
        .unwrap();
        let mut in_template: Vec<&str> = template
            .lines()
            .filter_map(|line| line.trim().strip_prefix("- dynamodb:"))
            .map(|rest| rest.split_whitespace().next().unwrap_or_default())
            .collect();
        let mut probed: Vec<&str> = ACTIONS.iter().map(|(name, ..)| *name).collect();
        in_template.sort_unstable();
        probed.sort_unstable();
        assert_eq!(in_template, probed);
    }

    #[test]
    fn session_settings() {
        let ok = session_finding((86_400, "x"), 480);
        assert_eq!(ok.level, Level::Ok, "{ok}");
        let short = session_finding((1440, "x"), 480);
        assert_eq!(short.level, Level::Warn);
        assert!(short.message.contains("loses the data"), "{short}");
        let long = session_finding((86_400 * 10, "x"), 60);
        assert_eq!(long.level, Level::Warn);
        assert!(long.message.contains("more than 10x"), "{long}");
    }

    #[test]
    fn latency() {
        assert_eq!(latency_finding(&[]), None);
        assert_eq!(
            latency_finding(&[1.0, 2.0, 300.0]).unwrap().level,
            Level::Ok
        );
        assert_eq!(
            latency_finding(&[150.0, 200.0, 3.0]).unwrap().level,
            Level::Warn
        );
    }
}
