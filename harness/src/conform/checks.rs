//! The checks of a played case: each step's return, the DynamoDB calls (per step and for the case), and the
//! final table. Each finding is a typed [`super::mismatch::Mismatch`]; reports render them.

use super::mismatch::{Aspect, Findings};
use std::collections::BTreeMap;

use serde_json::Value;

use super::runner::HarnessError;
use super::substitute::Substitutions;
use super::timeline::Timeline;
use crate::environment::{Backdrop, table};
use crate::protocol::{HandlerResponse, value_bytes};
use crate::scenario::{Case, ExpectedCall, Step, StepExpect};
use dynamo_wire::WireRecord;
use dynamo_wire::expect::{
    Bindings, NowWindow, ObservedCall, match_calls, match_glob, match_json, match_str,
};

/// Compares a step's response with its `expect`; an exception nobody expected is always a difference.
pub(super) fn check_step(
    step: &Step,
    response: &HandlerResponse,
    label: &str,
    now: NowWindow,
    findings: &mut Findings,
) {
    let empty = StepExpect::default();
    let expect = step.expect.as_ref().unwrap_or(&empty);
    match (&expect.exception, &response.exception) {
        (None, Some(got)) => findings.at(
            label,
            Aspect::Exception,
            format!(
                "unexpected {} ({}): {}",
                got.class,
                got.code.as_deref().unwrap_or("no code"),
                got.message
            ),
        ),
        (Some(want), None) => findings.at(
            label,
            Aspect::Exception,
            format!(
                "expected {want} to propagate, but the call returned {}",
                response.value
            ),
        ),
        (Some(want), Some(got)) if want != &got.class => findings.at(
            label,
            Aspect::Exception,
            format!("expected {want}, got {} ({})", got.class, got.message),
        ),
        _ => {}
    }
    if let Some(want) = &expect.value
        && response.exception.is_none()
        && let Some(diff) = value_diff(want, &response.value, now)
    {
        findings.at(label, Aspect::ReturnValue, diff);
    }
    if let Some(want) = &expect.warnings {
        let matches = want.len() == response.warnings.len()
            && want
                .iter()
                .zip(&response.warnings)
                .all(|(w, g)| match_glob(w, g));
        if !matches {
            findings.at(
                label,
                Aspect::Warnings,
                format!("expected {want:?}, got {:?}", response.warnings),
            );
        }
    }
}

/// A return value against its expectation; a string may hold `<NOW±d>` (one second either side of `now`).
pub(super) fn value_diff(want: &Value, got: &Value, now: NowWindow) -> Option<String> {
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
pub(super) fn observed(records: &[WireRecord], timeline: &Timeline) -> Vec<ObservedCall> {
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

pub(super) fn check_calls(
    case: &Case,
    subs: &Substitutions,
    records: &[WireRecord],
    timeline: &Timeline,
    bindings: &mut Bindings,
    findings: &mut Findings,
) -> Result<(), HarnessError> {
    let actual = observed(records, timeline);
    for (index, step) in case.steps.iter().enumerate() {
        let Some(expect) = &step.expect else { continue };
        let label = format!("{}:{}", index + 1, step.op.name());
        let step_calls: Vec<ObservedCall> = records
            .iter()
            .zip(&actual)
            .filter(|(record, _)| record.step_number == Some(index + 1))
            .map(|(_, call)| call.clone())
            .collect();
        if let Some(expected) = expected_calls(case, subs, &expect.calls, &expect.calls_trace)?
            && let Err(diff) = match_calls(&expected, &step_calls, bindings)
        {
            findings.at(&label, Aspect::Calls, diff);
        }
    }
    if let Some(expected) =
        expected_calls(case, subs, &case.expect.calls, &case.expect.calls_trace)?
        && let Err(diff) = match_calls(&expected, &actual, bindings)
    {
        findings.of_case(Aspect::Calls, diff);
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
            findings.of_case(
                Aspect::CallCounts,
                format!("expected {want:?}, got {got:?}"),
            );
        }
    }
    Ok(())
}

/// Inline expected calls (with `{table}` filled in) or a trace's, if the expectation gives either.
pub(super) fn expected_calls(
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
pub(super) async fn check_table(
    case: &Case,
    backdrop: &Backdrop,
    table: &str,
    hash_key: &str,
    subs: &Substitutions,
    window: NowWindow,
    bindings: &mut Bindings,
    findings: &mut Findings,
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
    let compare = |want: &Value, bindings: &mut Bindings, findings: &mut Findings| {
        let want = subs.table_only(want);
        match find(&want, bindings) {
            Some(item) => {
                let key = key_of(&item).unwrap_or(Value::Null);
                let mut lines = Vec::new();
                let path = format!("table[{key}]");
                match_json(&want, &item, &path, window, bindings, &mut lines);
                findings.lines(None, Aspect::Table, lines);
            }
            None => findings.of_case(
                Aspect::Table,
                format!(
                    "no item with {hash_key} = {}",
                    want.get(hash_key).cloned().unwrap_or(Value::Null)
                ),
            ),
        }
    };
    if let Some(want_items) = &expect.table {
        for want in want_items {
            compare(want, bindings, findings);
        }
        if items.len() != want_items.len() {
            let keys: Vec<String> = items
                .iter()
                .filter_map(|i| key_of(i).map(|k| k.to_string()))
                .collect();
            findings.of_case(
                Aspect::Table,
                format!(
                    "expected {} item(s), found {}: {}",
                    want_items.len(),
                    items.len(),
                    keys.join(", ")
                ),
            );
        }
    }
    for want in expect.table_contains.iter().flatten() {
        compare(want, bindings, findings);
    }
    for lacks in expect.table_lacks.iter().flatten() {
        let lacks = subs.table_only(lacks);
        if let Some(item) = find(&lacks, bindings) {
            findings.of_case(
                Aspect::Table,
                format!("expected no item {lacks}, found {item}"),
            );
        }
    }
    Ok(())
}
