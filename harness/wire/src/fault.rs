//! Fault rules: which calls the proxy answers (or mangles) itself instead of passing them through.
//!
//! Rules are data, written in scenario files and on the command line:
//!
//! ```yaml
//! - match: {op: GetItem, key: CAKEPHP_abc}
//!   action: {throttle: ProvisionedThroughputExceededException}
//!   times: 11
//! - match: {op: UpdateItem}
//!   action: {server_error: 500}
//!   fraction: 0.5
//!   seed: 7
//! - action: reset            # any call
//!   times: 1
//! ```
//!
//! For each call the rules are tried in order; the first one that matches, still has `times` left and wins
//! its `fraction` draw applies, and its hit count goes up. So `times: 1` rules listed one after the other
//! make a sequence (ThrottlingException, then RequestLimitExceeded, then success: spec C59).

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// DynamoDB's JSON protocol namespace for error types.
pub const ERROR_TYPE_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";

/// One rule. Deserialising validates it (see [`FaultRuleError`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultRuleSpec")]
pub struct FaultRule {
    /// Which calls; the default matches every call.
    #[serde(rename = "match", default)]
    pub matcher: FaultMatch,
    pub action: FaultAction,
    /// Apply at most this many times, then let matching calls through. None: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Apply to this share of matching calls, drawn from an RNG seeded with `seed`, so a run is repeatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub seed: u64,
}

/// Selects calls by operation and by the hash key value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    /// The operation (`GetItem`, `UpdateItem`, …), `X-Amz-Target` after the dot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// A value of `Key` (the stored key, e.g. `CAKEPHP_abc`), or of any DeleteRequest key of a BatchWriteItem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// What the proxy does to a matching call. Written as a bare name for the actions without a parameter
/// (`reset`, `bad_crc32`, `table_missing`) and as a one-key map otherwise (`{throttle: ThrottlingException}`),
/// in YAML and JSON alike (serde's derived enum format would want YAML tags such as `!throttle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// HTTP 400 with this error code, e.g. ProvisionedThroughputExceededException, ThrottlingException.
    Throttle(String),
    /// Any error code with any status (default 400) and an optional message.
    Error {
        code: String,
        status: u16,
        message: Option<String>,
    },
    /// HTTP 5xx with DynamoDB's body (500: InternalServerError, 503: ServiceUnavailable).
    ServerError(u16),
    /// Wait this many milliseconds, then forward.
    LatencyMs(u64),
    /// Close the client connection without a response (a TCP reset).
    Reset,
    /// Forward, then send the response with an `x-amz-crc32` that does not match its body.
    BadCrc32,
    /// BatchWriteItem only: forward all but the last n write requests and return those as UnprocessedItems.
    Unprocessed(usize),
    /// ResourceNotFoundException, "Requested resource not found", without forwarding.
    TableMissing,
}

/// The parameters of `{error: {...}}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorSpec {
    code: String,
    #[serde(default = "default_error_status")]
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

const UNIT_ACTIONS: &[&str] = &["reset", "bad_crc32", "table_missing"];
const MAP_ACTIONS: &[&str] = &[
    "throttle",
    "error",
    "server_error",
    "latency_ms",
    "unprocessed",
];
const ALL_ACTIONS: &[&str] = &[
    "throttle",
    "error",
    "server_error",
    "latency_ms",
    "reset",
    "bad_crc32",
    "unprocessed",
    "table_missing",
];

impl Serialize for FaultAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            FaultAction::Reset => s.serialize_str("reset"),
            FaultAction::BadCrc32 => s.serialize_str("bad_crc32"),
            FaultAction::TableMissing => s.serialize_str("table_missing"),
            other => {
                let mut map = s.serialize_map(Some(1))?;
                match other {
                    FaultAction::Throttle(code) => map.serialize_entry("throttle", code)?,
                    FaultAction::Error {
                        code,
                        status,
                        message,
                    } => map.serialize_entry(
                        "error",
                        &ErrorSpec {
                            code: code.clone(),
                            status: *status,
                            message: message.clone(),
                        },
                    )?,
                    FaultAction::ServerError(status) => {
                        map.serialize_entry("server_error", status)?
                    }
                    FaultAction::LatencyMs(ms) => map.serialize_entry("latency_ms", ms)?,
                    FaultAction::Unprocessed(n) => map.serialize_entry("unprocessed", n)?,
                    FaultAction::Reset | FaultAction::BadCrc32 | FaultAction::TableMissing => {
                        unreachable!("written as strings above")
                    }
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for FaultAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ActionVisitor)
    }
}

struct ActionVisitor;

impl<'de> serde::de::Visitor<'de> for ActionVisitor {
    type Value = FaultAction;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fault action: reset, bad_crc32, table_missing, or a one-key map such as {throttle: CODE}")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FaultAction, E> {
        match v {
            "reset" => Ok(FaultAction::Reset),
            "bad_crc32" => Ok(FaultAction::BadCrc32),
            "table_missing" => Ok(FaultAction::TableMissing),
            other if MAP_ACTIONS.contains(&other) => Err(E::custom(format_args!(
                "action `{other}` needs a value, e.g. {{{other}: ...}}"
            ))),
            other => Err(E::unknown_variant(other, ALL_ACTIONS)),
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FaultAction, A::Error> {
        use serde::de::Error;
        let key: String = map
            .next_key()?
            .ok_or_else(|| A::Error::custom("an empty map is not an action"))?;
        let action = match key.as_str() {
            "throttle" => FaultAction::Throttle(map.next_value()?),
            "error" => {
                let spec: ErrorSpec = map.next_value()?;
                FaultAction::Error {
                    code: spec.code,
                    status: spec.status,
                    message: spec.message,
                }
            }
            "server_error" => FaultAction::ServerError(map.next_value()?),
            "latency_ms" => FaultAction::LatencyMs(map.next_value()?),
            "unprocessed" => FaultAction::Unprocessed(map.next_value()?),
            unit if UNIT_ACTIONS.contains(&unit) => {
                // `{reset: null}` is what some writers produce for a bare name.
                map.next_value::<serde::de::IgnoredAny>()?;
                self.visit_str(unit)?
            }
            other => return Err(A::Error::unknown_variant(other, ALL_ACTIONS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(A::Error::custom(format_args!(
                "an action is a map with one key; `{key}` and `{extra}` are both given"
            )));
        }
        Ok(action)
    }
}

fn default_error_status() -> u16 {
    400
}

/// Why a rule was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultRuleError {
    #[error("fraction must be within 0..=1, got {0}")]
    Fraction(f64),
    #[error("an error code must not be empty")]
    EmptyCode,
    #[error("status {0} is not an error status (400-599)")]
    ErrorStatus(u16),
    #[error("server_error wants a 5xx status, got {0}")]
    ServerStatus(u16),
    #[error("unprocessed wants at least 1 item")]
    NoUnprocessed,
}

/// The rule as written, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRuleSpec {
    #[serde(rename = "match", default)]
    matcher: FaultMatch,
    action: FaultAction,
    #[serde(default)]
    times: Option<u64>,
    #[serde(default)]
    fraction: Option<f64>,
    #[serde(default)]
    seed: u64,
}

impl TryFrom<FaultRuleSpec> for FaultRule {
    type Error = FaultRuleError;

    fn try_from(spec: FaultRuleSpec) -> Result<Self, FaultRuleError> {
        let rule = FaultRule {
            matcher: spec.matcher,
            action: spec.action,
            times: spec.times,
            fraction: spec.fraction,
            seed: spec.seed,
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl FaultRule {
    /// A rule for every call with `action`, unlimited; narrow it with the builder methods.
    pub fn new(action: FaultAction) -> Self {
        Self {
            matcher: FaultMatch::default(),
            action,
            times: None,
            fraction: None,
            seed: 0,
        }
    }

    pub fn op(mut self, op: &str) -> Self {
        self.matcher.op = Some(op.to_owned());
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        self.matcher.key = Some(key.to_owned());
        self
    }

    pub fn times(mut self, times: u64) -> Self {
        self.times = Some(times);
        self
    }

    pub fn fraction(mut self, fraction: f64, seed: u64) -> Self {
        self.fraction = Some(fraction);
        self.seed = seed;
        self
    }

    pub fn validate(&self) -> Result<(), FaultRuleError> {
        if let Some(f) = self.fraction
            && !(0.0..=1.0).contains(&f)
        {
            return Err(FaultRuleError::Fraction(f));
        }
        match &self.action {
            FaultAction::Throttle(code) | FaultAction::Error { code, .. } if code.is_empty() => {
                Err(FaultRuleError::EmptyCode)
            }
            FaultAction::Error { status, .. } if !(400..=599).contains(status) => {
                Err(FaultRuleError::ErrorStatus(*status))
            }
            FaultAction::ServerError(status) if !(500..=599).contains(status) => {
                Err(FaultRuleError::ServerStatus(*status))
            }
            FaultAction::Unprocessed(0) => Err(FaultRuleError::NoUnprocessed),
            _ => Ok(()),
        }
    }

    fn matches(&self, op: &str, request: &Value) -> bool {
        if self.matcher.op.as_deref().is_some_and(|want| want != op) {
            return false;
        }
        if let Some(want) = &self.matcher.key
            && !request_keys(op, request).any(|k| k == want)
        {
            return false;
        }
        // Splitting a batch only makes sense for a batch.
        !matches!(self.action, FaultAction::Unprocessed(_)) || op == "BatchWriteItem"
    }
}

impl fmt::Display for FaultAction {
    /// The `injected` marker of a record.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Throttle(code) => write!(f, "throttle {code}"),
            FaultAction::Error { code, status, .. } => write!(f, "error {status} {code}"),
            FaultAction::ServerError(status) => write!(f, "server_error {status}"),
            FaultAction::LatencyMs(ms) => write!(f, "latency_ms {ms}"),
            FaultAction::Reset => f.write_str("reset"),
            FaultAction::BadCrc32 => f.write_str("bad_crc32"),
            FaultAction::Unprocessed(n) => write!(f, "unprocessed {n}"),
            FaultAction::TableMissing => f.write_str("table_missing"),
        }
    }
}

impl FaultAction {
    /// The response the proxy sends instead of forwarding, for the actions that answer by themselves:
    /// (status, compact JSON body as DynamoDB writes it).
    pub fn synthetic_response(&self) -> Option<(u16, Vec<u8>)> {
        let (status, code, message) = match self {
            FaultAction::Throttle(code) => (400, code.as_str(), canned_message(code)),
            FaultAction::Error {
                code,
                status,
                message,
            } => (
                *status,
                code.as_str(),
                message.clone().unwrap_or_else(|| canned_message(code)),
            ),
            FaultAction::ServerError(503) => {
                (503, "ServiceUnavailable", "Service Unavailable".to_owned())
            }
            FaultAction::ServerError(status) => (
                *status,
                "InternalServerError",
                "Internal server error".to_owned(),
            ),
            FaultAction::TableMissing => (
                400,
                "ResourceNotFoundException",
                "Requested resource not found".to_owned(),
            ),
            FaultAction::LatencyMs(_)
            | FaultAction::Reset
            | FaultAction::BadCrc32
            | FaultAction::Unprocessed(_) => {
                return None;
            }
        };
        let body = json!({"__type": format!("{ERROR_TYPE_PREFIX}{code}"), "message": message});
        Some((
            status,
            serde_json::to_vec(&body).expect("a json! value serialises"),
        ))
    }
}

/// The messages real DynamoDB sends with these codes, so an SDK that logs or matches them sees the usual text.
fn canned_message(code: &str) -> String {
    match code {
        "ProvisionedThroughputExceededException" => {
            "The level of configured provisioned throughput for the table \
             was exceeded. Consider increasing your provisioning level with the UpdateTable API."
        }
        "ThrottlingException" => "Rate of requests exceeds the allowed throughput.",
        "RequestLimitExceeded" => {
            "Throughput exceeds the current throughput limit for your account. Please contact \
             AWS Support at https://aws.amazon.com/support request a limit increase"
        }
        "ResourceNotFoundException" => "Requested resource not found",
        "ConditionalCheckFailedException" => "The conditional request failed",
        "AccessDeniedException" => "User is not authorized to perform this action on this resource",
        "ValidationException" => "One or more parameter values were invalid",
        "TransactionInProgressException" => "Transaction is in progress",
        other => other,
    }
    .to_owned()
}

/// The scalar values of `Key`, and for BatchWriteItem of every DeleteRequest's `Key`.
fn request_keys<'a>(op: &str, request: &'a Value) -> impl Iterator<Item = &'a str> {
    let scalars = |key: &'a Value| {
        key.as_object()
            .into_iter()
            .flat_map(|attrs| attrs.values())
            .filter_map(|typed| typed.as_object())
            .flat_map(|typed| typed.values())
            .filter_map(Value::as_str)
    };
    let direct = request.get("Key").into_iter().flat_map(scalars);
    let batch = (op == "BatchWriteItem")
        .then(|| request.get("RequestItems").and_then(Value::as_object))
        .flatten()
        .into_iter()
        .flat_map(|tables| tables.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|write| write.get("DeleteRequest")?.get("Key"))
        .flat_map(scalars);
    direct.chain(batch)
}

/// The rules in force and their state: hit counts and one seeded RNG per rule (a rule's draws then do not
/// depend on how many calls other rules saw).
#[derive(Debug)]
pub(crate) struct FaultSet {
    rules: Vec<ArmedRule>,
}

#[derive(Debug)]
struct ArmedRule {
    rule: FaultRule,
    hits: u64,
    rng: StdRng,
}

impl FaultSet {
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        let rules = rules
            .into_iter()
            .map(|rule| ArmedRule {
                rng: StdRng::seed_from_u64(rule.seed),
                rule,
                hits: 0,
            })
            .collect();
        Self { rules }
    }

    /// The action for this call, if a rule applies; counts the hit.
    pub(crate) fn decide(&mut self, op: &str, request: &Value) -> Option<FaultAction> {
        for armed in &mut self.rules {
            if armed.rule.times.is_some_and(|t| armed.hits >= t) || !armed.rule.matches(op, request)
            {
                continue;
            }
            if let Some(p) = armed.rule.fraction
                && !armed.rng.random_bool(p)
            {
                continue;
            }
            armed.hits += 1;
            return Some(armed.rule.action.clone());
        }
        None
    }

    pub(crate) fn hits(&self) -> Vec<u64> {
        self.rules.iter().map(|r| r.hits).collect()
    }
}

/// A BatchWriteItem request split for [`FaultAction::Unprocessed`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchSplit {
    /// The request to forward, or None when every write request is held back.
    pub forward: Option<Value>,
    /// `UnprocessedItems`: table → the held-back write requests, in request order.
    pub unprocessed: Value,
}

/// Holds back the last `n` write requests (over all tables, in request order). None when the request is
/// not a well-formed BatchWriteItem.
pub(crate) fn split_batch(request: &Value, n: usize) -> Option<BatchSplit> {
    let tables = request.get("RequestItems")?.as_object()?;
    let mut writes: Vec<(&String, &Value)> = Vec::new();
    for (table, list) in tables {
        writes.extend(list.as_array()?.iter().map(|w| (table, w)));
    }
    let keep = writes.len().saturating_sub(n);
    let group = |writes: &[(&String, &Value)]| {
        let mut map = Map::new();
        for (table, write) in writes {
            map.entry((*table).clone())
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .expect("inserted as an array")
                .push((*write).clone());
        }
        map
    };
    let forward = (keep > 0).then(|| {
        let mut forward = request.clone();
        forward["RequestItems"] = Value::Object(group(&writes[..keep]));
        forward
    });
    Some(BatchSplit {
        forward,
        unprocessed: Value::Object(group(&writes[keep..])),
    })
}

/// Puts the held-back requests into a BatchWriteItem response, keeping any the backend left unprocessed.
pub(crate) fn merge_unprocessed(response: &mut Value, unprocessed: Value) {
    if !response.is_object() {
        *response = json!({});
    }
    let slot = &mut response["UnprocessedItems"];
    if !slot.is_object() {
        *slot = json!({});
    }
    let Value::Object(held) = unprocessed else {
        return;
    };
    for (table, writes) in held {
        let entry = slot
            .as_object_mut()
            .expect("made an object above")
            .entry(table)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let (Some(list), Value::Array(more)) = (entry.as_array_mut(), writes) {
            list.extend(more);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_deserialise_from_yaml_and_json() {
        let yaml = r#"
- {match: {op: GetItem, key: "CAKEPHP_abc"}, action: {throttle: ProvisionedThroughputExceededException}, times: 11}
- match: {op: UpdateItem}
  action: {server_error: 503}
  fraction: 0.5
  seed: 42
- action: reset
- action: {error: {code: AccessDeniedException}}
- action: {error: {code: ValidationException, status: 400, message: "Item size has exceeded the maximum allowed size"}}
- {action: bad_crc32, times: 1}
- {match: {op: BatchWriteItem}, action: {unprocessed: 2}}
- {action: {latency_ms: 250}}
- {action: table_missing}
"#;
        let rules: Vec<FaultRule> = serde_norway::from_str(yaml).unwrap();
        assert_eq!(
            rules[0],
            FaultRule::new(FaultAction::Throttle(
                "ProvisionedThroughputExceededException".into()
            ))
            .op("GetItem")
            .key("CAKEPHP_abc")
            .times(11)
        );
        assert_eq!(
            rules[1],
            FaultRule::new(FaultAction::ServerError(503))
                .op("UpdateItem")
                .fraction(0.5, 42)
        );
        assert_eq!(rules[2].action, FaultAction::Reset);
        assert_eq!(
            rules[3].action,
            FaultAction::Error {
                code: "AccessDeniedException".into(),
                status: 400,
                message: None
            }
        );
        assert_eq!(rules[6].action, FaultAction::Unprocessed(2));
        assert_eq!(rules[7].action, FaultAction::LatencyMs(250));
        assert_eq!(rules[8].action, FaultAction::TableMissing);

        let json = r#"{"match": {"op": "GetItem"}, "action": {"throttle": "ThrottlingException"}, "times": 2}"#;
        let rule: FaultRule = serde_json::from_str(json).unwrap();
        let back: FaultRule = serde_json::from_str(&serde_json::to_string(&rule).unwrap()).unwrap();
        assert_eq!(rule, back);
        // Every rule above survives a YAML round trip.
        let again: Vec<FaultRule> =
            serde_norway::from_str(&serde_norway::to_string(&rules).unwrap()).unwrap();
        assert_eq!(again, rules);
    }

    #[test]
    fn invalid_rules_are_rejected_with_a_reason() {
        for (yaml, want) in [
            (
                "{action: reset, fraction: 1.5}",
                "fraction must be within 0..=1",
            ),
            (
                "{action: {server_error: 404}}",
                "server_error wants a 5xx status",
            ),
            (
                "{action: {error: {code: X, status: 200}}}",
                "not an error status",
            ),
            ("{action: {unprocessed: 0}}", "at least 1 item"),
            ("{action: {throttle: ''}}", "must not be empty"),
            ("{action: reset, tiems: 3}", "unknown field `tiems`"),
            (
                "{match: {opp: GetItem}, action: reset}",
                "unknown field `opp`",
            ),
            ("{action: explode}", "unknown variant `explode`"),
            ("{action: throttle}", "needs a value"),
            ("{action: {throttle: X, reset: null}}", "one key"),
        ] {
            let err = serde_norway::from_str::<FaultRule>(yaml)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn rules_match_by_op_and_key_count_hits_and_run_in_sequence() {
        let get =
            |id: &str| json!({"TableName": "t", "Key": {"id": {"S": id}}, "ConsistentRead": true});
        let mut set = FaultSet::new(vec![
            FaultRule::new(FaultAction::Throttle("ThrottlingException".into()))
                .op("GetItem")
                .key("CAKEPHP_a")
                .times(1),
            FaultRule::new(FaultAction::Throttle("RequestLimitExceeded".into()))
                .op("GetItem")
                .times(1),
            FaultRule::new(FaultAction::TableMissing).op("DeleteItem"),
        ]);
        assert_eq!(
            set.decide("GetItem", &get("CAKEPHP_b")),
            Some(FaultAction::Throttle("RequestLimitExceeded".into()))
        );
        assert_eq!(
            set.decide("GetItem", &get("CAKEPHP_a")),
            Some(FaultAction::Throttle("ThrottlingException".into()))
        );
        assert_eq!(set.decide("GetItem", &get("CAKEPHP_a")), None);
        assert_eq!(
            set.decide("DeleteItem", &get("CAKEPHP_a")),
            Some(FaultAction::TableMissing)
        );
        assert_eq!(
            set.decide("DeleteItem", &get("CAKEPHP_z")),
            Some(FaultAction::TableMissing)
        );
        assert_eq!(set.hits(), [1, 1, 2]);

        let batch = json!({"RequestItems": {"t": [{"DeleteRequest": {"Key": {"id": {"S": "CAKEPHP_gc-1"}}}}]}});
        let mut set = FaultSet::new(vec![
            FaultRule::new(FaultAction::Unprocessed(1)).key("CAKEPHP_gc-1"),
            FaultRule::new(FaultAction::Reset).key("CAKEPHP_gc-1"),
        ]);
        assert_eq!(
            set.decide("BatchWriteItem", &batch),
            Some(FaultAction::Unprocessed(1))
        );
        // unprocessed never applies to a single-item call; the next rule does
        assert_eq!(
            set.decide("DeleteItem", &get("CAKEPHP_gc-1")),
            Some(FaultAction::Reset)
        );
    }

    #[test]
    fn fractions_are_repeatable_for_a_seed() {
        let draw = |seed| {
            let mut set =
                FaultSet::new(vec![FaultRule::new(FaultAction::Reset).fraction(0.5, seed)]);
            (0..200)
                .map(|_| set.decide("GetItem", &json!({})).is_some())
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let hits = a.iter().filter(|h| **h).count();
        assert!((70..130).contains(&hits), "{hits} of 200 at p = 0.5");
    }

    #[test]
    fn synthetic_bodies_look_like_dynamodb() {
        let body = |a: FaultAction| {
            let (status, body) = a.synthetic_response().unwrap();
            (status, String::from_utf8(body).unwrap())
        };
        assert_eq!(
            body(FaultAction::TableMissing),
            (
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#
                    .into()
            )
        );
        assert_eq!(
            body(FaultAction::ServerError(500)).1,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#
        );
        assert_eq!(body(FaultAction::ServerError(503)).0, 503);
        assert!(
            body(FaultAction::Throttle("ThrottlingException".into()))
                .1
                .contains("#ThrottlingException")
        );
        assert_eq!(FaultAction::BadCrc32.synthetic_response(), None);
    }

    #[test]
    fn batches_split_at_the_end_across_tables() {
        let del = |id: &str| json!({"DeleteRequest": {"Key": {"id": {"S": id}}}});
        let req = json!({"RequestItems": {"a": [del("1"), del("2")], "b": [del("3")]}, "ReturnConsumedCapacity": "TOTAL"});
        let split = split_batch(&req, 2).unwrap();
        assert_eq!(
            split.forward,
            Some(json!({"RequestItems": {"a": [del("1")]}, "ReturnConsumedCapacity": "TOTAL"}))
        );
        assert_eq!(split.unprocessed, json!({"a": [del("2")], "b": [del("3")]}));
        let all = split_batch(&req, 5).unwrap();
        assert_eq!(all.forward, None);
        assert_eq!(
            all.unprocessed,
            json!({"a": [del("1"), del("2")], "b": [del("3")]})
        );
        assert_eq!(split_batch(&json!({"Key": {}}), 1), None);

        let mut response = json!({"UnprocessedItems": {"b": [del("9")]}, "ConsumedCapacity": []});
        merge_unprocessed(&mut response, split.unprocessed);
        assert_eq!(
            response,
            json!({"UnprocessedItems": {"b": [del("9"), del("3")], "a": [del("2")]}, "ConsumedCapacity": []})
        );
    }
}
