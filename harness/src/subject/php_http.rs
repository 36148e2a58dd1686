//! The `php-http` subject: the CakePHP 2.10 test app (fixtures/cakephp-app) with the DynamoSession plugin, served
//! by `php -S` with PHP_CLI_SERVER_WORKERS, its DynamoDB traffic through the harness's proxy.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;

use super::child::OwnedChild;
use super::php::{PhpRuntime, workspace_root};
use super::{HandlerDriver, Level, Subject, SubjectEnv, SubjectSettings};

/// How long the app may take to answer its first /health.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

pub struct PhpHttpSubject {
    base_url: String,
    _server: OwnedChild,
    /// CakePHP's TMP (caches, logs) for this run, outside the checkout.
    tmp: std::path::PathBuf,
}

impl Drop for PhpHttpSubject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

impl PhpHttpSubject {
    pub async fn start(env: &SubjectEnv, settings: &SubjectSettings) -> anyhow::Result<Self> {
        let runtime = PhpRuntime::find(settings)?;
        let app = workspace_root().join("fixtures/cakephp-app");
        let webroot = app.join("app/webroot");
        let router = webroot.join("router.php");
        let port = free_port()?;
        let workers = settings.php_server_workers.unwrap_or(4).to_string();
        let tmp = std::env::temp_dir().join(format!(
            "dynamo-harness-cakephp-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let args = vec![
            "-S".to_owned(),
            format!("127.0.0.1:{port}"),
            "-t".to_owned(),
            webroot.display().to_string(),
            router.display().to_string(),
        ];
        let envs = super::app_env(env, settings)
            .into_iter()
            .chain([
                ("PHP_CLI_SERVER_WORKERS".to_owned(), workers),
                (
                    "DYNAMO_SESSION_VENDOR".to_owned(),
                    runtime.vendor.display().to_string(),
                ),
                ("CAKEPHP_APP_TMP".to_owned(), tmp.display().to_string()),
            ])
            .collect::<Vec<_>>();
        let mut server = OwnedChild::spawn_server(&runtime.php.display().to_string(), &args, &envs)
            .context("starting php -S")?;
        let base_url = format!("http://127.0.0.1:{port}");
        wait_healthy(&base_url, &mut server).await?;
        Ok(PhpHttpSubject {
            base_url,
            _server: server,
            tmp,
        })
    }
}

/// A port nobody listens on right now (the server binds it a moment later).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `GET /health` until it answers 200 or the deadline passes.
pub async fn wait_healthy(base_url: &str, server: &mut OwnedChild) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + STARTUP_DEADLINE;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Some(status) = server.try_status() {
            anyhow::bail!(
                "the web app exited ({status}) before answering; its stderr:\n{}",
                server.stderr_tail()
            );
        }
        match client.get(format!("{base_url}/health")).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                last = format!(
                    "HTTP {}: {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                )
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "the web app at {base_url} did not answer /health within {} s (last: {last}); its stderr:\n{}",
        STARTUP_DEADLINE.as_secs(),
        server.stderr_tail()
    )
}

#[async_trait]
impl Subject for PhpHttpSubject {
    fn name(&self) -> &str {
        "php-http"
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Handler)
            .then(|| "php-http serves the web app; handler-level cases run on php".to_owned())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("php-http has no handler-level face")
    }

    fn http_base_url(&self) -> Option<String> {
        Some(self.base_url.clone())
    }
}
