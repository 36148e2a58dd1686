//! The scenario format as a JSON Schema, derived from the types in [`crate::scenario`].
//!
//! The shipped copy is `scenarios/scenario.schema.json` (editors validate and complete scenario files with it:
//! scenarios/conformance/README.md); `dynamo-harness conform --schema` prints what the types generate, and a
//! test fails when the two differ. The loader (`conform --check`) stays the authority: it also checks what a
//! schema cannot say (unique ids, trace files that exist, placeholders that resolve, fault rules' ranges).
//!
//! Most of the schema comes from `#[derive(JsonSchema)]` beside `Deserialize` on the scenario types, with their
//! doc comments as descriptions. What is written here is what the derive cannot see: the file around the cases,
//! the steps (parsed by hand, one-key maps), and the parts typed in other crates (fault rules, expected calls,
//! capabilities) or read by custom deserializers (clocks, ini and env values), described as the YAML writes them.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use crate::scenario::{Case, ClockGiven, FLAT_GIVEN_KEYS, Given, Step, StepExpect, StepOp};

/// Where the generated schema is shipped, relative to the top of the workspace.
pub const SHIPPED_PATH: &str = "scenarios/scenario.schema.json";

/// The command that rewrites the shipped copy.
pub const REGENERATE: &str =
    "cargo run -q -p dynamo-harness -- conform --schema > scenarios/scenario.schema.json";

/// The JSON Schema (draft 7, which every editor's YAML support reads) of one scenario file.
pub fn scenario_schema() -> Schema {
    let mut generator = SchemaSettings::draft07().for_deserialize().into_generator();
    let steps = generator.subschema_for::<Vec<Step>>();
    let mut root = generator.root_schema_for::<ScenarioFile>();
    // `Case::steps` is parsed by the loader, not by serde, so the derive leaves it out: put it back.
    if let Some(Value::Object(case)) = root
        .get_mut("definitions")
        .and_then(|definitions| definitions.get_mut("Case"))
        && let Some(Value::Object(properties)) = case.get_mut("properties")
    {
        let mut steps = steps.to_value();
        if let Value::Object(steps) = &mut steps {
            steps.insert(
                "description".into(),
                "The operations, in order: each a one-key map naming the operation (`read: {id: abc}`), \
                 with optional `as`, `expect` and `within_ms`."
                    .into(),
            );
        }
        properties.insert("steps".into(), steps);
    }
    let mut value = root.to_value();
    unwrap_descriptions(&mut value);
    Schema::try_from(value).expect("a schema stays an object")
}

/// Doc comments wrap at the source's width; editors show a description as one paragraph, so the line breaks
/// inside a paragraph go (a blank line, a paragraph break, stays).
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// [`scenario_schema`] as the shipped file holds it: pretty JSON with a final newline.
pub fn scenario_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema()).expect("a schema serialises");
    text.push('\n');
    text
}

/// One file of the conformance catalogue (scenarios/conformance/README.md). Keys other than `group`, `title`,
/// `defaults` and `cases` are free: they hold YAML anchors that cases refer to.
#[derive(JsonSchema)]
#[schemars(title = "DynamoSession scenario file")]
#[allow(dead_code)]
struct ScenarioFile {
    /// The session-semantics.md §6 letter (`B`), or a name of ours (`traces`, `hazards`).
    group: String,
    /// What the file's cases are about.
    title: Option<String>,
    defaults: Option<Defaults>,
    /// The cases, played in this order.
    cases: Vec<Case>,
}

/// Merged under every case of the file (case keys win; maps merge, lists replace). The `given` keys `config`,
/// `gc_maxlifetime`, `client`, `clock`, `requires`, `subjects`, `faults` and `items` may be written flat; any
/// other goes under `given`.
struct Defaults;

impl JsonSchema for Defaults {
    fn schema_name() -> Cow<'static, str> {
        "Defaults".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let case = Case::json_schema(generator).to_value();
        let given = Given::json_schema(generator).to_value();
        let mut properties = case
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // What identifies one case has no default.
        for key in ["id", "title", "spec"] {
            properties.remove(key);
        }
        for key in FLAT_GIVEN_KEYS {
            if let Some(schema) = given.get("properties").and_then(|p| p.get(key)) {
                properties.insert((*key).to_owned(), schema.clone());
            }
        }
        json_schema!({
            "description": "Merged under every case of the file (case keys win; maps merge, lists replace). The \
                `given` keys config, gc_maxlifetime, client, clock, requires, subjects, faults and items may be \
                written flat; any other goes under `given`.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        })
    }
}

/// `as:` of a step.
struct Actor;

impl JsonSchema for Actor {
    fn schema_name() -> Cow<'static, str> {
        "Actor".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Which handler object (handler level) or HTTP client (HTTP level) runs the step; \
                named freely, default `main`.",
            "type": "string",
        })
    }
}

/// `within_ms:` of a step.
struct TimeLimitMs;

impl JsonSchema for TimeLimitMs {
    fn schema_name() -> Cow<'static, str> {
        "TimeLimitMs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The step's time limit in milliseconds: a step still running then is abandoned \
                (its handler with it) and fails unless it expects `still_running: true`.",
            "type": "integer",
            "minimum": 1,
            "maximum": 600000,
        })
    }
}

/// The step keys every operation may carry besides its own.
fn shared_step_keys(generator: &mut SchemaGenerator, top_level: bool) -> Map<String, Value> {
    let mut keys = Map::new();
    keys.insert("as".into(), generator.subschema_for::<Actor>().to_value());
    keys.insert(
        "expect".into(),
        generator.subschema_for::<StepExpect>().to_value(),
    );
    if top_level {
        keys.insert(
            "within_ms".into(),
            generator.subschema_for::<TimeLimitMs>().to_value(),
        );
    }
    keys
}

/// [`StepOp`]'s variants whose operation name passes `keep`, each with the shared step keys added.
fn step_variants(
    generator: &mut SchemaGenerator,
    keep: impl Fn(&str) -> bool,
    top_level: bool,
) -> Vec<Value> {
    let shared = shared_step_keys(generator, top_level);
    let ops = StepOp::json_schema(generator).to_value();
    let variants = ops
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    variants
        .into_iter()
        .filter_map(|mut variant| {
            let properties = variant.get_mut("properties")?.as_object_mut()?;
            let name = properties.keys().next()?.clone();
            if !keep(&name) {
                return None;
            }
            for (key, schema) in &shared {
                properties.insert(key.clone(), schema.clone());
            }
            Some(variant)
        })
        .collect()
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let variants = step_variants(generator, |op| !matches!(op, "wait" | "release"), true);
        json_schema!({
            "description": "One step: a one-key map naming the operation and its arguments, plus optional \
                `as`, `expect` and `within_ms`.",
            "oneOf": variants,
        })
    }
}

/// A member of a `parallel` group: an `http` request (sent, not awaited), a `wait` or a `release`.
pub(crate) struct ParallelMember;

impl JsonSchema for ParallelMember {
    fn schema_name() -> Cow<'static, str> {
        "ParallelMember".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let variants = step_variants(
            generator,
            |op| matches!(op, "http" | "wait" | "release"),
            false,
        );
        json_schema!({
            "description": "A member of a `parallel` group: an `http` request (sent without waiting for its \
                answer), a `wait` or a `release`, with optional `as` and `expect` (calls are expected on the \
                group).",
            "oneOf": variants,
        })
    }
}

impl JsonSchema for ClockGiven {
    fn schema_name() -> Cow<'static, str> {
        "ClockGiven".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The subject's clock: `system` (default); `{frozen: true}`, stopped at the case's \
                start second (never with locking, whose wait would never end); or `{offset: S}`, S seconds off \
                the system's.",
            "oneOf": [
                {"type": "null"},
                {"type": "string", "enum": ["system", "frozen"]},
                {
                    "type": "object",
                    "properties": {"frozen": {"const": true}},
                    "required": ["frozen"],
                    "additionalProperties": false,
                },
                {
                    "type": "object",
                    "properties": {"offset": {"type": "integer", "description": "Seconds, + or -."}},
                    "required": ["offset"],
                    "additionalProperties": false,
                },
            ],
        })
    }
}

/// `level:` (the harness's [`crate::subject::Level`]).
pub(crate) fn level(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "`handler`: handler operations through the protocol (subjects rust, php, cmd:); `http`: \
            requests to a web app (rust-http, php-http, pairs).",
        "type": "string",
        "enum": ["handler", "http"],
        "default": "handler",
    })
}

/// `requires:` ([`dynamo_backends::Capability`], by the names scenario files use).
pub(crate) fn capabilities(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = dynamo_backends::Capability::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    json_schema!({
        "description": "Backend capabilities the case depends on, as measured when the backend starts \
            (`dynamo-harness backend up` lists them). On a backend without one, a failure is put down to the \
            backend.",
        "type": "array",
        "items": {"type": "string", "enum": names},
    })
}

/// A DynamoDB number, whose digits may include `<NOW±d>` placeholders (`"<NOW+100>"`, `"<NOW>000"` in ms).
const NUMBER_TEXT: &str = r"^-?(<NOW([+-][0-9]+)?>|[0-9])+(\.[0-9]+)?([eE][-+]?[0-9]+)?$";

/// An item in DynamoDB JSON, as `given.items` and `seed` write it.
pub(crate) fn items(_: &mut SchemaGenerator) -> Schema {
    let value = json_schema!({
        "type": "object",
        "description": "One attribute value in DynamoDB JSON: `{S: text}`, `{N: \"12\"}` (or `\"<NOW+100>\"`, the \
            case's clock now plus 100 s), `{B: base64}`, `{BOOL: true}`, `{NULL: true}`, `{M: {...}}`, `{L: [...]}`, \
            `{SS|NS|BS: [...]}`.",
        "properties": {
            "S": {"type": "string"},
            "N": {"type": "string", "pattern": NUMBER_TEXT},
            "B": {"type": "string"},
            "BOOL": {"type": "boolean"},
            "NULL": {"type": "boolean"},
            "M": {"type": "object"},
            "L": {"type": "array"},
            "SS": {"type": "array", "items": {"type": "string"}},
            "NS": {"type": "array", "items": {"type": "string", "pattern": NUMBER_TEXT}},
            "BS": {"type": "array", "items": {"type": "string"}},
        },
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
    });
    json_schema!({
        "description": "Items put straight into the table (DynamoDB JSON); `<NOW±d>` in a number is the case's \
            clock (mid-case: the moment of seeding), `{table}` the case's table.",
        "type": "array",
        "items": {"type": "object", "additionalProperties": value},
    })
}

/// Items as an expectation writes them: `key?` for an optional attribute, `<ANY>` for any value.
pub(crate) fn expected_items(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Items in DynamoDB JSON, compared after normalisation (order not significant): `<NOW±d>` \
            matches that time ±1 s, `<ANY>` any value (or a run of characters inside a string), `<SIDn>` a \
            session id, and `key?: value` an attribute that may be absent.",
        "type": "array",
        "items": {"type": "object"},
    })
}

/// `given.faults` (dynamo-wire's `FaultRule`, as scenario files write it).
pub(crate) fn fault_rules(generator: &mut SchemaGenerator) -> Schema {
    let rule = generator.subschema_for::<FaultRuleText>();
    json_schema!({
        "description": "Wire-proxy fault rules, applied from the first step: for each call the first rule that \
            matches, has `times` left and wins its `fraction` draw applies.",
        "type": "array",
        "items": rule,
    })
}

/// `app.ini`: PHP ini values, as `ini_set` takes them.
pub(crate) fn ini_values(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "PHP ini settings made with `ini_set` before the session starts (`session.gc_probability: \
            \"1\"`): strings, numbers (decimal) or booleans (1 and 0).",
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    })
}

/// `app.env`: variables to set (a scalar) or unset (`null`).
pub(crate) fn env_values(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Environment variables of the app: a value sets one (`{endpoint}` and `{table}` stand for \
            the app's DynamoDB endpoint and table), `null` unsets one.",
        "type": "object",
        "propertyNames": {"pattern": "^[A-Za-z0-9_]+$"},
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    })
}

/// `given.sids`: `<SIDn>` placeholders bound in advance.
pub(crate) fn sids(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "`{SID1: 6eotdvt4fetr7sf36gl07fm2o2}`: `<SIDn>` in expectations (and in a trace) stands \
            for exactly that session id.",
        "type": "object",
        "propertyNames": {"pattern": "^SID[0-9]+$"},
        "additionalProperties": {"type": "string"},
    })
}

/// `gc: {max_lifetime}` when it is left out.
pub(crate) fn default_max_lifetime() -> i64 {
    1440
}

/// A fault rule as written (dynamo-wire's `FaultRule`, validated when the file loads).
#[derive(JsonSchema)]
#[schemars(rename = "FaultRule", deny_unknown_fields)]
#[allow(dead_code)]
struct FaultRuleText {
    /// Which calls; absent, every call.
    #[serde(rename = "match", default)]
    matcher: Option<FaultMatchText>,
    action: FaultActionText,
    /// Apply at most this many times, then let matching calls through; absent, no limit.
    times: Option<u64>,
    /// Apply to this share of matching calls (0 to 1), drawn from an RNG seeded with `seed`, so a run repeats.
    #[schemars(range(min = 0.0, max = 1.0))]
    fraction: Option<f64>,
    /// The seed of `fraction`'s draws.
    seed: Option<u64>,
}

/// Selects calls by operation and by the hash key value.
#[derive(JsonSchema)]
#[schemars(rename = "FaultMatch", deny_unknown_fields)]
#[allow(dead_code)]
struct FaultMatchText {
    /// The operation (`GetItem`, `UpdateItem`, `BatchWriteItem`, ...), `X-Amz-Target` after the dot.
    op: Option<String>,
    /// A value of `Key` (the stored key, e.g. `CAKEPHP_abc`), or of any DeleteRequest key of a BatchWriteItem.
    key: Option<String>,
}

/// What the proxy does to a matching call: a bare name for `reset`, `bad_crc32` and `table_missing`, a one-key
/// map for the others (`{throttle: ThrottlingException}`).
#[derive(JsonSchema)]
#[schemars(rename = "FaultAction", rename_all = "snake_case")]
#[allow(dead_code)]
enum FaultActionText {
    /// HTTP 400 with this error code, e.g. ProvisionedThroughputExceededException, ThrottlingException.
    Throttle(String),
    /// Any error code with any status (default 400) and an optional message.
    Error(ErrorText),
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
#[derive(JsonSchema)]
#[schemars(rename = "FaultError", deny_unknown_fields)]
#[allow(dead_code)]
struct ErrorText {
    /// The error code, e.g. `ValidationException`.
    code: String,
    /// The HTTP status.
    #[serde(default = "default_error_status")]
    status: u16,
    message: Option<String>,
}

fn default_error_status() -> u16 {
    400
}

/// One expected DynamoDB call (dynamo-wire's `ExpectedCall`, as scenario files write it).
#[derive(JsonSchema)]
#[schemars(rename = "ExpectedCall", deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ExpectedCallText {
    /// The operation: `GetItem`, `UpdateItem`, `DeleteItem`, `Scan`, `BatchWriteItem`, ...
    op: String,
    /// The request body, compared after normalisation: every key must match and no other may be present
    /// (`key?:` may be absent); `{table}`, `<NOW±d>` (the subject's clock when it made the call, ±1 s), `<ANY>`
    /// and `<SIDn>` as everywhere.
    request: Option<Value>,
    /// The HTTP status of the response (0: no response, an injected reset).
    status: Option<u16>,
    /// The error type of a failed call (`ConditionalCheckFailedException`), or `null` for none.
    error_type: Option<Value>,
    /// The response body, when it matters.
    response: Option<Value>,
    /// A run of identical calls whose length depends on timing (retries): `1+` or `0+`.
    repeat: Option<RepeatText>,
    /// Exactly this many identical calls (retries of one request, timed from the first attempt).
    count: Option<usize>,
}

/// How many identical calls a `repeat` stands for.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum RepeatText {
    /// One or more.
    #[serde(rename = "1+")]
    OneOrMore,
    /// Any number, none included.
    #[serde(rename = "0+")]
    ZeroOrMore,
}

/// `write:` arguments: the id and exactly one of `data`, `data_b64`, `data_repeat`.
#[derive(JsonSchema)]
#[schemars(
    deny_unknown_fields,
    extend("oneOf" = [{"required": ["data"]}, {"required": ["data_b64"]}, {"required": ["data_repeat"]}])
)]
#[allow(dead_code)]
pub(crate) struct WriteArgs {
    /// The session id (without the `CAKEPHP_` prefix).
    id: String,
    /// The data as text; `<NOW±d>` in it is the handler's clock when the step runs (a CakePHP `Config.time`).
    data: Option<String>,
    /// The data as base64 (bytes that are not UTF-8).
    #[schemars(pattern(r"^[A-Za-z0-9+/]*={0,2}$"))]
    data_b64: Option<String>,
    /// `count` copies of one byte (large sessions).
    data_repeat: Option<DataRepeat>,
}

/// `data_repeat: {byte: "a", count: 409600}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct DataRepeat {
    /// One character: the byte repeated.
    #[schemars(length(min = 1, max = 1))]
    byte: String,
    /// How many times.
    count: u64,
}

/// An operation without arguments: `{}` or nothing.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// `exception:` of a step: the PHP exception class that must propagate.
pub(crate) fn exception_class(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "The class of the exception that must propagate (`InvalidArgumentException`, \
            `DynamoDbException`, `AwsException`); absent, none may.",
        "type": ["string", "null"],
        "examples": ["InvalidArgumentException", "DynamoDbException", "AwsException"],
    })
}
