//! Handler-level play: one handler object per actor, each step a protocol request, on the case's own table
//! and wire proxy.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::checks::{check_calls, check_step, check_table};
use super::mismatch::{Aspect, Findings};
use super::runner::{HarnessError, Played, table_name};
use super::substitute::{Substitutions, config_str, parse_faults, resolve_now_in_data};
use super::timeline::{Timeline, unix_now};
use crate::environment::{Backdrop, table};
use crate::protocol::{ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, value_bytes};
use crate::scenario::{Case, ClockGiven, StepOp};
use crate::subject::{HandlerDriver, Subject};
use dynamo_wire::WireProxy;
use dynamo_wire::expect::{Bindings, NowWindow};

pub(super) async fn play_handler_case(
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
    // On a shared table (`conform --table`) the case plays there, in its scope (environment::table).
    let table = table::scoped_table().unwrap_or_else(|| table_name(case, subject.name(), sequence));
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
        let mut findings = Findings::default();
        let mut returns = Vec::new();
        for (index, step) in case.steps.iter().enumerate() {
            let label = format!("{}:{}", index + 1, step.op.name());
            proxy.set_numbered_step(index + 1, &label);
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
                StepOp::Http(_) | StepOp::Parallel(_) | StepOp::Wait(_) | StepOp::Release { .. } => {
                    return Err(HarnessError(format!(
                        "step {}: an HTTP step in a handler-level case",
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
                                expect_setup(driver.call(&setup).await?, &label, &mut findings);
                                open_if_configured(&mut driver, case, &label, &mut findings).await?;
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
                                findings.at(
                                    &label,
                                    Aspect::TimeLimit,
                                    format!(
                                        "still running at its time limit of {} ms",
                                        step.within_ms.unwrap_or_default()
                                    ),
                                );
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
                                findings.at(
                                    &label,
                                    Aspect::TimeLimit,
                                    format!(
                                        "expected it still running at {} ms, it returned {} after {} ms",
                                        step.within_ms.unwrap_or_default(),
                                        response.value,
                                        started.elapsed().as_millis()
                                    ),
                                );
                            }
                            if matches!(op, StepOp::NewHandler { .. }) {
                                open_if_configured(driver, case, &label, &mut findings).await?;
                            }
                            Some(response)
                        }
                    }
                }
            };
            if let Some(response) = response {
                let now = NowWindow::at(clock.now_at(unix_now().floor() as i64));
                check_step(step, &response, &label, now, &mut findings);
                returns.push(return_summary(step.op.name(), &response));
            }
        }
        drop(drivers);
        let records = table::unscoped(proxy.take_records());
        let wall_end = unix_now().floor() as i64;
        let window = NowWindow {
            earliest: case_now.min(clock.now_at(wall_end)),
            latest: case_now.max(clock.now_at(wall_end)),
        };
        let mut bindings = Bindings {
            sids: case.given.sids.clone(),
        };
        check_calls(case, &subs, &records, &timeline, &mut bindings, &mut findings)?;
        check_table(
            case,
            backdrop,
            &table,
            &hash_key,
            &subs,
            window,
            &mut bindings,
            &mut findings,
        )
        .await?;
        Ok::<_, HarnessError>(Played {
            findings: findings.into_vec(),
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

pub(super) struct StepContext<'a> {
    client: &'a ClientSpec,
    config: &'a Map<String, Value>,
    ini: &'a Map<String, Value>,
}

pub(super) fn new_handler(
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

pub(super) async fn open_if_configured(
    driver: &mut Box<dyn HandlerDriver>,
    case: &Case,
    label: &str,
    findings: &mut Findings,
) -> Result<(), HarnessError> {
    if let Some(open) = &case.open {
        let response = driver
            .call(&HandlerRequest::Open {
                save_path: open.save_path.clone(),
                name: open.name.clone(),
            })
            .await?;
        expect_setup(response, label, findings);
    }
    Ok(())
}

/// Building a handler and `open()` must not throw unless a step says so.
pub(super) fn expect_setup(response: HandlerResponse, label: &str, findings: &mut Findings) {
    if let Some(exception) = response.exception {
        findings.at(
            label,
            Aspect::Setup,
            format!("threw {} ({})", exception.class, exception.message),
        );
    }
}

/// Moves a clock forward; the system clock becomes an offset clock.
pub(super) fn advanced(clock: ClockSpec, seconds: i64) -> ClockSpec {
    match clock {
        ClockSpec::Frozen { at } => ClockSpec::Frozen { at: at + seconds },
        ClockSpec::Offset { seconds: offset } => ClockSpec::Offset {
            seconds: offset + seconds,
        },
        ClockSpec::System => ClockSpec::Offset { seconds },
    }
}

pub(super) fn handler_request(op: &StepOp) -> HandlerRequest {
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

/// `read ''`, `write false + 1 warning`, `garbage_collect threw DynamoDbException`: a step's return in short.
pub(super) fn return_summary(op: &str, response: &HandlerResponse) -> String {
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
