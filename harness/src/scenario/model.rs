//! The typed form of one case, after the file's defaults are merged in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::subject::Level;

/// One conformance case: what is given, the steps with what each must return, and what is expected at the end.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique across every folder of a run: the session-semantics.md §6 id where there is one (`C12`), else a
    /// name of ours (`TRACE-cli_session_demo`).
    pub id: String,
    /// What the case shows, in a line.
    #[serde(default)]
    pub title: String,
    /// Where the behaviour is specified (`"§6 C12; §1.5 read"`).
    #[serde(default)]
    pub spec: Option<String>,
    /// Filled by the loader: the file's `group`.
    #[serde(default)]
    #[schemars(skip)]
    pub group: String,
    /// `handler` (handler operations) or `http` (requests to a web app).
    #[serde(default = "default_level")]
    #[schemars(schema_with = "crate::schema::level")]
    pub level: Level,
    /// `open()` arguments called on every new handler before its first step; `null` for none.
    #[serde(default)]
    pub open: Option<OpenArgs>,
    /// What holds before the first step: handler config, seeded items, clock, faults, capabilities needed.
    #[serde(default)]
    pub given: Given,
    /// Parsed by the loader (each step is a one-key map naming its operation).
    #[serde(skip)]
    pub steps: Vec<Step>,
    /// What is checked at the end of the case: the DynamoDB calls in order, the final table.
    #[serde(default)]
    pub expect: Expect,
    /// Long-running (for example the SDK's full retry backoff): skipped unless `--slow`.
    #[serde(default)]
    pub slow: bool,
    /// Must run with no other case on its backend (it measures time, or changes something every case sees).
    /// Cases that sweep TTL on a backend whose sweep covers every table run alone without saying so.
    #[serde(default)]
    pub alone: bool,
    /// A reason to skip the case everywhere (a known gap, said plainly: what is missing).
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
        self.http_requests()
            .any(|request| request.app.as_deref() == Some("partner"))
    }

    /// Every HTTP request of the case, those inside `parallel` groups included.
    pub fn http_requests(&self) -> impl Iterator<Item = &HttpRequest> {
        self.steps.iter().flat_map(Step::http_requests)
    }
}

fn default_level() -> Level {
    Level::Handler
}

/// The arguments of PHP's `open($save_path, $name)`.
#[derive(Debug, Clone, Deserialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenArgs {
    /// `session.save_path`; the handler ignores it.
    #[serde(default)]
    pub save_path: String,
    /// The session name, e.g. `CAKEPHP`.
    pub name: String,
}

/// What holds before the first step.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// SDK handler options, keys exactly as a PHP array would carry them (`table_name: "{table}"`, `locking`,
    /// `session_lifetime`, ...); a `null` value removes a key the defaults set.
    #[serde(default)]
    pub config: Map<String, Value>,
    /// PHP's ini `session.gc_maxlifetime` when the handler is built (`session_lifetime` falls back to it).
    #[serde(default)]
    pub gc_maxlifetime: Option<i64>,
    /// Client options: `{retries: N}`.
    #[serde(default)]
    pub client: ClientGiven,
    /// Items seeded into the table before the first step.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::items")]
    pub items: Vec<Value>,
    #[serde(default)]
    pub clock: ClockGiven,
    /// Wire-proxy fault rules (dynamo-wire's `FaultRule`), kept as data until the runner installs them.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::fault_rules")]
    pub faults: Vec<Value>,
    /// Backend capabilities the case depends on.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::capabilities")]
    pub requires: Vec<dynamo_backends::Capability>,
    /// Only these subjects run the case (`rust`, `php`, `rust-http`, `php-http`, ...); the others skip it.
    #[serde(default)]
    pub subjects: Option<Vec<String>>,
    /// With `subjects`: the reason the other subjects report.
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
    #[schemars(schema_with = "crate::schema::sids")]
    pub sids: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Web-app settings a case needs (absent: the run's own, e.g. `--locking`). The runner starts one app per
/// distinct value (compared as a whole, by value) and hands it the settings when it starts
/// ([`crate::subject::app_env`]; docs/seams.md, "Per-case app configuration").
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
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
    #[schemars(schema_with = "crate::schema::ini_values")]
    pub ini: BTreeMap<String, String>,
    /// Environment variables of the app: a value sets one (`{endpoint}` and `{table}` stand for the app's
    /// DynamoDB endpoint and table), `null` unsets one.
    #[serde(default, deserialize_with = "env_values")]
    #[schemars(schema_with = "crate::schema::env_values")]
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

/// Options of the DynamoDB client the handler is built with.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientGiven {
    /// Retries after the first attempt; `null` is the SDK's default (10 for DynamoDB).
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
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub op: StepOp,
    pub actor: String,
    pub expect: Option<StepExpect>,
    /// `within_ms: N`: the step's time limit. A step still running then is abandoned (its handler with it);
    /// whether that is right is `expect: {still_running: true}`.
    pub within_ms: Option<u64>,
}

impl Step {
    /// The step's HTTP request, or a `parallel` group's.
    pub fn http_requests(&self) -> Box<dyn Iterator<Item = &HttpRequest> + '_> {
        match &self.op {
            StepOp::Http(request) => Box::new(std::iter::once(request)),
            StepOp::Parallel(members) => Box::new(members.iter().flat_map(Step::http_requests)),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// A step's operation. In files each is the one key of a step's map (`read: {id: abc}`); the schema of that
/// form is built from this type in [`crate::schema`].
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepOp {
    /// Handler level: a fresh handler object for `as`, with optional overrides of the case's config and ini.
    NewHandler {
        /// Merged over the case's `config`.
        #[schemars(default)]
        config: Map<String, Value>,
        gc_maxlifetime: Option<i64>,
    },
    /// Handler level: `open($save_path, $name)`.
    Open(OpenArgs),
    /// Handler level: `read($id)`; the id is without the `CAKEPHP_` prefix.
    Read { id: String },
    /// Handler level: `write($id, $data)`.
    #[schemars(with = "crate::schema::WriteArgs")]
    Write { id: String, data: Vec<u8> },
    /// Handler level: `close()`, with PHP's `session_id()` at close time (`""` outside a session).
    Close {
        #[schemars(default)]
        session_id: String,
    },
    /// Handler level: `destroy($id)`.
    Destroy { id: String },
    /// Handler level: `gc($max_lifetime)` (the SDK's handler does nothing there).
    Gc {
        #[schemars(default = "crate::schema::default_max_lifetime")]
        max_lifetime: i64,
    },
    /// Handler level: the handler's `garbageCollect()` (a Scan and batched deletes).
    #[schemars(with = "crate::schema::NoArgs")]
    GarbageCollect,
    /// DynamoDB's TTL process at the case's time: the backend's own where it can run one on demand, else the
    /// harness's (items whose lifetime attribute is a Number below now and at most five years old go).
    #[schemars(with = "crate::schema::NoArgs")]
    TtlSweep,
    /// Handler level: moves the subject's clock (frozen or offset clocks only).
    Clock {
        /// Seconds; negative moves it back.
        advance: i64,
    },
    /// Puts items mid-case, as another process would (a put replaces a whole item).
    Seed {
        #[schemars(schema_with = "crate::schema::items")]
        items: Vec<Value>,
    },
    /// HTTP level: one request by the client named `as` (each keeps its own cookie jar and User-Agent).
    Http(HttpRequest),
    /// Requests in flight at the same time: the group's `http` members are sent without waiting for their
    /// answers, `wait` and `release` members run in order between them, and the group ends when every request
    /// has answered (docs/seams.md, "Holds").
    #[schemars(with = "Vec<crate::schema::ParallelMember>")]
    Parallel(Vec<Step>),
    /// Inside a `parallel` group: wait (with a deadline) until something has happened.
    Wait(WaitFor),
    /// Inside a `parallel` group: `POST /hold/N/release` on the subject's app.
    Release {
        #[schemars(pattern(r"^[A-Za-z0-9_-]{1,64}$"))]
        hold: String,
    },
}

/// What a `wait` member of a `parallel` group waits for. Each is polled against a deadline, never a blind sleep.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(rename_all = "snake_case")]
pub enum WaitFor {
    /// At least one request is held at the named hold (`GET /hold/N`).
    Held(String),
    /// The wire proxy has seen at least this many DynamoDB calls since the group began.
    Calls(#[schemars(range(min = 1))] usize),
    /// The member request sent `as` this actor has answered.
    Answered(String),
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
            StepOp::Parallel(_) => "parallel",
            StepOp::Wait(_) => "wait",
            StepOp::Release { .. } => "release",
        }
    }
}

/// One request to a test app (the HTTP contract in docs/seams.md).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    #[serde(default = "default_method")]
    pub method: String,
    /// A route of the test apps' contract (docs/seams.md): `/session`, `/session/set`, `/session/ops`, ...
    pub path: String,
    /// The JSON body (`{values: {Foo: bar}}`, `{ops: [...]}`).
    #[serde(default)]
    pub body: Option<Value>,
    /// The client's User-Agent from this request on (CakePHP checks its md5 against `Config.userAgent`).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `partner`: send to the second web app of a pair (`--subjects php-http+rust-http`).
    #[serde(default)]
    #[schemars(pattern(r"^partner$"))]
    pub app: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// What one step must return (and, optionally, which DynamoDB calls it alone made).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepExpect {
    /// Handler level: the return value, `true`, `false`, `null`, a string (bytes as UTF-8; `<NOW±d>` is the
    /// handler's clock) or `{b64: ...}`. Present (even as `null`) when the return value is checked.
    #[serde(default, deserialize_with = "some_value")]
    pub value: Option<Value>,
    /// The exact list of E_USER_WARNING texts; `*` in a text matches any run of characters.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::exception_class")]
    pub exception: Option<String>,
    /// HTTP level: the status code (200 is expected even without `expect`).
    #[serde(default)]
    pub status: Option<u16>,
    /// HTTP level: a JSON subset the response body must contain.
    #[serde(default)]
    pub json: Option<Value>,
    /// HTTP level: what the response does to the session cookie.
    #[serde(default)]
    pub cookie: Option<CookieExpectation>,
    /// With `within_ms`: the step must still be running at its time limit (a call the SDK never gives up).
    #[serde(default)]
    pub still_running: Option<bool>,
    /// The DynamoDB calls this step alone made (inline).
    #[serde(default)]
    #[schemars(with = "Option<Vec<crate::schema::ExpectedCallText>>")]
    pub calls: Option<Vec<ExpectedCall>>,
    /// The DynamoDB calls this step alone made, as a recorded trace (HTTP traces record one request each).
    #[serde(default)]
    pub calls_trace: Option<String>,
}

/// What a response must do to the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
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

/// What is checked at the end of a case.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The DynamoDB calls in order, compared after normalisation (map order not significant).
    #[serde(default)]
    #[schemars(with = "Option<Vec<crate::schema::ExpectedCallText>>")]
    pub calls: Option<Vec<ExpectedCall>>,
    /// Instead of `calls`: a JSONL trace in the `fixtures/sdk-traces` format, relative to the scenario file.
    #[serde(default)]
    pub calls_trace: Option<String>,
    /// Only counts per operation (`{GetItem: 1, UpdateItem: 2}`), when the exact requests are not the point.
    #[serde(default)]
    pub calls_count: Option<BTreeMap<String, usize>>,
    /// The exact final table (order not significant).
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::expected_items")]
    pub table: Option<Vec<Value>>,
    /// Items (by key) that must be in the final table.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::expected_items")]
    pub table_contains: Option<Vec<Value>>,
    /// Items (by key) that must not be in the final table.
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::expected_items")]
    pub table_lacks: Option<Vec<Value>>,
    /// A named hazard this case demonstrates (reported by name when the case passes).
    #[serde(default)]
    pub hazard: Option<String>,
    /// What became of the session data: `kept` or `lost` (the fault table's last column). The case's table
    /// expectations are what prove it.
    #[serde(default)]
    pub data: Option<DataFate>,
}

/// What became of the session data under a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataFate {
    /// The data written is what the table holds.
    Kept,
    /// The write was lost.
    Lost,
}

pub use dynamo_wire::expect::ExpectedCall;

/// A documented, deliberate difference of one subject from the SDK's behaviour.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// Why the subject differs, in a sentence a reviewer can check.
    pub reason: String,
    /// What is expected of that subject instead, at the end of the case.
    pub expect: Expect,
}
