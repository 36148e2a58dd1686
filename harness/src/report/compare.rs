//! `compare.md`: for a run with several subjects, each case on which they disagree, with every subject's
//! outcome and the first call where their wire traffic differs from the first subject's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dynamo_wire::expect::{Bindings, expected_exactly, match_calls, observed_calls};
use dynamo_wire::{NormaliseOptions, WireRecord, normalise};

use crate::conform::result::{CaseResult, Status};

/// The page, or `None` when the run had one subject or they all agree.
pub fn compare_markdown(results: &[CaseResult]) -> Option<String> {
    let mut subjects: Vec<&str> = Vec::new();
    for result in results {
        if !subjects.contains(&result.subject.as_str()) {
            subjects.push(&result.subject);
        }
    }
    if subjects.len() < 2 {
        return None;
    }
    // Catalogue order, as the results come.
    let mut cases: BTreeMap<(usize, &str), Vec<&CaseResult>> = BTreeMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    for result in results {
        let key = (result.id.as_str(), result.backend.as_str());
        let index = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key);
            order.len() - 1
        });
        cases.entry((index, key.1)).or_default().push(result);
    }
    let mut page = format!(
        "# Where the subjects disagree\n\nSubjects: {}. A case is listed when the subjects that ran it do not \
         all have the same outcome; the wire column is the first call where a subject's traffic differs from \
         that of the first subject that ran the case.\n\n",
        subjects.join(", ")
    );
    let mut listed = 0;
    for ran in cases.values() {
        let played: Vec<&&CaseResult> = ran.iter().filter(|r| r.status() != Status::Skip).collect();
        let Some(first) = played.first() else {
            continue;
        };
        if played.iter().all(|r| outcome(r) == outcome(first)) {
            continue;
        }
        listed += 1;
        let _ = writeln!(
            page,
            "## {} on {}: {}\n\n| subject | outcome | first wire difference from {} |\n|---|---|---|",
            first.id, first.backend, first.title, first.subject
        );
        for result in ran {
            let wire = match result.status() {
                Status::Skip => String::new(),
                _ if std::ptr::eq(*result, **first) => "—".to_owned(),
                _ => first_difference(&first.records, &result.records),
            };
            let _ = writeln!(
                page,
                "| {} | {} | {} |",
                result.subject,
                cell(&outcome_text(result)),
                cell(&wire)
            );
        }
        page.push('\n');
    }
    (listed > 0).then(|| page + &format!("{listed} case(s) with disagreeing subjects.\n"))
}

fn outcome(result: &CaseResult) -> (Status, Option<crate::conform::result::Blame>) {
    (result.status(), result.blame())
}

fn outcome_text(result: &CaseResult) -> String {
    match (&result.status(), &super::reason_line(result)) {
        (Status::Pass, _) => "pass".to_owned(),
        (status, Some(reason)) => format!("{}: {reason}", format!("{status:?}").to_lowercase()),
        (status, None) => format!("{status:?}").to_lowercase(),
    }
}

/// The first line of the engine's explanation of `other` against `first`, both normalised, each subject's own
/// table name written `{table}`.
fn first_difference(first: &[WireRecord], other: &[WireRecord]) -> String {
    let normalised = |records: &[WireRecord]| {
        let records =
            normalise(records, &NormaliseOptions::default()).unwrap_or_else(|_| records.to_vec());
        let tables: Vec<String> = records
            .iter()
            .filter_map(|r| r.request.get("TableName").and_then(|t| t.as_str()))
            .map(str::to_owned)
            .collect();
        records
            .into_iter()
            .map(|mut record| {
                record.request = untable(&record.request, &tables);
                record
            })
            .collect::<Vec<_>>()
    };
    match match_calls(
        &expected_exactly(&normalised(first)),
        &observed_calls(&normalised(other)),
        &mut Bindings::default(),
    ) {
        Ok(()) => "same calls".to_owned(),
        Err(explanation) => explanation.lines().take(2).collect::<Vec<_>>().join(" "),
    }
}

/// A Markdown table cell: one line, pipes escaped, not too long.
fn cell(text: &str) -> String {
    let one_line = text.replace('|', "\\|").replace('\n', " ");
    match one_line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// `value` with each of `tables` (as a string or a map key) written `{table}`.
fn untable(value: &serde_json::Value, tables: &[String]) -> serde_json::Value {
    use serde_json::Value;
    let name = |text: &str| match tables.iter().any(|t| t == text) {
        true => "{table}".to_owned(),
        false => text.to_owned(),
    };
    match value {
        Value::String(text) => Value::String(name(text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| untable(v, tables)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| (name(key), untable(v, tables)))
                .collect(),
        ),
        other => other.clone(),
    }
}
