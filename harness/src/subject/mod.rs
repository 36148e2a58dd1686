//! Subjects: the session handlers under test, behind one trait.
//!
//! A subject has up to two faces: handler operations (open/read/write/... with explicit ids, driven through the
//! protocol in [`crate::protocol`]) and HTTP (a web app speaking the contract in docs/seams.md). The runner asks
//! a subject for what a case needs; a subject that cannot serve it says why, and the case is skipped with that
//! reason.

mod child;
pub mod cmd;
pub mod pair;
pub mod php;
pub mod php_http;
pub mod rust;
pub mod rust_http;

use async_trait::async_trait;

use crate::protocol::{HandlerRequest, HandlerResponse};
use crate::scenario::Case;

/// The two faces a case can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Handler,
    Http,
}

/// What every subject is started with: where DynamoDB is (the wire proxy) and how to sign in.
#[derive(Debug, Clone)]
pub struct SubjectEnv {
    pub dynamodb_endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// The table HTTP apps store sessions in (handler-level cases get a fresh table each).
    pub table: String,
}

/// One handler object (PHP) or its Rust equivalent, answering protocol requests in order.
#[async_trait]
pub trait HandlerDriver: Send {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse>;
}

/// A session handler implementation under test.
#[async_trait]
pub trait Subject: Send + Sync {
    /// The name used on the command line and in reports (`rust`, `php`, `php-http`, ...).
    fn name(&self) -> &str;

    /// `None` when the subject can run cases of this level; otherwise the reason it cannot.
    fn unsupported(&self, level: Level) -> Option<String>;

    /// `None` when the subject can run this case as far as the subject itself can tell; otherwise why not (a
    /// `cmd:` program whose hello says it cannot freeze or move its clock, say). Checked before
    /// [`Subject::unsupported`].
    fn skip_reason_for(&self, _case: &Case) -> Option<String> {
        None
    }

    /// A fresh driver for handler-level cases; each holds its own handler object(s).
    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>>;

    /// Base URL of the web app for HTTP-level cases.
    fn http_base_url(&self) -> Option<String> {
        None
    }

    /// For a pair of web apps (`php-http+rust-http`): the second app's base URL.
    fn partner_base_url(&self) -> Option<String> {
        None
    }

    /// Stops whatever the subject started. Drop must also stop it.
    async fn shutdown(self: Box<Self>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The subject names `conform --subjects` accepts, with a line each for `--help`.
pub const KNOWN_SUBJECTS: &[(&str, &str)] = &[
    (
        "rust",
        "the Rust reference handler (dynamo-session), in process",
    ),
    (
        "php",
        "the DynamoSession plugin class on the AWS SDK for PHP, in a long-lived PHP worker",
    ),
    (
        "php-http",
        "the CakePHP 2.10 test app with the plugin, under php -S",
    ),
    ("rust-http", "the Rust test app on dynamo-session"),
    (
        "cmd:NAME=COMMAND",
        "any program speaking the handler-operations protocol (docs/handler-protocol.md), reported as NAME; \
         e.g. 'cmd:rust-worker=dynamo-harness worker'",
    ),
];

/// Where the subjects that need outside programs find them.
#[derive(Debug, Clone, Default)]
pub struct SubjectSettings {
    /// The composer vendor folder the PHP subjects load (`vendor/autoload.php` inside).
    pub php_vendor: Option<std::path::PathBuf>,
    /// `php` executable; default `php` on PATH.
    pub php_binary: Option<std::path::PathBuf>,
    /// Worker count for `php -S` (PHP_CLI_SERVER_WORKERS).
    pub php_server_workers: Option<u32>,
    /// Run the web apps' handlers in locking mode.
    pub locking: bool,
}

/// Whether the subject is a web app, or a pair of them (their cases share one table and one proxy).
pub fn is_http(name: &str) -> bool {
    !cmd::is_cmd(name) && name.split('+').all(|part| part.ends_with("-http"))
}

/// Whether the command line may name this subject: a known one, a pair of web apps `A+B`, or a well-formed
/// `cmd:NAME=COMMAND`.
pub fn is_known(name: &str) -> bool {
    if cmd::is_cmd(name) {
        return cmd::CmdSpec::parse(name).is_ok();
    }
    let known = |n: &str| KNOWN_SUBJECTS.iter().any(|(k, _)| *k == n);
    match name.split_once('+') {
        Some((a, b)) => known(a) && known(b) && is_http(name),
        None => known(name),
    }
}

/// Starts the named subject. A subject that cannot run here (no PHP vendor tree, say) still comes back, as one
/// that skips every case with the reason, so the matrix shows it.
pub async fn start(name: &str, env: &SubjectEnv, settings: &SubjectSettings) -> Box<dyn Subject> {
    // A command may hold a `+`; it is never a pair.
    if let Some((first, second)) = name.split_once('+').filter(|_| !cmd::is_cmd(name)) {
        return Box::new(pair::AppPair::start(name, first, second, env, settings).await);
    }
    start_single(name, env, settings).await
}

/// Starts one subject (not a pair).
pub async fn start_single(
    name: &str,
    env: &SubjectEnv,
    settings: &SubjectSettings,
) -> Box<dyn Subject> {
    if cmd::is_cmd(name) {
        return cmd::start(name).await;
    }
    let started: anyhow::Result<Box<dyn Subject>> = match name {
        "rust" => Ok(Box::new(rust::RustSubject::new())),
        "php" => php::PhpSubject::start(settings).map(|s| Box::new(s) as Box<dyn Subject>),
        "php-http" => php_http::PhpHttpSubject::start(env, settings)
            .await
            .map(|s| Box::new(s) as Box<dyn Subject>),
        "rust-http" => rust_http::RustHttpSubject::start(env, settings)
            .await
            .map(|s| Box::new(s) as Box<dyn Subject>),
        other => Err(anyhow::anyhow!(
            "unknown subject `{other}`; known: {}",
            KNOWN_SUBJECTS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    started.unwrap_or_else(|error| {
        Box::new(Unavailable {
            name: name.to_owned(),
            reason: format!("{error:#}"),
        })
    })
}

/// A subject that could not start: every case skips with the reason.
pub struct Unavailable {
    pub name: String,
    pub reason: String,
}

#[async_trait]
impl Subject for Unavailable {
    fn name(&self) -> &str {
        &self.name
    }

    fn unsupported(&self, _level: Level) -> Option<String> {
        Some(self.reason.clone())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("{}", self.reason)
    }
}

/// The environment both web apps read: the plugin's own variables (docs in plugin/DynamoSession/README.md).
pub fn app_env(env: &SubjectEnv, settings: &SubjectSettings) -> Vec<(String, String)> {
    vec![
        (
            "COMANAGE_REGISTRY_DYNAMODB_REGION".to_owned(),
            env.region.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT".to_owned(),
            env.dynamodb_endpoint.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY".to_owned(),
            env.access_key.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY".to_owned(),
            env.secret_key.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE".to_owned(),
            env.table.clone(),
        ),
        (
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LOCKING".to_owned(),
            if settings.locking { "true" } else { "false" }.to_owned(),
        ),
    ]
}
