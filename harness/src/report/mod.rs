//! Reports: views of the result records, never separate code paths.
//!
//! `write_folder` writes `results.json`, `junit.xml`, `summary.md` and one normalised wire trace per case;
//! [`terminal`] renders the matrix for the console.

mod backends;
mod compare;
mod faults;
mod junit;
mod markdown;
pub mod terminal;

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::conform::result::{CaseResult, Summary};

pub use backends::{BackendFacts, backends_markdown};
pub use compare::compare_markdown;
pub use faults::faults_markdown;
pub use junit::junit_xml;
pub use markdown::summary_markdown;

#[derive(Serialize)]
struct ResultsFile<'a> {
    cases: Vec<ResultLine<'a>>,
    summary: Summary,
}

/// One case of `results.json`: the result, its reason and diff as the other pages show them, and where its
/// trace lies in the folder.
#[derive(Serialize)]
struct ResultLine<'a> {
    #[serde(flatten)]
    result: &'a CaseResult,
    reason: Option<String>,
    diff: Option<String>,
    trace: Option<String>,
}

/// Why a case was skipped or failed, in one line: the result's own reason (a skip, the harness, a missing
/// capability), then the first mismatch.
pub fn reason_line(result: &CaseResult) -> Option<String> {
    let first = result
        .mismatches
        .first()
        .map(|m| m.to_string().lines().next().unwrap_or_default().to_owned());
    match (&result.reason, first) {
        (Some(reason), Some(first)) => Some(format!("{reason}: {first}")),
        (Some(reason), None) => Some(reason.clone()),
        (None, first) => first,
    }
}

/// What a failure report shows: the result's own reason, if any, then every mismatch.
pub fn failure_text(result: &CaseResult) -> String {
    [result.reason.clone(), diff_text(result)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every mismatch of a failed case, a line each.
pub fn diff_text(result: &CaseResult) -> Option<String> {
    (!result.mismatches.is_empty()).then(|| {
        result
            .mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Where a result's normalised wire trace goes, relative to the report folder (`None`: it made no call).
pub fn trace_path(result: &CaseResult) -> Option<String> {
    (!result.records.is_empty()).then(|| {
        format!(
            "traces/{}__{}__{}.jsonl",
            file_safe(&result.id),
            file_safe(&result.subject),
            file_safe(&result.backend)
        )
    })
}

/// `results.json`: every result with its trace path, and the summary.
pub fn results_json(results: &[CaseResult]) -> String {
    let file = ResultsFile {
        cases: results
            .iter()
            .map(|result| ResultLine {
                result,
                reason: reason_line(result),
                diff: diff_text(result),
                trace: trace_path(result),
            })
            .collect(),
        summary: Summary::of(results),
    };
    serde_json::to_string_pretty(&file).expect("results serialise") + "\n"
}

/// Writes the report folder: each page is a pure function of the results; this only puts them on disk.
pub fn write_folder(
    dir: &Path,
    results: &[CaseResult],
    backends: &[BackendFacts],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("traces"))
        .with_context(|| format!("creating report folder {}", dir.display()))?;
    for result in results {
        let Some(name) = trace_path(result) else {
            continue;
        };
        // Traces are written the way fixtures/sdk-traces are, so they can be diffed against them; a record the
        // normaliser cannot place in time is kept raw rather than dropped.
        let normalised =
            dynamo_wire::normalise(&result.records, &dynamo_wire::NormaliseOptions::default())
                .unwrap_or_else(|_| result.records.clone());
        dynamo_wire::write_trace(dir.join(&name), &normalised)
            .with_context(|| format!("writing {name}"))?;
    }
    let pages = [
        ("results.json", Some(results_json(results))),
        ("junit.xml", Some(junit_xml(results))),
        ("summary.md", Some(summary_markdown(results))),
        ("backends.md", backends_markdown(backends, results)),
        ("compare.md", compare_markdown(results)),
        ("faults.md", faults_markdown(results)),
    ];
    for (name, page) in pages {
        if let Some(page) = page {
            std::fs::write(dir.join(name), page).with_context(|| format!("writing {name}"))?;
        }
    }
    Ok(())
}

fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::mismatch::{Aspect, Mismatch};
    use crate::conform::result::{Blame, Outcome};

    fn result(id: &str, subject: &str, outcome: Outcome) -> CaseResult {
        let case: crate::scenario::Case = serde_json::from_value(serde_json::json!({
            "id": id, "group": "B", "title": format!("case {id}")
        }))
        .unwrap();
        CaseResult {
            outcome,
            reason: None,
            duration_ms: 12,
            ..CaseResult::skipped(&case, subject, "dynalite", String::new())
        }
    }

    /// A small matrix with one of everything a report shows.
    fn sample() -> Vec<CaseResult> {
        let mut failed = result("C11", "php", Outcome::Fail(Blame::Handler));
        failed.mismatches = vec![Mismatch {
            step: Some("1:read".to_owned()),
            aspect: Aspect::ReturnValue,
            detail: "expected \"x\", got \"\"".to_owned(),
        }];
        let mut backend = result("C26", "rust", Outcome::Fail(Blame::Backend));
        backend.reason = Some(
            "backend moto lacks binary_via_attribute_updates (the case depends on it)".to_owned(),
        );
        backend.mismatches = vec![Mismatch {
            step: None,
            aspect: Aspect::Table,
            detail:
                "table[{\"S\":\"CAKEPHP_b\"}].data: expected {\"B\":\"gP8=\"}, got {\"S\":\"gP8=\"}"
                    .to_owned(),
        }];
        let mut skipped = result("C77", "rust", Outcome::Skip);
        skipped.reason =
            Some("rust drives the handler in process; HTTP cases run on rust-http".to_owned());
        let mut hazard = result("C53", "rust", Outcome::Pass);
        hazard.hazards = vec!["lost-update".to_owned()];
        let mut deviation = result("C66", "rust", Outcome::Pass);
        deviation.deviation = Some("refuses non-UTF-8 data before sending".to_owned());
        vec![
            result("C10", "rust", Outcome::Pass),
            result("C10", "php", Outcome::Pass),
            result("C11", "rust", Outcome::Pass),
            failed,
            backend,
            skipped,
            hazard,
            deviation,
        ]
    }

    #[test]
    fn terminal_report() {
        insta::assert_snapshot!(terminal::render(&sample(), false));
    }

    #[test]
    fn markdown_summary() {
        insta::assert_snapshot!(summary_markdown(&sample()));
    }

    #[test]
    fn junit() {
        insta::assert_snapshot!(junit_xml(&sample()));
    }
}
