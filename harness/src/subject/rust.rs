//! The `rust` subject: the reference handler (dynamo-session) in process, through its compat layer, which gives
//! the PHP SDK's observable outcomes (return values, warnings, exceptions) for the same protocol the PHP worker
//! speaks. Requests travel as the same JSON lines, so both subjects are driven identically.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dynamo_session::clock::Clock;
use dynamo_session::compat::CompatSession;

use super::{HandlerDriver, Level, Subject};
use crate::protocol::{ClockSpec, HandlerRequest, HandlerResponse};

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
        let clock = Arc::new(SwitchableClock::default());
        Ok(Box::new(RustDriver {
            session: CompatSession::new(clock.clone()),
            clock,
        }))
    }
}

/// The case's clock, switched by `new_handler`'s `clock` and by `set_clock` (docs/seams.md).
#[derive(Debug, Default)]
struct SwitchableClock {
    spec: Mutex<ClockSpec>,
}

impl SwitchableClock {
    fn set(&self, spec: ClockSpec) {
        *self.spec.lock().unwrap_or_else(|p| p.into_inner()) = spec;
    }
}

impl Clock for SwitchableClock {
    fn now_unix(&self) -> i64 {
        let spec = *self.spec.lock().unwrap_or_else(|p| p.into_inner());
        spec.now_at(dynamo_session::clock::SystemClock.now_unix())
    }
}

struct RustDriver {
    session: CompatSession,
    clock: Arc<SwitchableClock>,
}

#[async_trait]
impl HandlerDriver for RustDriver {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse> {
        match request {
            HandlerRequest::SetClock { clock } => {
                self.clock.set(*clock);
                return Ok(HandlerResponse::bool(true, Vec::new()));
            }
            HandlerRequest::NewHandler { clock, .. } => self.clock.set(*clock),
            _ => {}
        }
        let line = serde_json::to_string(request)?;
        let reply = self.session.handle_json(&line).await;
        Ok(serde_json::from_str(&reply)?)
    }
}
