//! Playing one case against one subject on one backend: whether it runs, and what its play comes to.
//!
//! The parts: [`super::substitute`] fills the case in, [`super::play_handler`] and [`super::play_http`] play it,
//! [`super::checks`] compare what happened with what the case expects; this module turns the findings into a
//! result. Handler-level cases get a fresh table and their own wire proxy, so cases never see each other's items
//! or calls. HTTP-level cases share the subject's table and proxy (the web app is started once), which the runner
//! clears before each case.

use std::time::Instant;

use serde_json::Value;

use super::result::{Blame, CaseResult, Outcome};
use crate::scenario::{Case, DataFate, StepOp};
use crate::subject::{Level, Subject};
use dynamo_backends::{Capabilities, Capability};
use dynamo_wire::{WireProxy, WireRecord};

use super::play_handler::play_handler_case;
use super::play_http::play_http_case;
use super::substitute::config_str;
use crate::environment::Backdrop;

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
    /// `--table NAME`: every case on one existing table (conform::plan::SharedTable).
    pub shared: Option<std::sync::Arc<super::plan::SharedTable>>,
}

/// Why the harness itself could not run a case (as opposed to the subject failing it).
#[derive(Debug)]
pub(super) struct HarnessError(pub(super) String);

impl<E: std::fmt::Display> From<E> for HarnessError {
    fn from(error: E) -> Self {
        HarnessError(format!("{error:#}"))
    }
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
    // Played from here: a reason is only for a harness error or a capability the backend lacks.
    result.reason = None;
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
            if played.findings.is_empty() {
                result.outcome = Outcome::Pass;
                result.hazards = case.expect.hazard.iter().cloned().collect();
                result.data = case.expect.data.or_else(|| seeded_data_fate(case));
            } else {
                result.outcome = Outcome::Fail(Blame::Handler);
                result.mismatches = played.findings;
                let missing = missing_capabilities(case, &backdrop.capabilities);
                if !missing.is_empty() {
                    result.outcome = Outcome::Fail(Blame::Backend);
                    result.reason = Some(format!(
                        "backend {} lacks {} (the case depends on it)",
                        backdrop.backend_name,
                        missing.join(", "),
                    ));
                }
            }
        }
        Err(HarnessError(message)) => {
            result.outcome = Outcome::Fail(Blame::Harness);
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
pub(super) struct Played {
    pub(super) findings: Vec<super::mismatch::Mismatch>,
    pub(super) records: Vec<WireRecord>,
    pub(super) returns: Vec<String>,
}

/// DynamoDB table names: 3–255 of `[A-Za-z0-9_.-]`.
pub(super) fn table_name(case: &Case, subject: &str, sequence: usize) -> String {
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

/// What became of the live sessions the case seeded, as its (now verified) final-table expectation says: lost
/// when a seeded item is gone, or holds data that neither the seed nor any write step of the case put there;
/// kept otherwise. A value some step wrote on purpose is a change, not a loss; where a case is about one writer
/// losing another's update (C53) it states `data: lost` itself. `None` when the case seeds no data, does not
/// state the final table, deletes on purpose, or is played over HTTP (the app writes what it likes).
pub(super) fn seeded_data_fate(case: &Case) -> Option<DataFate> {
    if case.level == Level::Http {
        return None;
    }
    let deletes = case.steps.iter().any(|step| {
        matches!(
            step.op,
            StepOp::Destroy { .. } | StepOp::GarbageCollect | StepOp::TtlSweep
        )
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
            .and_then(|v| v.get("N").or_else(|| v.get("S")))
            .and_then(Value::as_str)
            .is_some_and(|n| n == "<NOW>" || n.starts_with("<NOW-"))
    };
    let written: Vec<Value> = case
        .steps
        .iter()
        .filter_map(|step| match &step.op {
            StepOp::Write { data, .. } => Some(stored_form(data)),
            _ => None,
        })
        .collect();
    let mut seeded = case
        .given
        .items
        .iter()
        .filter(|item| !expired(item))
        .filter_map(|item| Some((item.get(&hash_key)?, item.get(&data_attribute)?)))
        .peekable();
    seeded.peek()?;
    let lost = seeded.any(|(key, seed)| {
        let Some(item) = table.iter().find(|item| item.get(&hash_key) == Some(key)) else {
            return true;
        };
        // An item without data holds '' (an empty write removes the attribute, C22).
        let now = item
            .get(&data_attribute)
            .cloned()
            .unwrap_or_else(|| stored_form(b""));
        now != *seed && !written.contains(&now)
    });
    Some(if lost { DataFate::Lost } else { DataFate::Kept })
}

/// How a case's table expectation spells data a step wrote: `{S: text}`, or `{B: base64}` for bytes that are
/// not UTF-8.
fn stored_form(data: &[u8]) -> Value {
    use base64::Engine as _;
    match std::str::from_utf8(data) {
        Ok(text) => serde_json::json!({"S": text}),
        Err(_) => serde_json::json!({"B": base64::engine::general_purpose::STANDARD.encode(data)}),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Step;
    use serde_json::Map;

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
        // The same final table after a step wrote "fresh" on purpose: a change, not a loss.
        let mut changed = overwritten.clone();
        changed.steps.push(Step {
            op: StepOp::Write {
                id: "a".into(),
                data: b"fresh".to_vec(),
            },
            actor: "main".into(),
            expect: None,
            within_ms: None,
        });
        assert_eq!(seeded_data_fate(&changed), Some(DataFate::Kept));
        let mut over_http = changed;
        over_http.level = Level::Http;
        assert_eq!(seeded_data_fate(&over_http), None);
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
