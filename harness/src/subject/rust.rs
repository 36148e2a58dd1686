//! The `rust` subject: the reference handler (dynamo-session) in process.

use async_trait::async_trait;

use super::{HandlerDriver, Level, Subject};

pub struct RustSubject;

impl RustSubject {
    pub fn new() -> Self {
        RustSubject
    }
}

impl Default for RustSubject {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Subject for RustSubject {
    fn name(&self) -> &str {
        "rust"
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Http)
            .then(|| "rust drives the handler in process; HTTP cases run on rust-http".to_owned())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("not wired yet")
    }
}
