//! Playing one case against one subject on one backend.
//!
//! Handler-level cases get a fresh table and their own wire proxy, so cases never see each other's items or
//! calls. HTTP-level cases share the subject's table and proxy (the web app is started once), which the runner
//! clears before each case.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use serde_json::{Map, Value};

use super::http::HttpSession;
use super::result::{Blame, CaseResult, Status};
use super::table;
use crate::protocol::{ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, value_bytes};
use crate::scenario::{Case, ClockGiven, DataFate, ExpectedCall, Step, StepExpect, StepOp};
use crate::subject::{HandlerDriver, Level, Subject};
use dynamo_backends::{Capabilities, Capability};
use dynamo_wire::expect::{
    Bindings, NowWindow, ObservedCall, match_calls, match_glob, match_json, match_str, resolve_now,
    substitute_sids,
};
use dynamo_wire::{FaultRule, WireProxy, WireRecord};

/// What the runner needs from the backend a run uses.
#[derive(Clone)]
pub struct Backdrop {
    pub backend_name: String,
    pub capabilities: Capabilities,
    /// The backend's own TTL process, where it can be run on demand (`ttl_sweep` steps run it).
    pub sweeper: Option<std::sync::Arc<dyn dynamo_backends::TtlSweeper>>,
    /// Straight to the backend: seeding and inspecting tables never shows in a trace.
    pub client: Client,
    pub upstream_url: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Backdrop {
    /// Which TTL process `ttl_sweep` steps run on this backend, in words for reports.
    pub fn ttl_process(&self) -> String {
        match (&self.sweeper, self.capabilities.ttl_sweep_on_demand) {
            (Some(_), _) => "the backend's own TTL deletion, on the case's clock".to_owned(),
            (None, true) => format!(
                "the harness's sweep with DynamoDB's rules, because the backend's own {}",
                match self.capabilities.ttl_rules.differences().join("; ") {
                    broken if broken.is_empty() =>
                        "was not chosen (--ttl-process harness)".to_owned(),
                    broken => broken,
                }
            ),
            (None, false) => "the harness's sweep, with DynamoDB's rules".to_owned(),
        }
    }
}

/// An HTTP subject's shared proxy and table.
pub struct HttpBackdrop<'a> {
    pub proxy: &'a WireProxy,
    pub table: String,
    pub base_url: String,
    /// The second app of a pair, on the same table and proxy.
    pub partner_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run cases marked `slow` (the SDK's full retry backoff).
    pub slow: bool,
}

/// Why the harness itself could not run a case (as opposed to the subject failing it).
#[derive(Debug)]
struct HarnessError(String);

impl<E: std::fmt::Display> From<E> for HarnessError {
    fn from(error: E) -> Self {
        HarnessError(format!("{error:#}"))
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The reason a case does not run for this subject and backend, if it does not.
pub fn skip_reason(case: &Case, subject: &dyn Subject, options: &RunOptions) -> Option<String> {
    if let Some(reason) = &case.skip {
        return Some(reason.clone());
    }
    if case.slow && !options.slow {
        return Some("slow case (the SDK's full retry backoff); run with --slow".to_owned());
    }
    if let Some(subjects) = &case.given.subjects
        && !subjects
            .iter()
            .any(|s| s == subject.name() || s == subject.same_as())
    {
        return Some(
            case.given
                .skip_reason
                .clone()
                .unwrap_or_else(|| format!("only for subject(s) {}", subjects.join(", "))),
        );
    }
    let pair = subject.partner_base_url().is_some();
    match (case.needs_partner(), pair) {
        (true, false) => {
            return Some(
                "needs two web apps on one table: run it with a pair such as --subjects php-http+rust-http"
                    .to_owned(),
            );
        }
        (false, true) => {
            return Some(
                "a pair of apps runs only the cases that use both (app: partner)".to_owned(),
            );
        }
        _ => {}
    }
    if let Some(reason) = subject.skip_reason_for(case) {
        return Some(reason);
    }
    subject.unsupported(case.level)
}

/// Plays `case`; `sequence` makes table names unique within a run.
pub async fn run_case(
    case: &Case,
    subject: &dyn Subject,
    backdrop: &Backdrop,
    http: Option<&HttpBackdrop<'_>>,
    options: &RunOptions,
    sequence: usize,
) -> CaseResult {
    let mut result =
        CaseResult::skipped(case, subject.name(), &backdrop.backend_name, String::new());
    result.implementation = subject.implementation();
    if let Some(reason) = skip_reason(case, subject, options) {
        result.reason = Some(reason);
        return result;
    }
    let started = Instant::now();
    // A documented deviation replaces the end-of-case expectations for this subject only.
    let deviated;
    let case = match case.deviations.get(subject.same_as()) {
        Some(deviation) => {
            result.deviation = Some(deviation.reason.clone());
            deviated = Case {
                expect: deviation.expect.clone(),
                ..case.clone()
            };
            &deviated
        }
        None => case,
    };
    let outcome = match case.level {
        Level::Handler => play_handler_case(case, subject, backdrop, sequence).await,
        Level::Http => match http {
            Some(http) => play_http_case(case, backdrop, http).await,
            None => Err(HarnessError(format!(
                "subject {} has no web app running",
                subject.name()
            ))),
        },
    };
    result.duration_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(played) => {
            result.calls = played.records.len();
            result.records = played.records;
            result.returns = played.returns;
            result.fault = fault_summary(&case.given.faults);
            if played.diffs.is_empty() {
                result.status = Status::Pass;
                result.reason = None;
                result.hazards = case.expect.hazard.iter().cloned().collect();
                result.data = case.expect.data.or_else(|| seeded_data_fate(case));
            } else {
                result.status = Status::Fail;
                result.reason = Some(played.diffs[0].lines().next().unwrap_or("").to_owned());
                result.diff = Some(played.diffs.join("\n"));
                result.blame = Some(Blame::Handler);
                let missing = missing_capabilities(case, &backdrop.capabilities);
                if !missing.is_empty() {
                    result.blame = Some(Blame::Backend);
                    result.reason = Some(format!(
                        "backend {} lacks {} (the case depends on it): {}",
                        backdrop.backend_name,
                        missing.join(", "),
                        result.reason.take().unwrap_or_default()
                    ));
                }
            }
        }
        Err(HarnessError(message)) => {
            result.status = Status::Fail;
            result.blame = Some(Blame::Harness);
            result.reason = Some(format!("the harness could not run the case: {message}"));
        }
    }
    result
}

/// Capabilities every case depends on, named or not: without them no handler can pass anything.
const EVERY_CASE_REQUIRES: [Capability; 1] = [Capability::AttributeUpdatesValueIsPut];

/// What the case depends on that the backend lacks.
fn missing_capabilities(case: &Case, capabilities: &Capabilities) -> Vec<String> {
    EVERY_CASE_REQUIRES
        .iter()
        .chain(&case.given.requires)
        .filter(|capability| !capabilities.has(**capability))
        .map(|capability| capability.as_str().to_owned())
        .collect()
}

/// What playing a case produced: the differences found (empty: pass), the calls recorded, and each handler
/// step's return in short.
struct Played {
    diffs: Vec<String>,
    records: Vec<WireRecord>,
    returns: Vec<String>,
}

/// The clock the subject ran with during each step, and when (wall clock) each step began, to turn a call's
/// arrival time into the window the subject's `now` lay in: it read its clock after the step began and before
/// the call arrived, however long a loaded machine made that.
#[derive(Default)]
struct Timeline {
    clocks: Vec<ClockSpec>,
    started: Vec<i64>,
}

impl Timeline {
    fn step_begins(&mut self, clock: ClockSpec) {
        self.clocks.push(clock);
        self.started.push(unix_now().floor() as i64);
    }

    fn window_for(&self, record: &WireRecord) -> NowWindow {
        let step = record
            .step
            .split_once(':')
            .and_then(|(index, _)| index.parse::<usize>().ok())
            .unwrap_or(1)
            .saturating_sub(1);
        let clock = self
            .clocks
            .get(step)
            .or(self.clocks.last())
            .copied()
            .unwrap_or_default();
        let arrived = record.t_unix.unwrap_or_else(unix_now).floor() as i64;
        let began = self
            .started
            .get(step)
            .copied()
            .unwrap_or(arrived)
            .min(arrived);
        NowWindow {
            earliest: clock.now_at(began),
            latest: clock.now_at(arrived),
        }
    }
}

/// Case-wide substitutions: `{table}` everywhere, `<NOW±d>` in seeded data.
struct Substitutions {
    table: String,
    now: i64,
    /// HTTP cases run on the wall clock: `<NOW>` in a mid-case seed means the moment of seeding.
    live_now: bool,
}

impl Substitutions {
    fn table_only(&self, value: &Value) -> Value {
        map_strings(value, &|s| s.replace("{table}", &self.table))
    }

    fn seeded(&self, value: &Value) -> Value {
        self.seeded_with(value, &Bindings::default())
    }

    /// Seeded data may also name sessions an earlier step created (`CAKEPHP_<SID1>`).
    fn seeded_with(&self, value: &Value, bindings: &Bindings) -> Value {
        map_strings(value, &|s| {
            let s = substitute_sids(&s.replace("{table}", &self.table), bindings);
            resolve_now(&s, self.now_at_seed())
        })
    }

    /// Items seeded mid-case are relative to the moment they are seeded.
    fn now_at_seed(&self) -> i64 {
        if self.live_now {
            unix_now().floor() as i64
        } else {
            self.now
        }
    }
}

fn map_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (f(k), map_strings(v, f))).collect())
        }
        other => other.clone(),
    }
}

/// Finds a key of a PHP-style options array the way the SDK's setter lookup does: case and underscores ignored.
fn config_value<'a>(config: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let wanted: String = key
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    config.iter().find_map(|(k, v)| {
        let normal = k
            .chars()
            .filter(|c| *c != '_')
            .collect::<String>()
            .to_lowercase();
        (normal == wanted).then_some(v)
    })
}

fn config_str(config: &Map<String, Value>, key: &str, default: &str) -> String {
    config_value(config, key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .to_owned()
}

/// DynamoDB table names: 3–255 of `[A-Za-z0-9_.-]`.
fn table_name(case: &Case, subject: &str, sequence: usize) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("t{sequence}_{}_{}", clean(&case.id), clean(subject))
}

async fn play_handler_case(
    case: &Case,
    subject: &dyn Subject,
    backdrop: &Backdrop,
    sequence: usize,
) -> Result<Played, HarnessError> {
    let wall_start = unix_now().floor() as i64;
    let mut clock = match case.given.clock {
        ClockGiven::System => ClockSpec::System,
        ClockGiven::Frozen => ClockSpec::Frozen { at: wall_start },
        ClockGiven::Offset(seconds) => ClockSpec::Offset { seconds },
    };
    let case_now = clock.now_at(wall_start);
    let table = table_name(case, subject.name(), sequence);
    let subs = Substitutions {
        table: table.clone(),
        now: case_now,
        live_now: false,
    };
    let config = match subs.table_only(&Value::Object(case.given.config.clone())) {
        Value::Object(config) => config,
        _ => unreachable!("a map stays a map"),
    };
    let hash_key = case
        .given
        .table_hash_key
        .clone()
        .unwrap_or_else(|| config_str(&config, "hash_key", "id"));
    let lifetime_attribute = config_str(&config, "session_lifetime_attribute", "expires");
    if case.given.create_table {
        table::provision(
            &backdrop.client,
            &backdrop.capabilities,
            &table,
            &hash_key,
            &lifetime_attribute,
        )
        .await?;
    }
    let played = async {
        let seeded: Vec<Value> = case.given.items.iter().map(|i| subs.seeded(i)).collect();
        table::put_items(&backdrop.client, &table, &seeded).await?;

        let proxy = WireProxy::start(&backdrop.upstream_url).await?;
        let faults = parse_faults(&case.given.faults, &subs)?;
        proxy.set_faults(faults);
        let client = ClientSpec {
            endpoint: proxy.endpoint_url(),
            region: backdrop.region.clone(),
            key: backdrop.access_key.clone(),
            secret: backdrop.secret_key.clone(),
            retries: case.given.client.retries,
        };
        let mut ini = Map::new();
        if let Some(lifetime) = case.given.gc_maxlifetime {
            ini.insert(
                "session.gc_maxlifetime".to_owned(),
                Value::String(lifetime.to_string()),
            );
        }

        let mut drivers: BTreeMap<String, Box<dyn HandlerDriver>> = BTreeMap::new();
        let mut timeline = Timeline::default();
        let mut diffs = Vec::new();
        let mut returns = Vec::new();
        for (index, step) in case.steps.iter().enumerate() {
            let label = format!("{}:{}", index + 1, step.op.name());
            proxy.set_step(&label);
            timeline.step_begins(clock);
            let context = StepContext {
                client: &client,
                config: &config,
                ini: &ini,
            };
            let response = match &step.op {
                StepOp::TtlSweep => {
                    let now = clock.now_at(unix_now().floor() as i64);
                    table::ttl_sweep(
                        backdrop.sweeper.as_deref(),
                        &backdrop.client,
                        &table,
                        &hash_key,
                        &lifetime_attribute,
                        now,
                    )
                    .await?;
                    None
                }
                StepOp::Clock { advance } => {
                    clock = advanced(clock, *advance);
                    for driver in drivers.values_mut() {
                        driver.call(&HandlerRequest::SetClock { clock }).await?;
                    }
                    None
                }
                StepOp::Seed { items } => {
                    let items: Vec<Value> = items.iter().map(|i| subs.seeded(i)).collect();
                    table::put_items(&backdrop.client, &table, &items).await?;
                    None
                }
                StepOp::Http(_) => {
                    return Err(HarnessError(format!(
                        "step {}: an http step in a handler-level case",
                        index + 1
                    )));
                }
                op => {
                    let driver = match drivers.entry(step.actor.clone()) {
                        std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                        std::collections::btree_map::Entry::Vacant(entry) => {
                            let mut driver = subject.driver().await?;
                            if !matches!(op, StepOp::NewHandler { .. }) {
                                let setup = new_handler(&context, None, None, clock);
                                expect_setup(driver.call(&setup).await?, &label, &mut diffs);
                                open_if_configured(&mut driver, case, &label, &mut diffs).await?;
                            }
                            entry.insert(driver)
                        }
                    };
                    let request = match op {
                        StepOp::NewHandler {
                            config: extra,
                            gc_maxlifetime,
                        } => {
                            let extra = match subs.table_only(&Value::Object(extra.clone())) {
                                Value::Object(extra) => extra,
                                _ => unreachable!("a map stays a map"),
                            };
                            new_handler(&context, Some(&extra), *gc_maxlifetime, clock)
                        }
                        other => resolve_now_in_data(other, clock.now_at(unix_now().floor() as i64)),
                    };
                    let started = Instant::now();
                    let call = driver.call(&request);
                    let response = match step.within_ms {
                        None => Some(call.await?),
                        Some(limit) => {
                            tokio::time::timeout(Duration::from_millis(limit), call)
                                .await
                                .ok()
                                .transpose()?
                        }
                    };
                    let still_running = step.expect.as_ref().and_then(|e| e.still_running) == Some(true);
                    match response {
                        // Abandoned mid-call: the handler (a worker process, or a future) goes with it.
                        None => {
                            drivers.remove(&step.actor);
                            if !still_running {
                                diffs.push(format!(
                                    "step {label}: still running at its time limit of {} ms",
                                    step.within_ms.unwrap_or_default()
                                ));
                            }
                            returns.push(format!(
                                "{} still running at {} ms",
                                step.op.name(),
                                step.within_ms.unwrap_or_default()
                            ));
                            None
                        }
                        Some(response) => {
                            if still_running {
                                diffs.push(format!(
                                    "step {label}: expected it still running at {} ms, it returned {} after {} ms",
                                    step.within_ms.unwrap_or_default(),
                                    response.value,
                                    started.elapsed().as_millis()
                                ));
                            }
                            if matches!(op, StepOp::NewHandler { .. }) {
                                open_if_configured(driver, case, &label, &mut diffs).await?;
                            }
                            Some(response)
                        }
                    }
                }
            };
            if let Some(response) = response {
                let now = NowWindow::at(clock.now_at(unix_now().floor() as i64));
                check_step(step, &response, &label, now, &mut diffs);
                returns.push(return_summary(step.op.name(), &response));
            }
        }
        drop(drivers);
        let records = proxy.take_records();
        let wall_end = unix_now().floor() as i64;
        let window = NowWindow {
            earliest: case_now.min(clock.now_at(wall_end)),
            latest: case_now.max(clock.now_at(wall_end)),
        };
        let mut bindings = Bindings {
            sids: case.given.sids.clone(),
        };
        check_calls(case, &subs, &records, &timeline, &mut bindings, &mut diffs)?;
        check_table(
            case,
            backdrop,
            &table,
            &hash_key,
            &subs,
            window,
            &mut bindings,
            &mut diffs,
        )
        .await?;
        Ok::<_, HarnessError>(Played {
            diffs,
            records,
            returns,
        })
    }
    .await;
    if case.given.create_table {
        // A table left behind costs memory on the backend but changes no later case (names are unique).
        let _ = table::delete(&backdrop.client, &table).await;
    }
    played
}

struct StepContext<'a> {
    client: &'a ClientSpec,
    config: &'a Map<String, Value>,
    ini: &'a Map<String, Value>,
}

fn new_handler(
    context: &StepContext<'_>,
    extra: Option<&Map<String, Value>>,
    gc_maxlifetime: Option<i64>,
    clock: ClockSpec,
) -> HandlerRequest {
    let mut config = context.config.clone();
    if let Some(extra) = extra {
        for (key, value) in extra {
            if value.is_null() {
                config.remove(key);
            } else {
                config.insert(key.clone(), value.clone());
            }
        }
    }
    let mut ini = context.ini.clone();
    if let Some(lifetime) = gc_maxlifetime {
        ini.insert(
            "session.gc_maxlifetime".to_owned(),
            Value::String(lifetime.to_string()),
        );
    }
    HandlerRequest::NewHandler {
        client: context.client.clone(),
        config: Value::Object(config),
        ini: Value::Object(ini),
        clock,
    }
}

async fn open_if_configured(
    driver: &mut Box<dyn HandlerDriver>,
    case: &Case,
    label: &str,
    diffs: &mut Vec<String>,
) -> Result<(), HarnessError> {
    if let Some(open) = &case.open {
        let response = driver
            .call(&HandlerRequest::Open {
                save_path: open.save_path.clone(),
                name: open.name.clone(),
            })
            .await?;
        expect_setup(response, label, diffs);
    }
    Ok(())
}

/// Building a handler and `open()` must not throw unless a step says so.
fn expect_setup(response: HandlerResponse, label: &str, diffs: &mut Vec<String>) {
    if let Some(exception) = response.exception {
        diffs.push(format!(
            "step {label}: setting up the handler threw {} ({})",
            exception.class, exception.message
        ));
    }
}

/// Moves a clock forward; the system clock becomes an offset clock.
fn advanced(clock: ClockSpec, seconds: i64) -> ClockSpec {
    match clock {
        ClockSpec::Frozen { at } => ClockSpec::Frozen { at: at + seconds },
        ClockSpec::Offset { seconds: offset } => ClockSpec::Offset {
            seconds: offset + seconds,
        },
        ClockSpec::System => ClockSpec::Offset { seconds },
    }
}

fn handler_request(op: &StepOp) -> HandlerRequest {
    match op {
        StepOp::Open(args) => HandlerRequest::Open {
            save_path: args.save_path.clone(),
            name: args.name.clone(),
        },
        StepOp::Read { id } => HandlerRequest::Read { id: id.clone() },
        StepOp::Write { id, data } => HandlerRequest::write(id.clone(), data),
        StepOp::Close { session_id } => HandlerRequest::Close {
            session_id: session_id.clone(),
        },
        StepOp::Destroy { id } => HandlerRequest::Destroy { id: id.clone() },
        StepOp::Gc { max_lifetime } => HandlerRequest::Gc {
            max_lifetime: Value::from(*max_lifetime),
        },
        StepOp::GarbageCollect => HandlerRequest::GarbageCollect,
        other => unreachable!("{} is played by the runner itself", other.name()),
    }
}

/// What became of the live sessions the case seeded, as its (now verified) final-table expectation says: lost
/// when a seeded item's data is gone or different at the end, kept otherwise. `None` when the case seeds no
/// data or does not state the final table.
fn seeded_data_fate(case: &Case) -> Option<DataFate> {
    // A case that deletes on purpose (destroy, garbage collection, TTL) states the fate itself if it matters.
    let deletes = case.steps.iter().any(|step| match &step.op {
        StepOp::Destroy { .. } | StepOp::GarbageCollect | StepOp::TtlSweep => true,
        StepOp::Http(request) => request.path.ends_with("/destroy") || request.path == "/gc",
        _ => false,
    });
    if deletes {
        return None;
    }
    let table = case.expect.table.as_ref()?;
    let hash_key = config_str(&case.given.config, "hash_key", "id");
    let data_attribute = config_str(&case.given.config, "data_attribute", "data");
    let lifetime = config_str(&case.given.config, "session_lifetime_attribute", "expires");
    // Only live sessions can be lost: deleting an expired one is what garbage collection is for.
    let expired = |item: &Value| {
        item.get(&lifetime)
            .and_then(|v| v.get("N"))
            .and_then(Value::as_str)
            .is_some_and(|n| n == "<NOW>" || n.starts_with("<NOW-"))
    };
    let mut seeded = case
        .given
        .items
        .iter()
        .filter(|item| !expired(item))
        .filter_map(|item| Some((item.get(&hash_key)?, item.get(&data_attribute)?)))
        .peekable();
    seeded.peek()?;
    let lost = seeded.any(|(key, data)| {
        !table
            .iter()
            .any(|item| item.get(&hash_key) == Some(key) && item.get(&data_attribute) == Some(data))
    });
    Some(if lost { DataFate::Lost } else { DataFate::Kept })
}

/// `read ''`, `write false + 1 warning`, `garbage_collect threw DynamoDbException`: a step's return in short.
fn return_summary(op: &str, response: &HandlerResponse) -> String {
    if let Some(exception) = &response.exception {
        return format!("{op} threw {}", exception.class);
    }
    let value = match value_bytes(&response.value) {
        Some(bytes) if bytes.is_empty() => "''".to_owned(),
        Some(bytes) => format!("{} bytes", bytes.len()),
        None => response.value.to_string(),
    };
    match response.warnings.len() {
        0 => format!("{op} {value}"),
        1 => format!("{op} {value} + warning"),
        n => format!("{op} {value} + {n} warnings"),
    }
}

/// The case's fault rules in short, for the fault table.
fn fault_summary(rules: &[Value]) -> Option<String> {
    if rules.is_empty() {
        return None;
    }
    let parts: Vec<String> = rules
        .iter()
        .map(|rule| {
            let op = rule
                .pointer("/match/op")
                .and_then(Value::as_str)
                .unwrap_or("any call");
            let action = match rule.get("action") {
                Some(Value::String(action)) => action.clone(),
                Some(Value::Object(action)) => action
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => format!("{k} {s}"),
                        Value::Object(o) => format!(
                            "{k} {}",
                            o.get("code").and_then(Value::as_str).unwrap_or("")
                        ),
                        other => format!("{k} {other}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => "?".to_owned(),
            };
            let times = match (rule.get("times"), rule.get("fraction")) {
                (Some(times), _) => format!(" ×{times}"),
                (None, Some(fraction)) => format!(" (fraction {fraction})"),
                _ => " (every call)".to_owned(),
            };
            format!("{op}: {}{times}", action.trim())
        })
        .collect();
    Some(parts.join("; "))
}

fn parse_faults(raw: &[Value], subs: &Substitutions) -> Result<Vec<FaultRule>, HarnessError> {
    raw.iter()
        .map(|rule| {
            serde_json::from_value::<FaultRule>(subs.table_only(rule))
                .map_err(|e| HarnessError(format!("fault rule {rule}: {e}")))
        })
        .collect()
}

/// Compares a step's response with its `expect`; an exception nobody expected is always a difference.
fn check_step(
    step: &Step,
    response: &HandlerResponse,
    label: &str,
    now: NowWindow,
    diffs: &mut Vec<String>,
) {
    let empty = StepExpect::default();
    let expect = step.expect.as_ref().unwrap_or(&empty);
    match (&expect.exception, &response.exception) {
        (None, Some(got)) => diffs.push(format!(
            "step {label}: unexpected {} ({}): {}",
            got.class,
            got.code.as_deref().unwrap_or("no code"),
            got.message
        )),
        (Some(want), None) => diffs.push(format!(
            "step {label}: expected {want} to propagate, but the call returned {}",
            response.value
        )),
        (Some(want), Some(got)) if want != &got.class => diffs.push(format!(
            "step {label}: expected {want}, got {} ({})",
            got.class, got.message
        )),
        _ => {}
    }
    if let Some(want) = &expect.value
        && response.exception.is_none()
        && let Some(diff) = value_diff(want, &response.value, now)
    {
        diffs.push(format!("step {label}: return value: {diff}"));
    }
    if let Some(want) = &expect.warnings {
        let matches = want.len() == response.warnings.len()
            && want
                .iter()
                .zip(&response.warnings)
                .all(|(w, g)| match_glob(w, g));
        if !matches {
            diffs.push(format!(
                "step {label}: warnings: expected {want:?}, got {:?}",
                response.warnings
            ));
        }
    }
}

/// `<NOW±d>` inside data a step writes (a CakePHP `Config.time`, say) becomes the time on the handler's clock
/// when the step runs, as in seeded items.
fn resolve_now_in_data(op: &StepOp, now: i64) -> HandlerRequest {
    match op {
        StepOp::Write { id, data } if data.windows(4).any(|w| w == b"<NOW") => {
            match std::str::from_utf8(data) {
                Ok(text) => HandlerRequest::write(id.clone(), resolve_now(text, now).as_bytes()),
                Err(_) => handler_request(op),
            }
        }
        other => handler_request(other),
    }
}

/// A return value against its expectation; a string may hold `<NOW±d>` (one second either side of `now`).
fn value_diff(want: &Value, got: &Value, now: NowWindow) -> Option<String> {
    let want_bytes = match want {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(_) => value_bytes(want),
        _ => None,
    };
    match want_bytes {
        Some(want_bytes) => match value_bytes(got) {
            Some(got_bytes) if got_bytes == want_bytes => None,
            Some(got_bytes)
                if want
                    .as_str()
                    .is_some_and(|pattern| pattern.contains("<NOW"))
                    && std::str::from_utf8(&got_bytes).is_ok_and(|text| {
                        match_str(
                            want.as_str().unwrap_or_default(),
                            text,
                            now,
                            &mut Bindings::default(),
                        )
                    }) =>
            {
                None
            }
            Some(got_bytes) => Some(format!(
                "expected {:?}, got {:?}",
                String::from_utf8_lossy(&want_bytes),
                String::from_utf8_lossy(&got_bytes)
            )),
            None => Some(format!(
                "expected the bytes {:?}, got {got}",
                String::from_utf8_lossy(&want_bytes)
            )),
        },
        None if want == got => None,
        None => Some(format!("expected {want}, got {got}")),
    }
}

/// The recorded calls with the subject's `now` for each. A retry resends the body built for the first attempt
/// (after up to 30 s of backoff), so a run of identical requests keeps the first attempt's time.
fn observed(records: &[WireRecord], timeline: &Timeline) -> Vec<ObservedCall> {
    let mut calls: Vec<ObservedCall> = Vec::with_capacity(records.len());
    for record in records {
        let now = match calls.last() {
            Some(previous) if previous.op == record.op && previous.request == record.request => {
                previous.now
            }
            _ => timeline.window_for(record),
        };
        calls.push(ObservedCall::from_record(record, now));
    }
    calls
}

fn check_calls(
    case: &Case,
    subs: &Substitutions,
    records: &[WireRecord],
    timeline: &Timeline,
    bindings: &mut Bindings,
    diffs: &mut Vec<String>,
) -> Result<(), HarnessError> {
    let actual = observed(records, timeline);
    for (index, step) in case.steps.iter().enumerate() {
        let Some(expect) = &step.expect else { continue };
        let label = format!("{}:{}", index + 1, step.op.name());
        let step_calls: Vec<ObservedCall> = records
            .iter()
            .zip(&actual)
            .filter(|(record, _)| record.step == label)
            .map(|(_, call)| call.clone())
            .collect();
        if let Some(expected) = expected_calls(case, subs, &expect.calls, &expect.calls_trace)?
            && let Err(diff) = match_calls(&expected, &step_calls, bindings)
        {
            diffs.push(format!("step {label}: DynamoDB calls: {diff}"));
        }
    }
    if let Some(expected) =
        expected_calls(case, subs, &case.expect.calls, &case.expect.calls_trace)?
        && let Err(diff) = match_calls(&expected, &actual, bindings)
    {
        diffs.push(format!("DynamoDB calls: {diff}"));
    }
    if let Some(counts) = &case.expect.calls_count {
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for call in &actual {
            *got.entry(call.op.clone()).or_default() += 1;
        }
        let want: BTreeMap<String, usize> = counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if want != got {
            diffs.push(format!(
                "DynamoDB call counts: expected {want:?}, got {got:?}"
            ));
        }
    }
    Ok(())
}

/// Inline expected calls (with `{table}` filled in) or a trace's, if the expectation gives either.
fn expected_calls(
    case: &Case,
    subs: &Substitutions,
    calls: &Option<Vec<ExpectedCall>>,
    trace: &Option<String>,
) -> Result<Option<Vec<ExpectedCall>>, HarnessError> {
    Ok(match (calls, trace) {
        (Some(calls), _) => Some(
            calls
                .iter()
                .map(|call| ExpectedCall {
                    request: call.request.as_ref().map(|r| subs.table_only(r)),
                    response: call.response.as_ref().map(|r| subs.table_only(r)),
                    ..call.clone()
                })
                .collect(),
        ),
        (None, Some(path)) => Some(super::trace::expected_from_trace(
            &case.source,
            path,
            &subs.table,
        )?),
        (None, None) => None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn check_table(
    case: &Case,
    backdrop: &Backdrop,
    table: &str,
    hash_key: &str,
    subs: &Substitutions,
    window: NowWindow,
    bindings: &mut Bindings,
    diffs: &mut Vec<String>,
) -> Result<(), HarnessError> {
    let expect = &case.expect;
    if expect.table.is_none() && expect.table_contains.is_none() && expect.table_lacks.is_none() {
        return Ok(());
    }
    if !case.given.create_table {
        return Ok(());
    }
    let items = table::scan_all(&backdrop.client, table).await?;
    let key_of = |item: &Value| item.get(hash_key).cloned();
    let find = |want: &Value, bindings: &mut Bindings| -> Option<Value> {
        let want_key = want.get(hash_key)?;
        items.iter().find_map(|item| {
            let key = key_of(item)?;
            let mut key_diffs = Vec::new();
            match_json(want_key, &key, "", window, bindings, &mut key_diffs);
            key_diffs.is_empty().then(|| item.clone())
        })
    };
    let compare = |want: &Value, bindings: &mut Bindings, diffs: &mut Vec<String>| {
        let want = subs.table_only(want);
        match find(&want, bindings) {
            Some(item) => {
                let key = key_of(&item).unwrap_or(Value::Null);
                match_json(
                    &want,
                    &item,
                    &format!("table[{key}]"),
                    window,
                    bindings,
                    diffs,
                );
            }
            None => diffs.push(format!(
                "table: no item with {hash_key} = {}",
                want.get(hash_key).cloned().unwrap_or(Value::Null)
            )),
        }
    };
    if let Some(want_items) = &expect.table {
        for want in want_items {
            compare(want, bindings, diffs);
        }
        if items.len() != want_items.len() {
            let keys: Vec<String> = items
                .iter()
                .filter_map(|i| key_of(i).map(|k| k.to_string()))
                .collect();
            diffs.push(format!(
                "table: expected {} item(s), found {}: {}",
                want_items.len(),
                items.len(),
                keys.join(", ")
            ));
        }
    }
    for want in expect.table_contains.iter().flatten() {
        compare(want, bindings, diffs);
    }
    for lacks in expect.table_lacks.iter().flatten() {
        let lacks = subs.table_only(lacks);
        if let Some(item) = find(&lacks, bindings) {
            diffs.push(format!("table: expected no item {lacks}, found {item}"));
        }
    }
    Ok(())
}

async fn play_http_case(
    case: &Case,
    backdrop: &Backdrop,
    http: &HttpBackdrop<'_>,
) -> Result<Played, HarnessError> {
    let wall_start = unix_now().floor() as i64;
    let subs = Substitutions {
        table: http.table.clone(),
        now: wall_start,
        live_now: true,
    };
    let hash_key = "id";
    table::clear(&backdrop.client, &http.table, hash_key).await?;
    let seeded: Vec<Value> = case.given.items.iter().map(|i| subs.seeded(i)).collect();
    table::put_items(&backdrop.client, &http.table, &seeded).await?;
    http.proxy.take_records();
    http.proxy
        .set_faults(parse_faults(&case.given.faults, &subs)?);
    let mut sessions: BTreeMap<String, HttpSession> = BTreeMap::new();
    let mut diffs = Vec::new();
    let mut bindings = Bindings {
        sids: case.given.sids.clone(),
    };
    let mut timeline = Timeline::default();
    for (index, step) in case.steps.iter().enumerate() {
        let label = format!("{}:{}", index + 1, step.op.name());
        http.proxy.set_step(&label);
        timeline.step_begins(ClockSpec::System);
        match &step.op {
            StepOp::Http(request) => {
                let session = sessions.entry(step.actor.clone()).or_insert_with(|| {
                    HttpSession::new(&http.base_url, http.partner_url.as_deref())
                });
                let reply = session.send(request).await?;
                reply.check(step.expect.as_ref(), &label, &mut bindings, &mut diffs);
            }
            StepOp::TtlSweep => {
                table::ttl_sweep(
                    backdrop.sweeper.as_deref(),
                    &backdrop.client,
                    &http.table,
                    hash_key,
                    "expires",
                    unix_now().floor() as i64,
                )
                .await?;
            }
            StepOp::Seed { items } => {
                let items: Vec<Value> = items
                    .iter()
                    .map(|i| subs.seeded_with(i, &bindings))
                    .collect();
                table::put_items(&backdrop.client, &http.table, &items).await?;
            }
            other => {
                return Err(HarnessError(format!(
                    "step {label}: `{}` is a handler operation; HTTP cases use `http` steps",
                    other.name()
                )));
            }
        }
    }
    http.proxy.set_faults(Vec::new());
    let records = http.proxy.take_records();
    check_calls(case, &subs, &records, &timeline, &mut bindings, &mut diffs)?;
    let wall_end = unix_now().floor() as i64;
    let window = NowWindow {
        earliest: wall_start,
        latest: wall_end,
    };
    check_table(
        case,
        backdrop,
        &http.table,
        hash_key,
        &subs,
        window,
        &mut bindings,
        &mut diffs,
    )
    .await?;
    Ok(Played {
        diffs,
        records,
        returns: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_match_like_php_setters() {
        let config: Map<String, Value> =
            serde_json::from_str(r#"{"TABLE_NAME": "t1", "Session_Lifetime_Attribute": "ttl"}"#)
                .unwrap();
        assert_eq!(config_str(&config, "table_name", "sessions"), "t1");
        assert_eq!(
            config_str(&config, "session_lifetime_attribute", "expires"),
            "ttl"
        );
        assert_eq!(config_str(&config, "hash_key", "id"), "id");
    }

    #[test]
    fn data_fate_follows_the_expected_final_table() {
        let case = |table: serde_json::Value| -> Case {
            serde_json::from_value(serde_json::json!({
                "id": "X",
                "given": {"items": [{"id": {"S": "CAKEPHP_a"}, "data": {"S": "precious"}}]},
                "expect": {"table": table}
            }))
            .unwrap()
        };
        let kept = case(serde_json::json!([{"id": {"S": "CAKEPHP_a"}, "data": {"S": "precious"}}]));
        assert_eq!(seeded_data_fate(&kept), Some(DataFate::Kept));
        let overwritten =
            case(serde_json::json!([{"id": {"S": "CAKEPHP_a"}, "data": {"S": "fresh"}}]));
        assert_eq!(seeded_data_fate(&overwritten), Some(DataFate::Lost));
        assert_eq!(
            seeded_data_fate(&case(serde_json::json!([]))),
            Some(DataFate::Lost)
        );
    }

    #[test]
    fn table_names_are_valid_for_dynamodb() {
        let case: Case =
            serde_json::from_value(serde_json::json!({"id": "TRACE-cli_session_demo"})).unwrap();
        assert_eq!(
            table_name(&case, "php-http", 7),
            "t7_TRACE-cli_session_demo_php-http"
        );
    }
}
