//! `Aws\DynamoDb\SessionHandler`: the per-object session state machine (spec §1.3, §1.5).

use std::sync::Arc;

use crate::client::SessionClient;
use crate::clock::{SharedClock, SystemClock};
use crate::config::SessionConfig;
use crate::connection::Connection;
use crate::error::SessionError;
use crate::gc::{self, GcReport};
use crate::key::format_key;
use crate::php::{self, Flat};

/// What `close` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// The current id was written successfully since the last read: no request (C29).
    AlreadyWritten,
    /// A `TOUCH` was sent and succeeded (C30, C32, C36).
    Touched,
}

/// A snapshot of the handler's PHP-visible state (spec §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerState {
    /// `sessionName`, as last given to `open` (`None` before any `open`).
    pub session_name: Option<String>,
    /// `savePath`, as last given to `open`; never used otherwise.
    pub save_path: Option<String>,
    /// `openSessionId`: the raw id of the last read, write or destroy.
    pub open_session_id: String,
    /// `dataRead`: what the last `read` returned (not updated by `write`).
    pub data_read: Vec<u8>,
    /// `sessionWritten`: the result of the last write, destroy or close touch (not reset by read/open).
    pub session_written: bool,
}

/// The PHP SDK's DynamoDB session handler, one object's worth of state.
///
/// Each method corresponds to the PHP method of the same name and sends exactly the requests PHP sends.
/// Results are typed: where PHP returns false and raises a warning, or silently returns `''`, this API
/// returns the [`SessionError`] instead; the handler state is left exactly as PHP leaves it, so the
/// next call behaves as it would after PHP's false or `''`. The `dynamo-session-protocol` crate turns results
/// back into PHP's observable outcome.
///
/// Like the PHP object, a handler holds a single session's state at a time and is not shared between
/// concurrent requests (methods take `&mut self`).
#[derive(Debug)]
pub struct SessionHandler {
    conn: Connection,
    state: HandlerState,
}

impl SessionHandler {
    /// A handler on the system clock. Sends nothing (spec §1.1: construction sends no requests).
    pub fn new(client: SessionClient, config: SessionConfig) -> Self {
        Self::with_clock(client, config, Arc::new(SystemClock))
    }

    /// A handler whose `time()` comes from `clock`.
    pub fn with_clock(client: SessionClient, config: SessionConfig, clock: SharedClock) -> Self {
        Self {
            conn: Connection {
                client,
                config: Arc::new(config),
                clock,
            },
            state: HandlerState {
                session_name: None,
                save_path: None,
                open_session_id: String::new(),
                data_read: Vec::new(),
                session_written: false,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.conn.config
    }

    /// The client.
    pub fn client(&self) -> &SessionClient {
        &self.conn.client
    }

    /// The handler's PHP-visible state.
    pub fn state(&self) -> &HandlerState {
        &self.state
    }

    /// The stored key for `id` under the current session name (`formatId`, spec §1.4).
    pub fn key_for(&self, id: &str) -> String {
        format_key(self.state.session_name.as_deref().unwrap_or(""), id)
    }

    /// `open(savePath, sessionName)`: stores both, returns true, no I/O.
    pub fn open(&mut self, save_path: &str, session_name: &str) -> bool {
        self.state.save_path = Some(save_path.to_owned());
        self.state.session_name = Some(session_name.to_owned());
        true
    }

    /// `read(id)`: fetches the session data (GetItem, or the lock loop in locking mode).
    ///
    /// * Item with both the lifetime and the data attribute, not expired: its data.
    /// * Absent item, or one missing either attribute: empty, nothing deleted (C10, C14, C15).
    /// * Expired (`expires <= T`, numeric compare even for S, C12, C13, C74): empty, and the item is
    ///   deleted through [`Self::destroy`]; a failure of that delete is returned as the error
    ///   (operation DeleteItem), the data being empty in any case (C19).
    /// * Any read failure is returned as the error; PHP returns `''` for DynamoDbException and lock
    ///   timeouts (no warning) and throws the rest. Either way the state is `openSessionId = id`,
    ///   `dataRead = ''`.
    pub async fn read(&mut self, id: &str) -> Result<Vec<u8>, SessionError> {
        self.state.open_session_id = id.to_owned();
        self.state.data_read.clear();
        let key = self.key_for(id);
        let item = self.conn.read(&key).await?;
        let config = &self.conn.config;
        if let (Some(lifetime), Some(data)) = (
            item.get(config.session_lifetime_attribute()),
            item.get(config.data_attribute()),
        ) {
            self.state.data_read = Flat::from_attribute(data).into_session_data();
            if php::loose_le_int(&Flat::from_attribute(lifetime), self.conn.clock.now_unix()) {
                self.state.data_read.clear();
                self.destroy(id).await?;
            }
        }
        Ok(self.state.data_read.clone())
    }

    /// `write(id, data)`: always refreshes the lifetime attribute and deletes `lock`; sends the data
    /// only when it changed (`id != openSessionId` or `data != dataRead`, byte-exact), deleting the data
    /// attribute when the new data is empty (C20–C28). `openSessionId` becomes `id`; `sessionWritten`
    /// the outcome. Non-UTF-8 data under type string is refused without a request
    /// ([`SessionError::NonUtf8Data`], C66).
    pub async fn write(&mut self, id: &str, data: &[u8]) -> Result<(), SessionError> {
        let changed = id != self.state.open_session_id || data != self.state.data_read.as_slice();
        self.state.open_session_id = id.to_owned();
        let key = self.key_for(id);
        let result = self.conn.write(&key, data, changed).await;
        self.record_written(&result);
        result
    }

    /// `close()`, given PHP's current `session_id()`: when `openSessionId` differs from it or nothing was
    /// written successfully, sends a `TOUCH` of that id (data unchanged, lock removed) and records the
    /// result (C29–C33).
    pub async fn close(&mut self, current_session_id: &str) -> Result<CloseAction, SessionError> {
        if self.state.open_session_id == current_session_id && self.state.session_written {
            return Ok(CloseAction::AlreadyWritten);
        }
        let key = self.key_for(current_session_id);
        let result = self.conn.write(&key, b"", false).await;
        self.record_written(&result);
        result.map(|()| CloseAction::Touched)
    }

    /// `destroy(id)`: an unconditional DeleteItem (succeeds for absent items, ignores locks; C34, C35,
    /// C52). `openSessionId` becomes `id`; `sessionWritten` the outcome.
    pub async fn destroy(&mut self, id: &str) -> Result<(), SessionError> {
        self.state.open_session_id = id.to_owned();
        let key = self.key_for(id);
        let result = self.conn.delete(&key).await;
        self.record_written(&result);
        result
    }

    /// `gc(maxLifetime)`: a no-op that returns true and sends nothing (C37).
    pub fn gc(&self, _max_lifetime: i64) -> bool {
        true
    }

    /// `garbageCollect()`: Scan for expired, unlocked items and delete them in batches (C38–C43).
    pub async fn garbage_collect(&self) -> Result<GcReport, SessionError> {
        gc::delete_expired(&self.conn).await
    }

    /// `sessionWritten = result`, but only where PHP assigns it: a DynamoDbException makes the PHP
    /// connection return false; any other exception leaves the property untouched.
    fn record_written(&mut self, result: &Result<(), SessionError>) {
        match result {
            Ok(()) => self.state.session_written = true,
            Err(SessionError::Service(_) | SessionError::NonUtf8Data { .. }) => {
                self.state.session_written = false
            }
            Err(_) => {}
        }
    }
}
