//! The `rust` subject: the reference handler (dynamo-session) in process, through dynamo-session-protocol, which gives
//! the PHP SDK's observable outcomes (return values, warnings, exceptions) for the same protocol requests the
//! PHP worker answers.

use std::sync::Arc;

use async_trait::async_trait;
use dynamo_session::clock::SystemClock;
use dynamo_session_protocol::CompatSession;

use super::{HandlerDriver, Level, Subject};
use crate::protocol::{HandlerRequest, HandlerResponse};

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
        Ok(Box::new(RustDriver {
            session: CompatSession::new(Arc::new(SystemClock)),
        }))
    }
}

struct RustDriver {
    session: CompatSession,
}

#[async_trait]
impl HandlerDriver for RustDriver {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse> {
        Ok(self.session.handle(request.clone()).await)
    }
}
