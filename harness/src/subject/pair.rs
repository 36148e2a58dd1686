//! A pair of web apps on one table (`php-http+rust-http`, or `rust-http+rust-http` for two nodes): the
//! cross-app cases log in through one and carry on through the other.

use async_trait::async_trait;

use super::{HandlerDriver, Level, Subject, SubjectEnv, SubjectSettings};

pub struct AppPair {
    name: String,
    first: Box<dyn Subject>,
    second: Box<dyn Subject>,
}

impl AppPair {
    pub async fn start(
        name: &str,
        first: &str,
        second: &str,
        env: &SubjectEnv,
        settings: &SubjectSettings,
    ) -> Self {
        AppPair {
            name: name.to_owned(),
            first: super::start_single(first, env, settings).await,
            second: super::start_single(second, env, settings).await,
        }
    }
}

#[async_trait]
impl Subject for AppPair {
    fn name(&self) -> &str {
        &self.name
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        if level == Level::Handler {
            return Some("a pair of web apps runs HTTP cases only".to_owned());
        }
        self.first
            .unsupported(level)
            .or_else(|| self.second.unsupported(level))
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("a pair of web apps has no handler-level face")
    }

    fn http_base_url(&self) -> Option<String> {
        self.first.http_base_url()
    }

    fn partner_base_url(&self) -> Option<String> {
        self.second.http_base_url()
    }

    async fn shutdown(self: Box<Self>) -> anyhow::Result<()> {
        let first = self.first.shutdown().await;
        let second = self.second.shutdown().await;
        first.and(second)
    }
}
