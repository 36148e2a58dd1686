//! The `rust-http` subject: the Rust test app (fixtures/rust-app) on dynamo-session.

use async_trait::async_trait;

use super::{HandlerDriver, Level, Subject, SubjectEnv, SubjectSettings};

pub struct RustHttpSubject {
    base_url: String,
}

impl RustHttpSubject {
    pub async fn start(_env: &SubjectEnv, _settings: &SubjectSettings) -> anyhow::Result<Self> {
        anyhow::bail!("the Rust test app is not wired into the harness yet")
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
}
