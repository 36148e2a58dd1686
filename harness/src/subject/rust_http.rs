//! The `rust-http` subject: the Rust test app (fixtures/rust-app, crate dynamo-rust-app) on dynamo-session,
//! served in process on a loopback port, its DynamoDB traffic through the harness's proxy.

use anyhow::Context as _;
use async_trait::async_trait;
use clap::Parser as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{HandlerDriver, Level, Subject, SubjectEnv, SubjectSettings};

pub struct RustHttpSubject {
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl RustHttpSubject {
    pub async fn start(env: &SubjectEnv, settings: &SubjectSettings) -> anyhow::Result<Self> {
        let args = app_args(env, settings)?;
        let state = args.into_state().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Rust app to a loopback port")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(dynamo_rust_app::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Ok(RustHttpSubject {
            base_url,
            stop: Some(stop),
            server: Some(server),
        })
    }
}

/// Variables the Rust app cannot do without: it has no COmanage core.php (file-session fallback) and no
/// wrapper reading them with getenv, so a case that unsets one is for php-http only.
const REQUIRED: [&str; 5] = [
    "COMANAGE_REGISTRY_DYNAMODB_ENDPOINT",
    "COMANAGE_REGISTRY_DYNAMODB_REGION",
    "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_ACCESSKEY",
    "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_SECRETACCESSKEY",
    "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE",
];

/// The app's flags: parsed from nothing, then set from the environment the CakePHP app would get
/// ([`super::app_env`]: the plugin's variables and the case's app settings), so that the harness's own
/// environment (a user's COMANAGE_REGISTRY_DYNAMODB_* or DYNAMO_TEST_APP_* variables) cannot redirect it, and
/// both apps of a case see the same settings. A setting the Rust app cannot honour is an error naming it.
fn app_args(env: &SubjectEnv, settings: &SubjectSettings) -> anyhow::Result<dynamo_rust_app::Args> {
    let mut args = dynamo_rust_app::Args::try_parse_from(["dynamo-rust-app"])
        .context("the Rust app's default arguments")?;
    args.session_json = None;
    args.ini_json = None;
    args.hold_timeout = dynamo_rust_app::DEFAULT_HOLD_TIMEOUT.as_secs_f64();
    for (name, value) in super::app_env(env, settings) {
        if name == super::APP_UNSET_VAR {
            for unset in value.split(',') {
                if REQUIRED.contains(&unset) {
                    anyhow::bail!(
                        "rust-http cannot run with {unset} unset: the Rust app has no COmanage core.php \
                         fallback or getenv wrapper"
                    );
                }
                args.apply_env(unset, "").map_err(anyhow::Error::msg)?;
            }
            continue;
        }
        args.apply_env(&name, &value)
            .map_err(|e| anyhow::anyhow!("rust-http: {e}"))?;
    }
    Ok(args)
}

#[async_trait]
impl Subject for RustHttpSubject {
    fn name(&self) -> &str {
        "rust-http"
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Handler)
            .then(|| "rust-http serves the web app; handler-level cases run on rust".to_owned())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("rust-http has no handler-level face")
    }

    fn http_base_url(&self) -> Option<String> {
        Some(self.base_url.clone())
    }

    async fn shutdown(mut self: Box<Self>) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.context("the Rust app's server task")??;
        }
        Ok(())
    }
}

impl Drop for RustHttpSubject {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> SubjectEnv {
        SubjectEnv {
            dynamodb_endpoint: "http://127.0.0.1:9".to_owned(),
            region: "us-east-1".to_owned(),
            access_key: "k".to_owned(),
            secret_key: "s".to_owned(),
            table: "t".to_owned(),
        }
    }

    #[test]
    fn the_case_settings_reach_the_app() {
        let mut settings = SubjectSettings {
            locking: true,
            ..SubjectSettings::default()
        };
        settings
            .app_session
            .insert("autoRegenerate".to_owned(), serde_json::Value::Bool(true));
        settings.app_env.insert(
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LIFETIME".to_owned(),
            Some("60".to_owned()),
        );
        let args = app_args(&env(), &settings).unwrap();
        assert_eq!(args.endpoint_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!((args.table.as_str(), args.locking), ("t", true));
        assert_eq!(args.session_lifetime, Some(60));
        assert!(args.session_json.unwrap().starts_with("base64:"));

        let mut unset = SubjectSettings::default();
        unset.app_env.insert(
            "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE".to_owned(),
            None,
        );
        let error = app_args(&env(), &unset).unwrap_err().to_string();
        assert!(error.contains("PHPSESSIONS_TABLE unset"), "{error}");
        let mut unknown = SubjectSettings::default();
        unknown
            .app_env
            .insert("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), Some("x".to_owned()));
        assert!(app_args(&env(), &unknown).is_err());
    }
}
