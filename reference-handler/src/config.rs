//! Handler configuration: the PHP SDK's keys, defaults and quirks (spec §1.2, §1.8).
//!
//! Two ways in:
//! * [`SessionConfig::builder`] — typed, for Rust users; every invalid value is rejected by
//!   [`SessionConfigBuilder::build`] with a [`ConfigError`].
//! * [`SessionConfig::from_sdk_options`] — a PHP-style options map (`serde_json::Map`), looked up the way
//!   the PHP SDK's `SessionConnectionConfigTrait::initConfig` does: each key becomes a setter name
//!   (`'set' . str_replace('_', '', ucwords($key, '_'))`), and PHP method lookup ignores case, so matching
//!   is case-insensitive **and** underscore-insensitive (`table_name`, `TABLE_NAME`, `tablename`,
//!   `t_a_b_l_e_name` all set the table). Unknown keys are ignored; a JSON `null` is treated as absent.
//!
//! # Where PHP fails instead (lazily)
//!
//! PHP stores every value as given and never validates at construction. Three invalid values only fail
//! later, with an `InvalidArgumentException` and **zero requests**:
//!
//! | value | PHP fails in | spec |
//! |---|---|---|
//! | empty `table_name` | every call that sends a request (SDK input validation: read, write, destroy, the close touch, the lock read, garbageCollect's Scan) | C06 |
//! | non-boolean `consistent_read` | `read` in standard mode only (GetItem validation); the locking read never sends it | C07 |
//! | `batch_config.batch_size` outside 2..25 | `garbageCollect()`, before even the Scan | C42 |
//!
//! [`SessionConfig::from_sdk_options`] rejects them up front. [`SessionConfig::from_sdk_options_as_php`]
//! accepts them and records them as [`SessionConfig::deferred_errors`]; the handler then fails exactly
//! where PHP fails, with PHP's message, before sending anything. That is what the handler-operations
//! protocol's `new_handler` uses.
//!
//! # Exact-key quirks reproduced
//!
//! Two decisions in PHP look at the *exact* array key, not the setter:
//! * `SessionHandler::fromClient` picks the locking connection only when `$config['locking']` (exact key)
//!   is truthy. `LOCKING: true` sets the (unused) property but keeps the standard connection.
//! * `initConfig` applies the `session.gc_maxlifetime` fallback when `$config['session_lifetime']`
//!   (exact key) is unset or null, even if an alias such as `SESSION_LIFETIME` was given (C04).
//!
//! # Not modelled
//!
//! Value types PHP would accept but then fail on in ways that are not session semantics (a table name
//! that is a number, a fractional lifetime, negative retry microseconds that make `usleep` throw, a
//! `batch_config` that is not an array, …) are refused at construction with
//! [`ConfigError::Unsupported`]. `batch_config.before` / `batch_config.error` are PHP callables and are
//! ignored by the map reader; Rust callers set [`BatchConfig::on_error`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::gc::BatchFailure;
use crate::php;

/// PHP's default `session.gc_maxlifetime` (php.ini default), the lifetime when nothing else is given.
pub const PHP_DEFAULT_GC_MAXLIFETIME: i64 = 1440;

/// How session data is written (spec §1.2 `data_attribute_type`). Reading is type-agnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataAttributeType {
    /// `{S: data}` (the default, and what every value other than `binary` selects in PHP).
    #[default]
    String,
    /// `{B: base64(data)}`.
    Binary,
}

/// Called with every BatchWriteItem failure that is not re-queued (PHP's `batch_config.error`).
pub type BatchErrorCallback = Arc<dyn Fn(&BatchFailure) + Send + Sync>;

/// The bound on the final flush of garbage collection.
///
/// PHP's `WriteRequestBatch::flush()` loops until the queue is empty, so persistent throttling or
/// persistent `UnprocessedItems` make it loop without bound (spec C43). The Rust handler stops after
/// `max_rounds` flush rounds or once `deadline` has elapsed since the final flush began, whichever comes
/// first, and reports the requests left over in [`crate::GcReport::abandoned`]. `None` for both is
/// PHP's unbounded loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushLimit {
    /// Maximum flush rounds in the final flush.
    pub max_rounds: Option<u32>,
    /// Maximum time spent in the final flush.
    pub deadline: Option<Duration>,
}

impl FlushLimit {
    /// The default bound: 100 rounds, no deadline.
    pub const DEFAULT: FlushLimit = FlushLimit {
        max_rounds: Some(100),
        deadline: None,
    };

    /// PHP's behaviour: no bound at all.
    pub const UNBOUNDED: FlushLimit = FlushLimit {
        max_rounds: None,
        deadline: None,
    };
}

impl Default for FlushLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `batch_config`: how garbage collection batches its deletes (PHP `WriteRequestBatch`, spec §1.8).
#[derive(Clone)]
pub struct BatchConfig {
    /// DeleteRequests per BatchWriteItem, 2..=25 (default 25).
    pub batch_size: usize,
    /// BatchWriteItem commands in flight at once during a flush (default 1).
    pub pool_size: usize,
    /// Flush one round whenever the queue reaches `batch_size × pool_size` (default true).
    pub autoflush: bool,
    /// Bound on the final flush (Rust addition; PHP is unbounded).
    pub final_flush_limit: FlushLimit,
    /// Receives each batch failure that is neither re-queued nor retried (PHP's `error` callable).
    /// Failures are also always listed in the returned [`crate::GcReport`].
    pub on_error: Option<BatchErrorCallback>,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            batch_size: 25,
            pool_size: 1,
            autoflush: true,
            final_flush_limit: FlushLimit::DEFAULT,
            on_error: None,
        }
    }
}

impl fmt::Debug for BatchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchConfig")
            .field("batch_size", &self.batch_size)
            .field("pool_size", &self.pool_size)
            .field("autoflush", &self.autoflush)
            .field("final_flush_limit", &self.final_flush_limit)
            .field("on_error", &self.on_error.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

impl BatchConfig {
    /// The autoflush threshold (`batch_size × pool_size`), or `None` without autoflush.
    pub fn autoflush_threshold(&self) -> Option<usize> {
        self.autoflush
            .then(|| self.batch_size.saturating_mul(self.pool_size))
    }
}

/// An invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `table_name` is empty (PHP: InvalidArgumentException from the first request, C06).
    #[error("table_name must not be empty")]
    EmptyTableName,
    /// `consistent_read` is not a boolean (PHP: InvalidArgumentException from a standard-mode read, C07).
    #[error("consistent_read must be a boolean, found {found}")]
    ConsistentReadNotBoolean {
        /// The value as PHP's `describe_type` prints it.
        found: String,
    },
    /// `batch_config.batch_size` is outside 2..=25 (PHP: InvalidArgumentException from garbageCollect, C42).
    #[error("batch_config.batch_size must be between 2 and 25, found {found}")]
    BatchSizeOutOfRange {
        /// The value as given.
        found: String,
    },
    /// `batch_config.pool_size` is less than 1.
    #[error("batch_config.pool_size must be at least 1, found {found}")]
    PoolSizeInvalid {
        /// The value as given.
        found: String,
    },
    /// An attribute name (hash_key, data_attribute, session_lifetime_attribute) is empty.
    #[error("{key} must not be empty")]
    EmptyAttributeName {
        /// The configuration key.
        key: &'static str,
    },
    /// The final flush limit is zero rounds, which would never send the last batch.
    #[error("batch_config.max_flush_rounds must be at least 1")]
    ZeroFlushRounds,
    /// A value of a type or range this crate does not model (see the module docs).
    #[error("{key}: expected {expected}, found {found}")]
    Unsupported {
        /// The configuration key as given.
        key: String,
        /// What is accepted.
        expected: &'static str,
        /// The value as PHP's `describe_type` prints it.
        found: String,
    },
}

/// Where the PHP SDK surfaces a given [`ConfigError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhpFailurePoint {
    /// At the first call that sends the offending parameter, as an InvalidArgumentException from SDK
    /// input validation, before any request.
    RequestValidation,
    /// In `garbageCollect()`, as an InvalidArgumentException before the first Scan.
    GarbageCollect,
    /// PHP accepts the value; the failure (if any) is not a modelled session behaviour, or the value is
    /// only invalid for the typed Rust API.
    NotModelled,
}

impl ConfigError {
    /// Where PHP would fail for this value.
    pub fn php_failure_point(&self) -> PhpFailurePoint {
        match self {
            ConfigError::EmptyTableName | ConfigError::ConsistentReadNotBoolean { .. } => {
                PhpFailurePoint::RequestValidation
            }
            ConfigError::BatchSizeOutOfRange { .. } => PhpFailurePoint::GarbageCollect,
            _ => PhpFailurePoint::NotModelled,
        }
    }
}

/// The validated handler configuration. See the module docs for the PHP correspondence.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    table_name: String,
    hash_key: String,
    data_attribute: String,
    data_attribute_type: DataAttributeType,
    session_lifetime: i64,
    session_lifetime_attribute: String,
    consistent_read: bool,
    batch: BatchConfig,
    locking: bool,
    max_lock_wait_time: i64,
    min_lock_retry_microtime: u64,
    max_lock_retry_microtime: u64,
    deferred: Vec<ConfigError>,
}

impl SessionConfig {
    /// A builder with every PHP default; `gc_maxlifetime` is the `session.gc_maxlifetime` value that
    /// PHP reads once at construction and uses when no `session_lifetime` is given.
    pub fn builder(gc_maxlifetime: i64) -> SessionConfigBuilder {
        SessionConfigBuilder::new(gc_maxlifetime)
    }

    /// Reads a PHP SDK options map strictly: PHP's key lookup and defaults, but every invalid value is a
    /// [`ConfigError`] now.
    pub fn from_sdk_options(
        options: &Map<String, Value>,
        gc_maxlifetime: i64,
    ) -> Result<Self, ConfigError> {
        let parsed = parse_sdk_options(options, gc_maxlifetime)?;
        if let Some(e) = parsed.deferred.into_iter().next() {
            return Err(e);
        }
        parsed.builder.build()
    }

    /// Reads a PHP SDK options map the way PHP does: values that PHP accepts at construction but fails on
    /// later (see the module docs) are kept and listed in [`Self::deferred_errors`], and the handler
    /// raises them where PHP does. Values this crate cannot model are still refused.
    pub fn from_sdk_options_as_php(
        options: &Map<String, Value>,
        gc_maxlifetime: i64,
    ) -> Result<Self, ConfigError> {
        let parsed = parse_sdk_options(options, gc_maxlifetime)?;
        let mut config = parsed.builder.build_lenient()?;
        config.deferred = parsed.deferred;
        if config.table_name.is_empty() {
            config.deferred.push(ConfigError::EmptyTableName);
        }
        Ok(config)
    }

    /// `table_name` (default `sessions`).
    pub fn table_name(&self) -> &str {
        &self.table_name
    }
    /// `hash_key` (default `id`); always sent as type S.
    pub fn hash_key(&self) -> &str {
        &self.hash_key
    }
    /// `data_attribute` (default `data`).
    pub fn data_attribute(&self) -> &str {
        &self.data_attribute
    }
    /// `data_attribute_type` (default string).
    pub fn data_attribute_type(&self) -> DataAttributeType {
        self.data_attribute_type
    }
    /// `session_lifetime` in seconds; `expires = T + session_lifetime` on every write.
    pub fn session_lifetime(&self) -> i64 {
        self.session_lifetime
    }
    /// `session_lifetime_attribute` (default `expires`).
    pub fn session_lifetime_attribute(&self) -> &str {
        &self.session_lifetime_attribute
    }
    /// `consistent_read` (default true), sent on GetItem only.
    pub fn consistent_read(&self) -> bool {
        self.consistent_read
    }
    /// `batch_config`.
    pub fn batch(&self) -> &BatchConfig {
        &self.batch
    }
    /// Whether the locking connection is used (PHP: the exact key `locking`, truthy).
    pub fn locking(&self) -> bool {
        self.locking
    }
    /// `max_lock_wait_time` in whole seconds (default 10).
    pub fn max_lock_wait_time(&self) -> i64 {
        self.max_lock_wait_time
    }
    /// `min_lock_retry_microtime` (default 10000 µs).
    pub fn min_lock_retry_microtime(&self) -> u64 {
        self.min_lock_retry_microtime
    }
    /// `max_lock_retry_microtime` (default 50000 µs).
    pub fn max_lock_retry_microtime(&self) -> u64 {
        self.max_lock_retry_microtime
    }
    /// Values accepted PHP-style that PHP rejects later (only from [`Self::from_sdk_options_as_php`]).
    pub fn deferred_errors(&self) -> &[ConfigError] {
        &self.deferred
    }

    /// A builder holding this configuration's values.
    pub fn to_builder(&self) -> SessionConfigBuilder {
        SessionConfigBuilder {
            config: Self {
                deferred: Vec::new(),
                ..self.clone()
            },
        }
    }
}

/// Typed builder for [`SessionConfig`]; starts from the PHP defaults.
#[derive(Debug, Clone)]
pub struct SessionConfigBuilder {
    config: SessionConfig,
}

impl SessionConfigBuilder {
    /// PHP defaults, with `session_lifetime = gc_maxlifetime`.
    pub fn new(gc_maxlifetime: i64) -> Self {
        Self {
            config: SessionConfig {
                table_name: "sessions".into(),
                hash_key: "id".into(),
                data_attribute: "data".into(),
                data_attribute_type: DataAttributeType::String,
                session_lifetime: gc_maxlifetime,
                session_lifetime_attribute: "expires".into(),
                consistent_read: true,
                batch: BatchConfig::default(),
                locking: false,
                max_lock_wait_time: 10,
                min_lock_retry_microtime: 10_000,
                max_lock_retry_microtime: 50_000,
                deferred: Vec::new(),
            },
        }
    }

    /// Sets `table_name`.
    pub fn table_name(mut self, v: impl Into<String>) -> Self {
        self.config.table_name = v.into();
        self
    }
    /// Sets `hash_key`.
    pub fn hash_key(mut self, v: impl Into<String>) -> Self {
        self.config.hash_key = v.into();
        self
    }
    /// Sets `data_attribute`.
    pub fn data_attribute(mut self, v: impl Into<String>) -> Self {
        self.config.data_attribute = v.into();
        self
    }
    /// Sets `data_attribute_type`.
    pub fn data_attribute_type(mut self, v: DataAttributeType) -> Self {
        self.config.data_attribute_type = v;
        self
    }
    /// Sets `session_lifetime` (seconds). Zero or negative is allowed, as in PHP: every session is then
    /// expired at once (C03).
    pub fn session_lifetime(mut self, v: i64) -> Self {
        self.config.session_lifetime = v;
        self
    }
    /// Sets `session_lifetime_attribute`.
    pub fn session_lifetime_attribute(mut self, v: impl Into<String>) -> Self {
        self.config.session_lifetime_attribute = v.into();
        self
    }
    /// Sets `consistent_read`.
    pub fn consistent_read(mut self, v: bool) -> Self {
        self.config.consistent_read = v;
        self
    }
    /// Sets `batch_config`.
    pub fn batch(mut self, v: BatchConfig) -> Self {
        self.config.batch = v;
        self
    }
    /// Selects the locking connection.
    pub fn locking(mut self, v: bool) -> Self {
        self.config.locking = v;
        self
    }
    /// Sets `max_lock_wait_time` (whole seconds; 0 or less means exactly one lock attempt).
    pub fn max_lock_wait_time(mut self, v: i64) -> Self {
        self.config.max_lock_wait_time = v;
        self
    }
    /// Sets `min_lock_retry_microtime`.
    pub fn min_lock_retry_microtime(mut self, v: u64) -> Self {
        self.config.min_lock_retry_microtime = v;
        self
    }
    /// Sets `max_lock_retry_microtime`. A value below the minimum is accepted, as PHP's `rand` accepts it.
    pub fn max_lock_retry_microtime(mut self, v: u64) -> Self {
        self.config.max_lock_retry_microtime = v;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<SessionConfig, ConfigError> {
        let c = &self.config;
        if c.table_name.is_empty() {
            return Err(ConfigError::EmptyTableName);
        }
        for (key, v) in [
            ("hash_key", &c.hash_key),
            ("data_attribute", &c.data_attribute),
            ("session_lifetime_attribute", &c.session_lifetime_attribute),
        ] {
            if v.is_empty() {
                return Err(ConfigError::EmptyAttributeName { key });
            }
        }
        if !(2..=25).contains(&c.batch.batch_size) {
            return Err(ConfigError::BatchSizeOutOfRange {
                found: c.batch.batch_size.to_string(),
            });
        }
        self.build_lenient()
    }

    /// The checks PHP effectively makes at construction (none of PHP's lazy ones).
    fn build_lenient(self) -> Result<SessionConfig, ConfigError> {
        let c = &self.config;
        if c.batch.pool_size == 0 {
            return Err(ConfigError::PoolSizeInvalid { found: "0".into() });
        }
        if c.batch.final_flush_limit.max_rounds == Some(0) {
            return Err(ConfigError::ZeroFlushRounds);
        }
        Ok(self.config)
    }
}

struct ParsedOptions {
    builder: SessionConfigBuilder,
    deferred: Vec<ConfigError>,
}

/// The setter each options key reaches in PHP, as lower-case method name without `set`.
fn setter_of(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn parse_sdk_options(
    options: &Map<String, Value>,
    gc_maxlifetime: i64,
) -> Result<ParsedOptions, ConfigError> {
    let mut b = SessionConfigBuilder::new(gc_maxlifetime);
    let mut deferred = Vec::new();
    for (key, value) in options {
        if value.is_null() {
            continue;
        }
        match setter_of(key).as_str() {
            "tablename" => b.config.table_name = string_value(key, value)?,
            "hashkey" => b.config.hash_key = string_value(key, value)?,
            "dataattribute" => b.config.data_attribute = string_value(key, value)?,
            "sessionlifetimeattribute" => {
                b.config.session_lifetime_attribute = string_value(key, value)?
            }
            // `$type == 'binary'` is a loose comparison: the string "binary" and boolean true match.
            "dataattributetype" => {
                b.config.data_attribute_type = match value {
                    Value::String(s) if s == "binary" => DataAttributeType::Binary,
                    Value::Bool(true) => DataAttributeType::Binary,
                    _ => DataAttributeType::String,
                }
            }
            "sessionlifetime" => b.config.session_lifetime = int_value(key, value)?,
            "consistentread" => match value {
                Value::Bool(v) => b.config.consistent_read = *v,
                other => deferred.push(ConfigError::ConsistentReadNotBoolean {
                    found: php::describe_type(other),
                }),
            },
            "batchconfig" => b.config.batch = batch_config(key, value, &mut deferred)?,
            "maxlockwaittime" => b.config.max_lock_wait_time = int_value(key, value)?,
            "minlockretrymicrotime" => {
                b.config.min_lock_retry_microtime = micros_value(key, value)?
            }
            "maxlockretrymicrotime" => {
                b.config.max_lock_retry_microtime = micros_value(key, value)?
            }
            // `setLocking` exists but only the exact key decides the connection type (below).
            _ => {}
        }
    }
    if options.get("session_lifetime").is_none_or(Value::is_null) {
        b.config.session_lifetime = gc_maxlifetime;
    }
    b.config.locking = options.get("locking").is_some_and(php::truthy);
    Ok(ParsedOptions {
        builder: b,
        deferred,
    })
}

fn unsupported(key: &str, expected: &'static str, value: &Value) -> ConfigError {
    ConfigError::Unsupported {
        key: key.to_owned(),
        expected,
        found: php::describe_type(value),
    }
}

fn string_value(key: &str, value: &Value) -> Result<String, ConfigError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(unsupported(key, "a string", other)),
    }
}

/// An integer as PHP arithmetic would use it: an integer, an integral float, or an integral numeric string.
fn int_value(key: &str, value: &Value) -> Result<i64, ConfigError> {
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => match php::numeric_string(s.as_bytes()) {
            Some(php::PhpNumber::Int(i)) => Some(i),
            _ => None,
        },
        _ => None,
    };
    n.ok_or_else(|| unsupported(key, "an integer", value))
}

fn micros_value(key: &str, value: &Value) -> Result<u64, ConfigError> {
    let v = int_value(key, value)?;
    // usleep() throws a ValueError for negative values in PHP 8.
    u64::try_from(v).map_err(|_| unsupported(key, "a non-negative integer", value))
}

fn batch_config(
    key: &str,
    value: &Value,
    deferred: &mut Vec<ConfigError>,
) -> Result<BatchConfig, ConfigError> {
    let empty = Map::new();
    let map = match value {
        Value::Object(m) => m,
        // A PHP empty array JSON-encodes as [].
        Value::Array(a) if a.is_empty() => &empty,
        other => return Err(unsupported(key, "an array", other)),
    };
    let mut batch = BatchConfig::default();
    let get = |k: &str| map.get(k).filter(|v| !v.is_null());
    if let Some(v) = get("batch_size") {
        let size = int_value("batch_config.batch_size", v)?;
        if (2..=25).contains(&size) {
            batch.batch_size = size as usize;
        } else {
            // PHP throws only when garbageCollect() builds its WriteRequestBatch.
            deferred.push(ConfigError::BatchSizeOutOfRange {
                found: size.to_string(),
            });
        }
    }
    if let Some(v) = get("pool_size") {
        let size = int_value("batch_config.pool_size", v)?;
        batch.pool_size = usize::try_from(size)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or_else(|| ConfigError::PoolSizeInvalid {
                found: size.to_string(),
            })?;
    }
    if let Some(v) = get("autoflush") {
        batch.autoflush = php::truthy(v);
    }
    // Rust extensions (PHP ignores unknown batch_config keys).
    if let Some(v) = get("max_flush_rounds") {
        let rounds = int_value("batch_config.max_flush_rounds", v)?;
        batch.final_flush_limit.max_rounds = Some(
            u32::try_from(rounds)
                .map_err(|_| unsupported("batch_config.max_flush_rounds", "a u32", v))?,
        );
    }
    if let Some(v) = get("flush_deadline_ms") {
        let ms = int_value("batch_config.flush_deadline_ms", v)?;
        let ms = u64::try_from(ms).map_err(|_| {
            unsupported(
                "batch_config.flush_deadline_ms",
                "a non-negative integer",
                v,
            )
        })?;
        batch.final_flush_limit.deadline = Some(Duration::from_millis(ms));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn c01_defaults() {
        let c = SessionConfig::from_sdk_options(&Map::new(), 1440).unwrap();
        assert_eq!(c.table_name(), "sessions");
        assert_eq!(c.hash_key(), "id");
        assert_eq!(c.data_attribute(), "data");
        assert_eq!(c.data_attribute_type(), DataAttributeType::String);
        assert_eq!(c.session_lifetime(), 1440);
        assert_eq!(c.session_lifetime_attribute(), "expires");
        assert!(c.consistent_read());
        assert!(!c.locking());
        assert_eq!(
            (
                c.max_lock_wait_time(),
                c.min_lock_retry_microtime(),
                c.max_lock_retry_microtime()
            ),
            (10, 10_000, 50_000)
        );
        assert_eq!(
            (
                c.batch().batch_size,
                c.batch().pool_size,
                c.batch().autoflush
            ),
            (25, 1, true)
        );
        assert_eq!(c.batch().autoflush_threshold(), Some(25));
        assert!(c.deferred_errors().is_empty());
    }

    #[test]
    fn c04_keys_are_case_and_underscore_insensitive() {
        let c = SessionConfig::from_sdk_options(
            &map(json!({"TABLE_NAME": "t1", "Session_Lifetime_Attribute": "ttl", "session_lifetime": null, "bogus": 1})),
            1440,
        )
        .unwrap();
        assert_eq!(c.table_name(), "t1");
        assert_eq!(c.session_lifetime_attribute(), "ttl");
        assert_eq!(c.session_lifetime(), 1440);
        let c = SessionConfig::from_sdk_options(
            &map(json!({"tablename": "t2", "h_a_s_h_k_e_y": "sid"})),
            0,
        )
        .unwrap();
        assert_eq!((c.table_name(), c.hash_key()), ("t2", "sid"));
    }

    #[test]
    fn c04_lifetime_alias_without_exact_key_falls_back_to_ini() {
        let c =
            SessionConfig::from_sdk_options(&map(json!({"SESSION_LIFETIME": 60})), 1440).unwrap();
        assert_eq!(c.session_lifetime(), 1440);
        let c =
            SessionConfig::from_sdk_options(&map(json!({"session_lifetime": "60"})), 1440).unwrap();
        assert_eq!(c.session_lifetime(), 60);
        let c =
            SessionConfig::from_sdk_options(&map(json!({"session_lifetime": 0})), 1440).unwrap();
        assert_eq!(c.session_lifetime(), 0, "C03: zero is kept");
    }

    #[test]
    fn locking_needs_the_exact_key_and_php_truthiness() {
        let on = |v: Value| {
            SessionConfig::from_sdk_options(&map(v), 1440)
                .unwrap()
                .locking()
        };
        assert!(on(json!({"locking": true})));
        assert!(on(json!({"locking": "yes"})));
        assert!(!on(json!({"locking": "0"})));
        assert!(!on(json!({"LOCKING": true})));
        let c = SessionConfig::from_sdk_options(&map(json!({"locking": 1, "MAX_LOCK_WAIT_TIME": 1, "min_lock_retry_microtime": 5, "max_lock_retry_microtime": 1})), 1440).unwrap();
        assert_eq!(
            (
                c.max_lock_wait_time(),
                c.min_lock_retry_microtime(),
                c.max_lock_retry_microtime()
            ),
            (1, 5, 1)
        );
    }

    #[test]
    fn c08_only_binary_selects_b() {
        let ty = |v: Value| {
            SessionConfig::from_sdk_options(&map(json!({"data_attribute_type": v})), 1440)
                .unwrap()
                .data_attribute_type()
        };
        assert_eq!(ty(json!("binary")), DataAttributeType::Binary);
        assert_eq!(ty(json!("B")), DataAttributeType::String);
        assert_eq!(ty(json!("S")), DataAttributeType::String);
        assert_eq!(ty(json!("Binary")), DataAttributeType::String);
        // PHP compares with ==, and true == 'binary'.
        assert_eq!(ty(json!(true)), DataAttributeType::Binary);
        assert_eq!(ty(json!(0)), DataAttributeType::String);
    }

    #[test]
    fn c06_empty_table_name_is_rejected_strictly_and_deferred_as_php() {
        let m = map(json!({"table_name": ""}));
        assert_eq!(
            SessionConfig::from_sdk_options(&m, 1440).unwrap_err(),
            ConfigError::EmptyTableName
        );
        let c = SessionConfig::from_sdk_options_as_php(&m, 1440).unwrap();
        assert_eq!(c.deferred_errors(), &[ConfigError::EmptyTableName]);
        assert_eq!(
            ConfigError::EmptyTableName.php_failure_point(),
            PhpFailurePoint::RequestValidation
        );
    }

    #[test]
    fn c07_non_boolean_consistent_read() {
        let m = map(json!({"consistent_read": 0}));
        let e = SessionConfig::from_sdk_options(&m, 1440).unwrap_err();
        assert_eq!(
            e,
            ConfigError::ConsistentReadNotBoolean {
                found: "int(0)".into()
            }
        );
        let c = SessionConfig::from_sdk_options_as_php(&m, 1440).unwrap();
        assert_eq!(c.deferred_errors().len(), 1);
        let c =
            SessionConfig::from_sdk_options(&map(json!({"consistent_read": false})), 1440).unwrap();
        assert!(!c.consistent_read());
    }

    #[test]
    fn c42_batch_size_outside_2_to_25() {
        for size in [1, 26, 0, -3] {
            let m = map(json!({"batch_config": {"batch_size": size}}));
            assert!(matches!(
                SessionConfig::from_sdk_options(&m, 1440),
                Err(ConfigError::BatchSizeOutOfRange { .. })
            ));
            let c = SessionConfig::from_sdk_options_as_php(&m, 1440).unwrap();
            assert_eq!(
                c.deferred_errors()[0].php_failure_point(),
                PhpFailurePoint::GarbageCollect
            );
        }
        let c = SessionConfig::from_sdk_options(
            &map(json!({"batch_config": {"batch_size": 2, "pool_size": 3, "autoflush": 0}})),
            1440,
        )
        .unwrap();
        assert_eq!(
            (
                c.batch().batch_size,
                c.batch().pool_size,
                c.batch().autoflush_threshold()
            ),
            (2, 3, None)
        );
        let c = SessionConfig::from_sdk_options(&map(json!({"batch_config": []})), 1440).unwrap();
        assert_eq!(c.batch().batch_size, 25);
    }

    #[test]
    fn flush_limit_extensions() {
        let c = SessionConfig::from_sdk_options(
            &map(json!({"batch_config": {"max_flush_rounds": 3, "flush_deadline_ms": 500}})),
            1440,
        )
        .unwrap();
        assert_eq!(
            c.batch().final_flush_limit,
            FlushLimit {
                max_rounds: Some(3),
                deadline: Some(Duration::from_millis(500))
            }
        );
        assert_eq!(
            SessionConfig::from_sdk_options(
                &map(json!({"batch_config": {"max_flush_rounds": 0}})),
                1440
            )
            .unwrap_err(),
            ConfigError::ZeroFlushRounds
        );
    }

    #[test]
    fn unsupported_types_are_refused() {
        for v in [
            json!({"table_name": 5}),
            json!({"session_lifetime": 1.5}),
            json!({"min_lock_retry_microtime": -1}),
            json!({"batch_config": "x"}),
        ] {
            let e = SessionConfig::from_sdk_options_as_php(&map(v.clone()), 1440).unwrap_err();
            assert_eq!(e.php_failure_point(), PhpFailurePoint::NotModelled, "{v}");
        }
    }

    #[test]
    fn builder_validates() {
        assert!(SessionConfig::builder(1440).build().is_ok());
        assert_eq!(
            SessionConfig::builder(1440)
                .table_name("")
                .build()
                .unwrap_err(),
            ConfigError::EmptyTableName
        );
        assert_eq!(
            SessionConfig::builder(1440)
                .hash_key("")
                .build()
                .unwrap_err(),
            ConfigError::EmptyAttributeName { key: "hash_key" }
        );
        let bad = BatchConfig {
            batch_size: 26,
            ..BatchConfig::default()
        };
        assert!(matches!(
            SessionConfig::builder(1440).batch(bad).build(),
            Err(ConfigError::BatchSizeOutOfRange { .. })
        ));
        let bad = BatchConfig {
            pool_size: 0,
            ..BatchConfig::default()
        };
        assert!(matches!(
            SessionConfig::builder(1440).batch(bad).build(),
            Err(ConfigError::PoolSizeInvalid { .. })
        ));
    }
}
