//! The typed form of one case, after the file's defaults are merged in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::subject::Level;

/// One conformance case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub spec: Option<String>,
    /// Filled by the loader: the file's `group`.
    #[serde(default)]
    pub group: String,
    #[serde(default = "default_level")]
    pub level: Level,
    /// `open()` arguments called on every new handler before its first step; `null` for none.
    #[serde(default)]
    pub open: Option<OpenArgs>,
    #[serde(default)]
    pub given: Given,
    /// Parsed by the loader (each step is a one-key map naming its operation).
    #[serde(skip)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Expect,
    /// Long-running (for example the SDK's full retry backoff): skipped unless `--slow`.
    #[serde(default)]
    pub slow: bool,
    /// Must run with no other case on its backend (it measures time, or changes something every case sees).
    /// Cases that sweep TTL on a backend whose sweep covers every table run alone without saying so.
    #[serde(default)]
    pub alone: bool,
    /// A reason to skip the case everywhere (a known gap, said plainly).
    #[serde(default)]
    pub skip: Option<String>,
    /// A free-form note for readers.
    #[serde(default)]
    pub note: Option<String>,
    /// Documented, deliberate differences of a subject from the SDK: for that subject the case's end-of-case
    /// expectations are replaced, and every report names the deviation.
    #[serde(default)]
    pub deviations: BTreeMap<String, Deviation>,
    /// Filled by the loader: the file the case came from (trace paths are relative to it).
    #[serde(skip)]
    pub source: PathBuf,
}

impl Case {
    /// Whether a step talks to the second app of a pair (cross-runtime and multi-node cases).
    pub fn needs_partner(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(&step.op, StepOp::Http(request) if request.app.as_deref() == Some("partner")))
    }
}

fn default_level() -> Level {
    Level::Handler
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenArgs {
    #[serde(default)]
    pub save_path: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// SDK handler options; a `null` value removes a key the defaults set.
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub gc_maxlifetime: Option<i64>,
    #[serde(default)]
    pub client: ClientGiven,
    #[serde(default)]
    pub items: Vec<Value>,
    #[serde(default)]
    pub clock: ClockGiven,
    /// Wire-proxy fault rules (dynamo-wire's `FaultRule`), kept as data until the runner installs them.
    #[serde(default)]
    pub faults: Vec<Value>,
    /// Backend capabilities the case depends on.
    #[serde(default)]
    pub requires: Vec<dynamo_backends::Capability>,
    /// Only these subjects run the case.
    #[serde(default)]
    pub subjects: Option<Vec<String>>,
    #[serde(default)]
    pub skip_reason: Option<String>,
    /// The table's hash key when it is not the config's (rarely needed).
    #[serde(default)]
    pub table_hash_key: Option<String>,
    /// `false`: no table is created (the table-missing cases).
    #[serde(default = "yes")]
    pub create_table: bool,
    /// How the web app must be configured (HTTP cases); the runner starts it once per distinct setting.
    #[serde(default)]
    pub app: AppGiven,
    /// Trace expectations: which case ids stand for the trace's `<SIDn>` placeholders.
    #[serde(default)]
    pub sids: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Web-app settings a case needs (absent: the run's own, e.g. `--locking`). The runner starts one app per
/// distinct value (compared as a whole, by value) and hands it the settings when it starts
/// ([`crate::subject::app_env`]; docs/seams.md, "Per-case app configuration").
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppGiven {
    /// The handler's locking mode (COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_LOCKING).
    #[serde(default)]
    pub locking: Option<bool>,
    /// CakePHP `Session` keys merged into the apps' Session block (`checkAgent`, `autoRegenerate`, `timeout`,
    /// `cookieTimeout`, `defaults`, `ini`, ...): maps merge key by key, `null` removes a key.
    #[serde(default)]
    pub session: Map<String, Value>,
    /// PHP ini settings made with `ini_set` before the session starts (`session.gc_probability`, ...).
    #[serde(default, deserialize_with = "ini_values")]
    pub ini: BTreeMap<String, String>,
    /// Environment variables of the app: a value sets one (`{endpoint}` and `{table}` stand for the app's
    /// DynamoDB endpoint and table), `null` unsets one.
    #[serde(default, deserialize_with = "env_values")]
    pub env: BTreeMap<String, Option<String>>,
}

/// A scalar as PHP's `ini_set` or an environment variable takes it: strings as they are, numbers in their
/// decimal form, booleans as `1` and `0`.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

fn ini_values<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, value)| match scalar_text(&value) {
            Some(text) => Ok((key, text)),
            None => Err(serde::de::Error::custom(format!(
                "app.ini.{key}: an ini value is a string, number or boolean, not {value}"
            ))),
        })
        .collect()
}

fn env_values<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, value)| {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(serde::de::Error::custom(format!(
                    "app.env: {key:?} is not a variable name (A-Z, 0-9, _)"
                )));
            }
            match (&value, scalar_text(&value)) {
                (Value::Null, _) => Ok((key, None)),
                (_, Some(text)) => Ok((key, Some(text))),
                _ => Err(serde::de::Error::custom(format!(
                    "app.env.{key}: a value is a string, number, boolean or null (unset), not {value}"
                ))),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGiven {
    #[serde(default)]
    pub retries: Option<u32>,
}

/// `system`, `{frozen: true}` or `{offset: S}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockGiven {
    #[default]
    System,
    Frozen,
    Offset(i64),
}

impl<'de> Deserialize<'de> for ClockGiven {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match &value {
            Value::Null => Ok(ClockGiven::System),
            Value::String(s) if s == "system" => Ok(ClockGiven::System),
            Value::String(s) if s == "frozen" => Ok(ClockGiven::Frozen),
            Value::Object(map) if map.get("frozen") == Some(&Value::Bool(true)) => {
                Ok(ClockGiven::Frozen)
            }
            Value::Object(map) if map.get("offset").and_then(Value::as_i64).is_some() => Ok(
                ClockGiven::Offset(map["offset"].as_i64().unwrap_or_default()),
            ),
            other => Err(serde::de::Error::custom(format!(
                "clock must be `system`, `{{frozen: true}}` or `{{offset: seconds}}`, not {other}"
            ))),
        }
    }
}

/// One step: the operation, which handler or client runs it, and what it must return.
#[derive(Debug, Clone)]
pub struct Step {
    pub op: StepOp,
    pub actor: String,
    pub expect: Option<StepExpect>,
    /// `within_ms: N`: the step's time limit. A step still running then is abandoned (its handler with it);
    /// whether that is right is `expect: {still_running: true}`.
    pub within_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepOp {
    NewHandler {
        config: Map<String, Value>,
        gc_maxlifetime: Option<i64>,
    },
    Open(OpenArgs),
    Read {
        id: String,
    },
    Write {
        id: String,
        data: Vec<u8>,
    },
    Close {
        session_id: String,
    },
    Destroy {
        id: String,
    },
    Gc {
        max_lifetime: i64,
    },
    GarbageCollect,
    TtlSweep,
    Clock {
        advance: i64,
    },
    Seed {
        items: Vec<Value>,
    },
    Http(HttpRequest),
}

impl StepOp {
    pub fn name(&self) -> &'static str {
        match self {
            StepOp::NewHandler { .. } => "new_handler",
            StepOp::Open(_) => "open",
            StepOp::Read { .. } => "read",
            StepOp::Write { .. } => "write",
            StepOp::Close { .. } => "close",
            StepOp::Destroy { .. } => "destroy",
            StepOp::Gc { .. } => "gc",
            StepOp::GarbageCollect => "garbage_collect",
            StepOp::TtlSweep => "ttl_sweep",
            StepOp::Clock { .. } => "clock",
            StepOp::Seed { .. } => "seed",
            StepOp::Http(_) => "http",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `partner`: send to the second web app of a pair (`--subjects php-http+rust-http`).
    #[serde(default)]
    pub app: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepExpect {
    /// Present (even as `null`) when the return value is checked.
    #[serde(default, deserialize_with = "some_value")]
    pub value: Option<Value>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    #[serde(default)]
    pub exception: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub json: Option<Value>,
    #[serde(default)]
    pub cookie: Option<CookieExpectation>,
    /// With `within_ms`: the step must still be running at its time limit (a call the SDK never gives up).
    #[serde(default)]
    pub still_running: Option<bool>,
    /// The DynamoDB calls this step alone made (inline).
    #[serde(default)]
    pub calls: Option<Vec<ExpectedCall>>,
    /// The DynamoDB calls this step alone made, as a recorded trace (HTTP traces record one request each).
    #[serde(default)]
    pub calls_trace: Option<String>,
}

/// What a response must do to the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieExpectation {
    /// A session id different from the one the client held.
    New,
    /// The same id again, or no `Set-Cookie` at all.
    Same,
    /// Deleted (empty value or an expiry in the past).
    Cleared,
    /// No `Set-Cookie` for the session.
    None,
}

/// Keeps an explicit `null` distinct from an absent key.
fn some_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub calls: Option<Vec<ExpectedCall>>,
    #[serde(default)]
    pub calls_trace: Option<String>,
    #[serde(default)]
    pub calls_count: Option<BTreeMap<String, usize>>,
    #[serde(default)]
    pub table: Option<Vec<Value>>,
    #[serde(default)]
    pub table_contains: Option<Vec<Value>>,
    #[serde(default)]
    pub table_lacks: Option<Vec<Value>>,
    #[serde(default)]
    pub hazard: Option<String>,
    /// What became of the session data: `kept` or `lost` (the fault table's last column). The case's table
    /// expectations are what prove it.
    #[serde(default)]
    pub data: Option<DataFate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFate {
    Kept,
    Lost,
}

pub use dynamo_wire::expect::ExpectedCall;

/// A documented, deliberate difference of one subject from the SDK's behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// Why the subject differs, in a sentence a reviewer can check.
    pub reason: String,
    /// What is expected of that subject instead, at the end of the case.
    pub expect: Expect,
}
