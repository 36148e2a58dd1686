//! The PHP SDK's observable outcomes, for conformance runs (spec §1.9, docs/seams.md "Handler
//! operations protocol").
//!
//! [`SessionHandler`] returns typed results; PHP instead returns `''`/false, raises `E_USER_WARNING`s
//! and lets some exceptions escape. This module maps one onto the other:
//!
//! | operation | Ok | DynamoDbException ([`SessionError::Service`]) | AwsException ([`SessionError::Client`]) / InvalidArgumentException ([`SessionError::InvalidInput`]) |
//! |---|---|---|---|
//! | read | data | `''`, no warning (lock timeouts too); a failed expired-item delete: `''` + `Error deleting session <key>: <message>` | exception |
//! | write | true | false + `Error writing session <key>: <message>` | exception |
//! | close (touch) | true | false + `Error writing session <key>: <message>` | exception |
//! | destroy | true | false + `Error deleting session <key>: <message>` | exception |
//! | gc | true | — | — |
//! | garbage_collect | null (batch failures dropped, as PHP without an `error` callback; see [`CompatHandler::last_gc_report`]) | exception | exception |
//!
//! `<message>` is [`SessionError::php_message`], worded like PHP's `AwsException::getMessage()`. The
//! prefix up to `: ` is exact.
//!
//! Non-UTF-8 data with type string (C66): PHP sends an UpdateItem with an empty body, which DynamoDB
//! rejects with a 4xx. The handler sends nothing instead (the outcome does not depend on the backend
//! then, and no doomed request is made); compat reports it as PHP does: false plus an
//! `Error writing session <key>: ...` warning, with `sessionWritten` false so the following close
//! touches. The observable difference is one fewer (failing) UpdateItem on the wire.
//!
//! [`CompatSession`] speaks the JSON-lines protocol directly, so the harness's `rust` subject only
//! has to move lines: `session.handle_json(line).await`.

use std::sync::Arc;

use dynamo_session::config::PHP_DEFAULT_GC_MAXLIFETIME;
use dynamo_session::{
    Clock, GcReport, Operation, RetryPolicy, SessionClient, SessionConfig, SessionError,
    SessionHandler, SharedClock, SystemClock, php,
};
use serde_json::{Map, Value};

use crate::messages::{self, ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, PhpException};

/// The base clock as the current [`ClockSpec`] bends it; shared by every handler of a [`CompatSession`].
#[derive(Debug)]
struct ScenarioClock {
    base: SharedClock,
    spec: std::sync::Mutex<ClockSpec>,
}

impl ScenarioClock {
    fn set(&self, spec: ClockSpec) {
        *self.spec.lock().unwrap_or_else(|p| p.into_inner()) = spec;
    }
}

impl Clock for ScenarioClock {
    fn now_unix(&self) -> i64 {
        let spec = *self.spec.lock().unwrap_or_else(|p| p.into_inner());
        spec.now_at(self.base.now_unix())
    }
}

/// A handler plus PHP outcome mapping: each method answers what the PHP handler would.
#[derive(Debug)]
pub struct CompatHandler {
    handler: SessionHandler,
    last_gc_report: Option<GcReport>,
}

impl CompatHandler {
    /// Builds a handler the way `SessionHandler::fromClient($client, $config)` would, with `config`
    /// read PHP-style ([`SessionConfig::from_sdk_options_as_php`]) and `gc_maxlifetime` taken from
    /// `ini["session.gc_maxlifetime"]` (PHP's `(int)` cast; 1440 when absent).
    pub fn new(
        client: &ClientSpec,
        config: &Value,
        ini: &Value,
        clock: SharedClock,
    ) -> Result<Self, PhpException> {
        let invalid = |message: String| PhpException {
            class: "InvalidArgumentException".into(),
            code: None,
            message,
        };
        let empty = Map::new();
        let options = match config {
            Value::Object(m) => m,
            Value::Null => &empty,
            Value::Array(a) if a.is_empty() => &empty,
            other => {
                return Err(invalid(format!(
                    "config must be an array, found {}",
                    php::describe_type(other)
                )));
            }
        };
        let gc_maxlifetime = match ini.get("session.gc_maxlifetime") {
            None | Some(Value::Null) => PHP_DEFAULT_GC_MAXLIFETIME,
            Some(Value::String(s)) => php::int_cast(s),
            Some(Value::Number(n)) => n
                .as_i64()
                .unwrap_or_else(|| n.as_f64().map_or(0, |f| f as i64)),
            Some(other) => {
                return Err(invalid(format!(
                    "session.gc_maxlifetime: unsupported {}",
                    php::describe_type(other)
                )));
            }
        };
        let config = SessionConfig::from_sdk_options_as_php(options, gc_maxlifetime)
            .map_err(|e| invalid(e.to_string()))?;
        let policy = client
            .retries
            .map_or_else(RetryPolicy::php_default, RetryPolicy::php_retries);
        let client = SessionClient::from_static(
            &client.endpoint,
            &client.region,
            &client.key,
            &client.secret,
            policy,
        );
        Ok(Self::from_handler(SessionHandler::with_clock(
            client, config, clock,
        )))
    }

    /// Wraps an existing handler.
    pub fn from_handler(handler: SessionHandler) -> Self {
        Self {
            handler,
            last_gc_report: None,
        }
    }

    /// The wrapped handler.
    pub fn handler(&self) -> &SessionHandler {
        &self.handler
    }

    /// The report of the last `garbage_collect`, including the failures PHP drops.
    pub fn last_gc_report(&self) -> Option<&GcReport> {
        self.last_gc_report.as_ref()
    }

    fn endpoint(&self) -> String {
        self.handler.client().endpoint().to_owned()
    }

    fn escape(&self, err: &SessionError) -> HandlerResponse {
        HandlerResponse::exception(PhpException::from_error(err, &self.endpoint()))
    }

    /// Outcome of a write-like call: true, false + warning (DynamoDbException), or the exception.
    fn bool_outcome(
        &self,
        result: Result<(), SessionError>,
        verb: &str,
        key: &str,
    ) -> HandlerResponse {
        match result {
            Ok(()) => HandlerResponse::value(Value::Bool(true)),
            Err(e @ (SessionError::Service(_) | SessionError::NonUtf8Data { .. })) => {
                HandlerResponse {
                    value: Value::Bool(false),
                    warnings: vec![format!(
                        "Error {verb} session {key}: {}",
                        e.php_message(&self.endpoint())
                    )],
                    exception: None,
                }
            }
            Err(e) => self.escape(&e),
        }
    }

    /// `open`: true.
    pub fn open(&mut self, save_path: &str, name: &str) -> HandlerResponse {
        HandlerResponse::value(Value::Bool(self.handler.open(save_path, name)))
    }

    /// `read`: the data, `''` on DynamoDbException or lock timeout.
    pub async fn read(&mut self, id: &str) -> HandlerResponse {
        match self.handler.read(id).await {
            Ok(data) => HandlerResponse::bytes(&data),
            Err(e @ SessionError::Service(_)) if e.operation() == Some(Operation::DeleteItem) => {
                HandlerResponse {
                    value: messages::bytes_value(b""),
                    warnings: vec![format!(
                        "Error deleting session {}: {}",
                        self.handler.key_for(id),
                        e.php_message(&self.endpoint())
                    )],
                    exception: None,
                }
            }
            Err(SessionError::Service(_) | SessionError::LockNotAcquired { .. }) => {
                HandlerResponse::bytes(b"")
            }
            Err(e) => self.escape(&e),
        }
    }

    /// `write`.
    pub async fn write(&mut self, id: &str, data: &[u8]) -> HandlerResponse {
        let key = self.handler.key_for(id);
        let result = self.handler.write(id, data).await;
        self.bool_outcome(result, "writing", &key)
    }

    /// `close` with PHP's current `session_id()`.
    pub async fn close(&mut self, session_id: &str) -> HandlerResponse {
        let key = self.handler.key_for(session_id);
        let result = self.handler.close(session_id).await.map(|_| ());
        self.bool_outcome(result, "writing", &key)
    }

    /// `destroy`.
    pub async fn destroy(&mut self, id: &str) -> HandlerResponse {
        let key = self.handler.key_for(id);
        let result = self.handler.destroy(id).await;
        self.bool_outcome(result, "deleting", &key)
    }

    /// `gc`: true, no I/O.
    pub fn gc(&mut self) -> HandlerResponse {
        HandlerResponse::value(Value::Bool(self.handler.gc(0)))
    }

    /// `garbageCollect`: null; Scan errors and validation errors escape.
    pub async fn garbage_collect(&mut self) -> HandlerResponse {
        match self.handler.garbage_collect().await {
            Ok(report) => {
                self.last_gc_report = Some(report);
                HandlerResponse::value(Value::Null)
            }
            Err(e) => self.escape(&e),
        }
    }
}

/// The protocol driver: holds the current handler (replaced by `new_handler`) and answers requests.
#[derive(Debug)]
pub struct CompatSession {
    clock: Arc<ScenarioClock>,
    handler: Option<CompatHandler>,
}

impl Default for CompatSession {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl CompatSession {
    /// A session whose handlers read time from `clock`, as bent by `new_handler`'s and `set_clock`'s
    /// [`ClockSpec`].
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock: Arc::new(ScenarioClock {
                base: clock,
                spec: std::sync::Mutex::new(ClockSpec::System),
            }),
            handler: None,
        }
    }

    /// The current handler, if `new_handler` has succeeded.
    pub fn handler(&self) -> Option<&CompatHandler> {
        self.handler.as_ref()
    }

    /// Answers one request line with one response line.
    pub async fn handle_json(&mut self, line: &str) -> String {
        let response = match serde_json::from_str::<HandlerRequest>(line) {
            Ok(request) => self.handle(request).await,
            Err(e) => HandlerResponse::protocol_error(format!("bad request: {e}")),
        };
        serde_json::to_string(&response).expect("responses serialise")
    }

    /// Answers one request.
    pub async fn handle(&mut self, request: HandlerRequest) -> HandlerResponse {
        if let HandlerRequest::SetClock { clock } = request {
            self.clock.set(clock);
            return HandlerResponse::value(Value::Bool(true));
        }
        if let HandlerRequest::NewHandler {
            client,
            config,
            ini,
            clock,
        } = &request
        {
            // PHP's worker replaces its handler; a failed construction leaves none.
            self.handler = None;
            self.clock.set(*clock);
            let shared: SharedClock = self.clock.clone();
            return match CompatHandler::new(client, config, ini, shared) {
                Ok(h) => {
                    self.handler = Some(h);
                    HandlerResponse::value(Value::Bool(true))
                }
                Err(e) => HandlerResponse::exception(e),
            };
        }
        let Some(h) = self.handler.as_mut() else {
            return HandlerResponse::protocol_error("no handler: send new_handler first");
        };
        match request {
            HandlerRequest::NewHandler { .. } | HandlerRequest::SetClock { .. } => {
                unreachable!("handled above")
            }
            HandlerRequest::Open { save_path, name } => h.open(&save_path, &name),
            HandlerRequest::Read { id } => h.read(&id).await,
            HandlerRequest::Write { id, data_b64 } => match messages::decode(&data_b64) {
                Ok(data) => h.write(&id, &data).await,
                Err(e) => HandlerResponse::protocol_error(format!("data_b64: {e}")),
            },
            HandlerRequest::Close { session_id } => h.close(&session_id).await,
            HandlerRequest::Destroy { id } => h.destroy(&id).await,
            HandlerRequest::Gc { .. } => h.gc(),
            HandlerRequest::GarbageCollect => h.garbage_collect().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ops_before_new_handler_are_protocol_errors() {
        let mut s = CompatSession::default();
        let out: HandlerResponse =
            serde_json::from_str(&s.handle_json(r#"{"op":"read","id":"x"}"#).await).unwrap();
        assert_eq!(out.exception.unwrap().class, "HarnessProtocolError");
        let out: HandlerResponse = serde_json::from_str(&s.handle_json("not json").await).unwrap();
        assert_eq!(out.exception.unwrap().class, "HarnessProtocolError");
    }

    #[tokio::test]
    async fn c01_c37_construction_and_gc_send_nothing() {
        // Port 1 refuses connections: any request would fail, so `true` proves nothing was sent.
        let mut s = CompatSession::default();
        let new = r#"{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1","key":"k","secret":"s","retries":0},"config":{},"ini":{}}"#;
        let out: HandlerResponse = serde_json::from_str(&s.handle_json(new).await).unwrap();
        assert_eq!(out.value, Value::Bool(true));
        for line in [
            r#"{"op":"open","save_path":"","name":"CAKEPHP"}"#,
            r#"{"op":"gc","max_lifetime":1440}"#,
        ] {
            let out: HandlerResponse = serde_json::from_str(&s.handle_json(line).await).unwrap();
            assert_eq!(out, HandlerResponse::value(Value::Bool(true)));
        }
    }

    #[tokio::test]
    async fn c06_empty_table_throws_invalid_argument_without_requests() {
        let mut s = CompatSession::default();
        let new = r#"{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1","key":"k","secret":"s","retries":0},"config":{"table_name":""},"ini":{}}"#;
        s.handle_json(new).await;
        for line in [
            r#"{"op":"write","id":"x","data_b64":"ZA=="}"#,
            r#"{"op":"read","id":"x"}"#,
            r#"{"op":"destroy","id":"x"}"#,
            r#"{"op":"close","session_id":"x"}"#,
            r#"{"op":"garbage_collect"}"#,
        ] {
            let out: HandlerResponse = serde_json::from_str(&s.handle_json(line).await).unwrap();
            let e = out.exception.expect(line);
            assert_eq!(e.class, "InvalidArgumentException", "{line}");
            assert!(
                e.message
                    .contains("[TableName] must be at least 1 characters long"),
                "{}",
                e.message
            );
            assert!(out.warnings.is_empty());
        }
    }

    #[tokio::test]
    async fn c07_c42_lazy_failures_surface_where_php_fails() {
        let mut s = CompatSession::default();
        let new = r#"{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1","key":"k","secret":"s","retries":0},"config":{"consistent_read":0,"batch_config":{"batch_size":26}},"ini":{}}"#;
        s.handle_json(new).await;
        let out: HandlerResponse =
            serde_json::from_str(&s.handle_json(r#"{"op":"read","id":"x"}"#).await).unwrap();
        assert_eq!(
            out.exception.unwrap().message,
            "Found 1 error while validating the input provided for the GetItem operation:\n[ConsistentRead] must be a boolean. Found int(0)"
        );
        let out: HandlerResponse =
            serde_json::from_str(&s.handle_json(r#"{"op":"garbage_collect"}"#).await).unwrap();
        let e = out.exception.unwrap();
        assert_eq!(
            (e.class.as_str(), e.message.as_str()),
            (
                "InvalidArgumentException",
                "\"batch_size\" must be between 2 and 25."
            )
        );
    }
}
