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
    cases: &'a [CaseResult],
    summary: Summary,
}

/// Writes the report folder; records each case's trace path into its result.
pub fn write_folder(
    dir: &Path,
    results: &mut [CaseResult],
    backends: &[BackendFacts],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("traces"))
        .with_context(|| format!("creating report folder {}", dir.display()))?;
    for result in results.iter_mut() {
        if result.records.is_empty() {
            continue;
        }
        let name = format!(
            "traces/{}__{}__{}.jsonl",
            file_safe(&result.id),
            file_safe(&result.subject),
            file_safe(&result.backend)
        );
        // Traces are written the way fixtures/sdk-traces are, so they can be diffed against them; a record the
        // normaliser cannot place in time is kept raw rather than dropped.
        let normalised =
            dynamo_wire::normalise(&result.records, &dynamo_wire::NormaliseOptions::default())
                .unwrap_or_else(|_| result.records.clone());
        dynamo_wire::write_trace(dir.join(&name), &normalised)
            .with_context(|| format!("writing {name}"))?;
        result.trace = Some(name);
    }
    let summary = Summary::of(results);
    let json = serde_json::to_string_pretty(&ResultsFile {
        cases: results,
        summary,
    })?;
    std::fs::write(dir.join("results.json"), json + "\n")?;
    std::fs::write(dir.join("junit.xml"), junit_xml(results))?;
    std::fs::write(dir.join("summary.md"), summary_markdown(results))?;
    if let Some(page) = backends_markdown(backends, results) {
        std::fs::write(dir.join("backends.md"), page)?;
    }
    if let Some(page) = compare_markdown(results) {
        std::fs::write(dir.join("compare.md"), page)?;
    }
    if let Some(faults) = faults_markdown(results) {
        std::fs::write(dir.join("faults.md"), faults)?;
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
    use crate::conform::result::{Blame, Status};

    fn result(id: &str, subject: &str, status: Status) -> CaseResult {
        let case: crate::scenario::Case = serde_json::from_value(serde_json::json!({
            "id": id, "group": "B", "title": format!("case {id}")
        }))
        .unwrap();
        CaseResult {
            status,
            reason: None,
            duration_ms: 12,
            ..CaseResult::skipped(&case, subject, "dynalite", String::new())
        }
    }

    /// A small matrix with one of everything a report shows.
    fn sample() -> Vec<CaseResult> {
        let mut failed = result("C11", "php", Status::Fail);
        failed.reason = Some("step 1:read: return value: expected \"x\", got \"\"".to_owned());
        failed.diff = Some(failed.reason.clone().unwrap());
        failed.blame = Some(Blame::Handler);
        let mut backend = result("C26", "rust", Status::Fail);
        backend.reason = Some(
            "backend moto lacks binary_via_attribute_updates (the case depends on it): table differs"
                .to_owned(),
        );
        backend.blame = Some(Blame::Backend);
        let mut skipped = result("C77", "rust", Status::Skip);
        skipped.reason =
            Some("rust drives the handler in process; HTTP cases run on rust-http".to_owned());
        let mut hazard = result("C53", "rust", Status::Pass);
        hazard.hazards = vec!["lost-update".to_owned()];
        let mut deviation = result("C66", "rust", Status::Pass);
        deviation.deviation = Some("refuses non-UTF-8 data before sending".to_owned());
        vec![
            result("C10", "rust", Status::Pass),
            result("C10", "php", Status::Pass),
            result("C11", "rust", Status::Pass),
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
