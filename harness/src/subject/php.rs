//! The `php` subject: the DynamoSession plugin class on the AWS SDK for PHP, in a long-lived PHP worker
//! (fixtures/php-worker/handler_worker.php) driven by JSON lines.

use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};

use super::child::OwnedChild;
use super::{HandlerDriver, Level, Subject, SubjectSettings};
use crate::protocol::{HandlerRequest, HandlerResponse};

/// The worker's exit status when the vendor tree or CakePHP is missing.
const EXIT_NO_VENDOR: i32 = 3;

/// How a newcomer gets the vendor tree (it needs Packagist, which is not reachable everywhere).
pub const VENDOR_HINT: &str = "run `composer install --ignore-platform-req=php+ --working-dir=fixtures/cakephp-app` (it fetches \
aws/aws-sdk-php and cakephp/cakephp 2.10.24), or point --php-vendor / DYNAMO_SESSION_VENDOR at a composer \
vendor folder holding both";

/// A folder laid out like the checkout: the checkout itself in development, else the bundled files (assets).
pub fn workspace_root() -> PathBuf {
    crate::assets::root()
}

/// The PHP program and vendor folder the PHP subjects run with, or why they cannot run here.
pub struct PhpRuntime {
    pub php: PathBuf,
    pub vendor: PathBuf,
}

impl PhpRuntime {
    pub fn find(settings: &SubjectSettings) -> anyhow::Result<Self> {
        let php = match &settings.php_binary {
            Some(php) => php.clone(),
            None => which("php").ok_or_else(|| {
                anyhow::anyhow!(
                    "php is not installed (Debian: apt-get install php-cli php-curl php-xml php-mbstring)"
                )
            })?,
        };
        let candidates: Vec<PathBuf> = match &settings.php_vendor {
            Some(vendor) => vec![vendor.clone()],
            None => vec![
                workspace_root().join("fixtures/cakephp-app/vendor"),
                workspace_root().join("plugin/DynamoSession/Vendor"),
            ],
        };
        let vendor = candidates
            .iter()
            .find(|dir| dir.join("autoload.php").is_file())
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no composer vendor tree with aws/aws-sdk-php and cakephp/cakephp (looked for autoload.php \
                     in {}); {VENDOR_HINT}",
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        Ok(PhpRuntime { php, vendor })
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

pub struct PhpSubject {
    runtime: PhpRuntime,
    /// `php`, or `php@LABEL` for one of several vendor trees side by side.
    name: String,
    /// The SDK version the worker really loaded (its hello says).
    sdk_version: String,
}

/// `php@LABEL=DIR`: the php subject on the vendor tree DIR, reported as `php@LABEL` (two SDK versions, or a
/// patched SDK, in one matrix).
pub fn is_labelled(name: &str) -> bool {
    labelled(name).is_some()
}

fn labelled(name: &str) -> Option<(&str, &str)> {
    let (label, dir) = name.strip_prefix("php@")?.split_once('=')?;
    (!label.is_empty()
        && !dir.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    .then_some((label, dir))
}

impl PhpSubject {
    pub async fn start(name: &str, settings: &SubjectSettings) -> anyhow::Result<Self> {
        let runtime = PhpRuntime::find(settings)?;
        let sdk_version = loaded_sdk_version(&runtime)
            .await
            .with_context(|| format!("subject {name}: the PHP worker's hello"))?;
        Ok(PhpSubject {
            runtime,
            name: name.to_owned(),
            sdk_version,
        })
    }

    /// `php@LABEL=DIR`: `php` on the vendor tree DIR.
    pub async fn start_labelled(spec: &str, settings: &SubjectSettings) -> anyhow::Result<Self> {
        let (label, dir) =
            labelled(spec).with_context(|| format!("`{spec}` is not php@LABEL=DIR"))?;
        let settings = SubjectSettings {
            php_vendor: Some(std::path::PathBuf::from(dir)),
            ..settings.clone()
        };
        Self::start(&format!("php@{label}"), &settings).await
    }
}

/// Asks one worker which AWS SDK it loaded: `Aws\Sdk::VERSION`, as its hello gives it.
async fn loaded_sdk_version(runtime: &PhpRuntime) -> anyhow::Result<String> {
    let mut worker = PhpWorker::start(runtime)?;
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        worker.exchange(crate::protocol::HELLO_REQUEST, "hello"),
    )
    .await
    .context("no answer to hello within 30 s")??;
    let hello = crate::protocol::Hello::from_response(&reply).map_err(anyhow::Error::msg)?;
    Ok(hello.version)
}

#[async_trait]
impl Subject for PhpSubject {
    fn name(&self) -> &str {
        &self.name
    }

    fn same_as(&self) -> &str {
        "php"
    }

    fn implementation(&self) -> Option<String> {
        Some(format!("aws-sdk-php {}", self.sdk_version))
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Http)
            .then(|| "php drives the handler class; HTTP cases run on php-http".to_owned())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        Ok(Box::new(PhpWorker::start(&self.runtime)?))
    }
}

/// One worker process: one handler object at a time, requests answered in order.
pub struct PhpWorker {
    child: OwnedChild,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl PhpWorker {
    pub fn start(runtime: &PhpRuntime) -> anyhow::Result<Self> {
        let script = workspace_root().join("fixtures/php-worker/handler_worker.php");
        let mut command = Command::new(&runtime.php);
        command
            .arg(&script)
            .env("DYNAMO_SESSION_VENDOR", &runtime.vendor)
            // A stray AWS profile or region on the machine must not reach the SDK: the harness gives both.
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_RETRY_MODE")
            .env_remove("AWS_MAX_ATTEMPTS");
        let mut child = OwnedChild::spawn(command)
            .with_context(|| format!("starting {} {}", runtime.php.display(), script.display()))?;
        let (stdin, stdout) = child.take_pipes().context("the worker's pipes")?;
        Ok(PhpWorker {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        })
    }

    /// One request line, one answer (`op` names it in errors).
    async fn exchange(&mut self, line: &str, op: &str) -> anyhow::Result<HandlerResponse> {
        let line = format!("{line}\n");
        if self.stdin.write_all(line.as_bytes()).await.is_err() || self.stdin.flush().await.is_err()
        {
            return Err(self.died().await);
        }
        match self.stdout.next_line().await {
            Ok(Some(reply)) => serde_json::from_str(&reply)
                .with_context(|| format!("the PHP worker answered {op} with {reply:?}")),
            _ => Err(self.died().await),
        }
    }

    /// Why the worker stopped answering: its exit status (once it has ended) and the end of its stderr.
    async fn died(&mut self) -> anyhow::Error {
        // A closed stdout means the process is ending; its status follows within moments.
        let status = self
            .child
            .wait_status(std::time::Duration::from_secs(2))
            .await;
        self.child
            .settle_stderr(std::time::Duration::from_millis(500))
            .await;
        let hint = match status.and_then(|s| s.code()) {
            Some(EXIT_NO_VENDOR) => format!("; {VENDOR_HINT}"),
            _ => String::new(),
        };
        anyhow::anyhow!(
            "the PHP worker stopped ({}){hint}; its stderr:\n{}",
            status.map_or("still running".to_owned(), |s| s.to_string()),
            self.child.stderr_tail()
        )
    }
}

#[async_trait]
impl HandlerDriver for PhpWorker {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse> {
        let line = serde_json::to_string(request)?;
        self.exchange(&line, request.op_name()).await
    }
}
