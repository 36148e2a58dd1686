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
        // Parsed from nothing, then set field by field: the harness's own environment (a user's
        // COMANAGE_REGISTRY_DYNAMODB_* variables) must not redirect the app.
        let mut args = dynamo_rust_app::Args::try_parse_from(["dynamo-rust-app"])
            .context("the Rust app's default arguments")?;
        args.endpoint_url = Some(env.dynamodb_endpoint.clone());
        args.region = env.region.clone();
        args.access_key_id = Some(env.access_key.clone());
        args.secret_access_key = Some(env.secret_key.clone());
        args.table = env.table.clone();
        args.locking = settings.locking;
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
